"""`ipledge prune_api_calls [--older-than-days N]`: drop API call records past their retention (default 365 days)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.services import api_calls_prune


class Command(BaseCommand):
    help = "Delete API call records older than N days (at least 180, the legal minimum for network logs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=365)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            deleted = api_calls_prune(older_than_days=options["older_than_days"], acting_user=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"deleted {deleted} API call records older than {options['older_than_days']} days")
