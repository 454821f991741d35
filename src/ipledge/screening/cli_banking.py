"""`ipledge screening expire-lines [--date YYYY-MM-DD] [--json]`: the scheduled job that closes every active park
intended credit line (意向性授信额度) past its last valid day (`services.banking.lines_expire`; each line audited
with no acting user). Prints the count."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _expire_arguments(parser: CommandParser) -> None:
    parser.add_argument("--date", default="", help="run as of this day (YYYY-MM-DD); default: today")
    parser.add_argument("--json", action="store_true", help="print the count as one JSON line")


def _expire(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.context import business_date

    from .services.banking import lines_expire

    day = business_date()
    if options["date"]:
        try:
            day = datetime.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from exc
    expired = lines_expire(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), "expired": expired}))
        return
    command.stdout.write(f"{day:%Y-%m-%d}: {expired} intended credit lines expired (意向性授信额度到期)")


SUBCOMMANDS: dict[str, Subcommand] = {
    "expire-lines": Subcommand(
        help="Close every active park intended credit line (意向性授信额度) past its last valid day.",
        add_arguments=_expire_arguments,
        handle=_expire,
    ),
}
