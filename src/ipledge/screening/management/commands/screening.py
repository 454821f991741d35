"""`ipledge screening SUBCOMMAND …`: credit-screening jobs (imports, scorecards, screening runs, credit lines);
each subcommand's help says what it does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.screening import cli_banking, cli_records, cli_scorecards, cli_whitelists
from ipledge.screening.cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {
    **cli_records.SUBCOMMANDS,
    **cli_scorecards.SUBCOMMANDS,
    **cli_whitelists.SUBCOMMANDS,
    **cli_banking.SUBCOMMANDS,
}


class Command(BaseCommand):
    help = "Credit-screening jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
