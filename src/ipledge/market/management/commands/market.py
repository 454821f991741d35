"""`ipledge market SUBCOMMAND …`: market jobs (product imports, matching, demand expiry, survey reminders, event
scheduling); each subcommand's help says what it does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.market import cli_demands, cli_events, cli_matching, cli_products, cli_surveys
from ipledge.market.cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {
    **cli_products.SUBCOMMANDS,
    **cli_matching.SUBCOMMANDS,
    **cli_demands.SUBCOMMANDS,
    **cli_surveys.SUBCOMMANDS,
    **cli_events.SUBCOMMANDS,
}


class Command(BaseCommand):
    help = "Market jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
