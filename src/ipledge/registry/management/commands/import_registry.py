"""`ipledge import_registry --kind enterprises|ip_rights --user USERNAME [--park ID] FILE`.

Validates the whole file and writes all of it or nothing (see `ipledge.registry.importing`). On errors it prints
one line per error (row, column, value, rule, message, tab-separated), writes them to `FILE.errors.xlsx` and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.models import User
from ipledge.registry.importing import KINDS, MAX_BYTES, errors_workbook, import_registry_file
from ipledge.registry.models import Park


class Command(BaseCommand):
    help = "Import enterprises or IP rights from an .xlsx or .csv file (all rows or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--user", required=True, help="username of the acting user (audited as the importer)")
        parser.add_argument("--park", type=int, help="park id: imported enterprises join this park")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        user = User.objects.select_related("organisation").filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        park = None
        if options["park"] is not None:
            park = Park.objects.filter(pk=options["park"]).first()
            if park is None:
                raise CommandError(f"no park with id {options['park']}")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB")
        try:
            result = import_registry_file(
                kind=options["kind"], filename=path.name, content=path.read_bytes(), acting_user=user, park=park
            )
        except PermissionDenied as exc:
            raise CommandError(f"permission denied: {exc}") from exc
        if result.ok:
            self.stdout.write(
                f"{path.name}: {result.rows} rows: created {result.created}, updated {result.updated}, "
                f"unchanged {result.unchanged}"
            )
            return
        for error in result.errors:
            self.stdout.write("\t".join([str(error.row), error.column, error.value, error.rule, error.message]))
        report = path.with_name(path.name + ".errors.xlsx")
        report.write_bytes(errors_workbook(result))
        raise CommandError(f"{len(result.errors)} errors, nothing imported; report written to {report}", returncode=1)
