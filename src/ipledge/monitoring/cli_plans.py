"""`ipledge monitoring remind [--date YYYY-MM-DD] [--json]`: the daily reminder check of the plans area (工作提醒):
plans near or past their submission deadline (印发后10日内报送), ledger tasks near or past their deadline, provinces
with fewer than 3 key / demonstration parks this year. Idempotent: one open reminder per kind and subject, resolved
when its cause goes (`services.plans.reminders_run`). Audited with no acting user."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _arguments(parser: CommandParser) -> None:
    parser.add_argument("--date", default="", help="run as of this day (YYYY-MM-DD); default: today")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _day(options: dict[str, Any]) -> datetime.date:
    from ipledge.core.context import business_date

    if not options["date"]:
        return business_date()
    try:
        return datetime.date.fromisoformat(options["date"])
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from exc


def _remind(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.context import as_of

    from .services.plans import reminders_run

    day = _day(options)
    with as_of(day):
        counts = reminders_run(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), **counts}))
        return
    command.stdout.write(
        f"{day:%Y-%m-%d}: {counts['raised']} reminders raised, {counts['resolved']} resolved, "
        f"{counts['open']} open (工作提醒)"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "remind": Subcommand(
        help="Raise and resolve the plan reminders: submission due/overdue, tasks due/overdue, provinces short of "
        "3 key parks.",
        add_arguments=_arguments,
        handle=_remind,
    ),
}
