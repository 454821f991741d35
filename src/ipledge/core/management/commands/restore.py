"""`ipledge restore FILE`: restore a backup, then prove the row counts and money checksums match it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.backup import BackupError, describe, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `ipledge backup` into this database (stop the server first). Refuses a "
        "corrupt file, another engine's backup and a non-empty database (unless --force); after restoring, "
        "re-reads every table's row count and money checksums and fails if any differs from the backup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the backup file")
        parser.add_argument("--force", action="store_true", help="overwrite a database that already holds data")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = restore(path=options["file"], force=options["force"], alias=options["database"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for line in describe(outcome):
            self.stdout.write(line)
        self.stdout.write("restored; row counts and money checksums match the backup")
