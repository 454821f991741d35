"""`ipledge market remind-surveys [--date YYYY-MM-DD] [--json]` and `ipledge market close-surveys [--date …] [--json]`:
the scheduled survey jobs (常态化调查). `remind-surveys` reminds, on every open campaign, the targets that have not
answered and were neither invited nor reminded within the campaign's interval (`services.surveys.campaigns_remind`;
the reminder shows on the target's 我的调查 page: the platform sends no e-mail). `close-surveys` closes every open
campaign whose closing date has passed (`campaigns_close_due`). Both are audited with no acting user."""

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

    from .services.surveys import campaigns_remind

    day = _day(options)
    with as_of(day):
        counts = campaigns_remind(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), **counts}))
        return
    command.stdout.write(
        f"{day:%Y-%m-%d}: {counts['reminded']} survey targets reminded in {counts['campaigns']} open campaigns"
        " (调查催办)"
    )


def _close(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.context import as_of

    from .services.surveys import campaigns_close_due

    day = _day(options)
    with as_of(day):
        closed = campaigns_close_due(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), "closed": closed}))
        return
    command.stdout.write(f"{day:%Y-%m-%d}: {closed} survey campaigns past their closing date closed (调查结束)")


SUBCOMMANDS: dict[str, Subcommand] = {
    "remind-surveys": Subcommand(
        help="Remind the survey targets that have not answered (shown on their 我的调查 page), per campaign interval.",
        add_arguments=_arguments,
        handle=_remind,
    ),
    "close-surveys": Subcommand(
        help="Close every open survey campaign whose closing date has passed.",
        add_arguments=_arguments,
        handle=_close,
    ),
}
