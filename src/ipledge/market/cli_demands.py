"""`ipledge market expire-demands [--date YYYY-MM-DD] [--json]`: the scheduled job that closes every active financing
demand (open, matched, in talks) past its expiry date (`services.demands.demands_expire`; each demand audited with
no acting user). Prints the count."""

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

    from .services.demands import demands_expire

    day = business_date()
    if options["date"]:
        try:
            day = datetime.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from exc
    expired = demands_expire(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), "expired": expired}))
        return
    command.stdout.write(f"{day:%Y-%m-%d}: {expired} financing demands expired (融资需求到期)")


SUBCOMMANDS: dict[str, Subcommand] = {
    "expire-demands": Subcommand(
        help="Close every active financing demand (融资需求) past its expiry date.",
        add_arguments=_expire_arguments,
        handle=_expire,
    ),
}
