"""`ipledge import_legal_status --user USERNAME FILE`: import gazette legal-status events (csv or xlsx).

Validates the whole file and writes all of it or nothing (see `ipledge.registration.monitoring`). On errors it
prints one line per error (row, column, value, rule, message, tab-separated) and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.models import User
from ipledge.registration.monitoring import legal_status_import
from ipledge.registry.importing import MAX_BYTES


class Command(BaseCommand):
    help = "Import patent legal-status events (CF01, IW01, TR01, PP01 …) and apply them to the register."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of an IP-office user (audited as the importer)")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        user = User.objects.select_related("organisation").filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB")
        try:
            result = legal_status_import(filename=path.name, content=path.read_bytes(), acting_user=user)
        except PermissionDenied as exc:
            raise CommandError(f"permission denied: {exc}") from exc
        if result.ok:
            self.stdout.write(
                f"{path.name}: {result.rows} rows: applied {result.applied}, unchanged {result.unchanged}, "
                f"alerts {result.alerts}"
            )
            return
        for error in result.errors:
            self.stdout.write("\t".join([str(error.row), error.column, error.value, error.rule, error.message]))
        raise CommandError(f"{len(result.errors)} errors, nothing imported", returncode=1)
