"""`ipledge market match [--as-of YYYY-MM-DD] [--json]`: every active demand against every live product
(`services.matching.matches_refresh`), run as the platform (the audit event names no user); prints the counts."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _match_arguments(parser: CommandParser) -> None:
    parser.add_argument("--as-of", default="", dest="as_of", help="match as of this day (YYYY-MM-DD); default today")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _match(command: BaseCommand, options: dict[str, Any]) -> None:
    from .services.matching import matches_refresh

    today = None
    if options["as_of"]:
        try:
            today = datetime.date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, got {options['as_of']!r}") from exc
    counts = matches_refresh(today=today)
    if options["json"]:
        command.stdout.write(json.dumps(counts, ensure_ascii=False))
        return
    command.stdout.write(
        f"{counts['demands']} demands × {counts['products']} products: {counts['pairs']} pairs, "
        f"{counts['eligible']} eligible; {counts['stored']} matches stored, {counts['deleted']} removed; "
        f"{counts['to_matched']} demands now matched, {counts['to_open']} back to open"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "match": Subcommand(
        help="match every active demand against every live product and store the matches",
        add_arguments=_match_arguments,
        handle=_match,
    )
}
