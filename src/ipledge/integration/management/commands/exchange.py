"""`ipledge exchange SUBCOMMAND …`: the 信易贷 exchange jobs (deliver, pull, run, ping); see
`ipledge.integration.cli_exchange`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.core.subcommands import Subcommand
from ipledge.integration import cli_exchange

SUBCOMMANDS: dict[str, Subcommand] = {**cli_exchange.SUBCOMMANDS}


class Command(BaseCommand):
    help = "信易贷 exchange jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
