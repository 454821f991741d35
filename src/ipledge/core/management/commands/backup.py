"""`ipledge backup`: one checked backup file of the whole database (SQLite online copy or pg_dump)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.backup import BackupError, backup, describe, verify


class Command(BaseCommand):
    help = (
        "Back up the database into one tar file with a manifest (engine, migrations, row counts, money "
        "checksums, SHA-256). Safe while the server runs. --verify checks an existing backup instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", "-o", type=Path, help="where to write the backup (default: DATA_DIR/backups/ipledge-…tar)"
        )
        parser.add_argument("--verify", type=Path, metavar="FILE", help="check this backup file and exit")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["verify"] is not None:
                manifest = verify(options["verify"])
                rows = sum(manifest["tables"].values())
                self.stdout.write(
                    f"OK {options['verify']}: {manifest['engine']} backup of {manifest['created_at']}, "
                    f"{len(manifest['tables'])} tables, {rows} rows, checksum verified"
                )
                return
            outcome = backup(output=options["output"], alias=options["database"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for line in describe(outcome):
            self.stdout.write(line)
