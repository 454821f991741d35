"""`ipledge screening import-records …` and `ipledge screening rematch`: credit records from the command line.

* ``import-records --kind KIND --file PATH --organisation ORG_ID [--user USERNAME] [--json]`` — import one file of
  credit records for an IP office (`services.records.credit_import`). Prints the counts; on a rejected file prints
  one line per error (row, field, rule, message; tab-separated) and exits 1, having written no record. Without
  ``--user`` the import runs as the system (the platform operator at the server's shell) and is audited so.
* ``rematch [--json]`` — match pending and unmatched records again, e.g. after new enterprises were registered
  (`services.records.records_rematch`). Prints the counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .choices import ImportStatus, RecordKind
from .cli import Subcommand


def _import_arguments(parser: CommandParser) -> None:
    parser.add_argument("--kind", required=True, choices=RecordKind.values, help="record kind")
    parser.add_argument("--file", required=True, type=Path, help="a .csv, .xlsx or .json file")
    parser.add_argument("--organisation", required=True, type=int, help="id of the importing IP office")
    parser.add_argument("--user", default="", help="username of the acting officer (default: the system)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")


def _import(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.models import Organisation, User

    from .importing import MAX_BYTES
    from .services.records import credit_import

    path: Path = options["file"]
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise CommandError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    organisation = Organisation.objects.filter(pk=options["organisation"]).first()
    if organisation is None:
        raise CommandError(f"no organisation with id {options['organisation']}")
    user = None
    if options["user"]:
        user = User.objects.select_related("organisation").filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
    try:
        batch = credit_import(
            organisation=organisation,
            kind=options["kind"],
            file_name=path.name,
            content=path.read_bytes(),
            acting_user=user,
        )
    except PermissionDenied as exc:
        raise CommandError(f"permission denied: {exc}") from exc
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    counts = {
        "import_id": batch.pk,
        "status": batch.status,
        "rows": batch.rows_total,
        "matched": batch.rows_matched,
        "review": batch.rows_review,
        "unmatched": batch.rows_unmatched,
        "updated": batch.rows_updated,
        "unchanged": batch.rows_unchanged,
    }
    if batch.status == ImportStatus.REJECTED:
        if options["json"]:
            command.stdout.write(json.dumps({**counts, "errors": batch.errors}, ensure_ascii=False))
        else:
            for error in batch.errors:
                command.stdout.write(
                    "\t".join([str(error["row"]), error["field"] or "-", error["rule"], error["message"]])
                )
        raise CommandError(
            f"{path.name}: {len(batch.errors)} errors, nothing imported (rejected import {batch.pk})", returncode=1
        )
    if options["json"]:
        command.stdout.write(json.dumps(counts))
        return
    command.stdout.write(
        f"{path.name}: import {batch.pk}, {batch.rows_total} rows: {batch.rows_matched} matched, "
        f"{batch.rows_review} to review, {batch.rows_unmatched} unmatched "
        f"({batch.rows_updated} updated, {batch.rows_unchanged} unchanged)"
    )


def _rematch_arguments(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _rematch(command: BaseCommand, options: dict[str, Any]) -> None:
    from .services.records import records_rematch

    counts = records_rematch()
    if options["json"]:
        command.stdout.write(json.dumps(counts))
        return
    command.stdout.write(
        f"{counts['checked']} records checked: {counts['changed']} changed, {counts['matched']} now matched, "
        f"{counts['pending']} to review, {counts['unmatched']} unmatched"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "import-records": Subcommand(
        help="Import a file of credit records (csv, xlsx or JSON) for an IP office: all rows or none.",
        add_arguments=_import_arguments,
        handle=_import,
    ),
    "rematch": Subcommand(
        help="Match pending and unmatched credit records again (after enterprises were registered).",
        add_arguments=_rematch_arguments,
        handle=_rematch,
    ),
}
