"""`ipledge screening screen --park ID --period P [--as-of YYYY-MM-DD] [--json]`: screen one park's enterprises into
a draft whitelist version (`services.whitelists.whitelist_screen`), run as the platform (the audit event names no
user), and print the counts. A rule that stops the screen (no published baseline for the period, a version already
submitted) is printed as the command's error."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _screen_arguments(parser: CommandParser) -> None:
    parser.add_argument("--park", required=True, type=int, help="the park's id")
    parser.add_argument("--period", required=True, help="the period: 2027, 2027H1 or 2027Q3")
    parser.add_argument("--as-of", default="", dest="as_of", help="screen as of this day (YYYY-MM-DD); default today")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _screen(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.registry.models import Park

    from .services.whitelists import whitelist_screen

    park = Park.objects.filter(pk=options["park"]).first()
    if park is None:
        raise CommandError(f"--park: no park with id {options['park']}")
    as_of = None
    if options["as_of"]:
        try:
            as_of = datetime.date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, got {options['as_of']!r}") from exc
    try:
        version = whitelist_screen(park=park, period=options["period"], as_of=as_of, acting_user=None)
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    diff = version.diff or {}
    counts = {
        "park": park.pk,
        "period": version.whitelist.period,
        "version": version.number,
        "version_id": version.pk,
        "as_of": version.as_of.isoformat(),
        "candidates": version.candidates,
        "included": version.included,
        "excluded": version.candidates - version.included,
        "added": len(diff.get("added") or []),
        "removed": len(diff.get("removed") or []),
        "unchanged": int(diff.get("unchanged") or 0),
    }
    if options["json"]:
        command.stdout.write(json.dumps(counts, ensure_ascii=False))
        return
    command.stdout.write(
        f"{park.name} {counts['period']} v{counts['version']} (draft, as of {counts['as_of']}): "
        f"{counts['candidates']} screened, {counts['included']} included, {counts['excluded']} excluded; "
        f"against the current version +{counts['added']} -{counts['removed']} ={counts['unchanged']}"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "screen": Subcommand(
        help="Screen one park's enterprises for a period into a draft whitelist version (as the platform).",
        add_arguments=_screen_arguments,
        handle=_screen,
    ),
}
