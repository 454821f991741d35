"""`ipledge monitoring SUBCOMMAND …`: monitoring jobs (anomaly scans, plan reminders, report generation); each
subcommand's help says what it does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.monitoring import cli_anomalies, cli_plans, cli_reports
from ipledge.monitoring.cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {
    **cli_anomalies.SUBCOMMANDS,
    **cli_plans.SUBCOMMANDS,
    **cli_reports.SUBCOMMANDS,
}


class Command(BaseCommand):
    help = "Monitoring jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
