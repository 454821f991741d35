"""`ipledge disposal SUBCOMMAND …`: collateral disposal's batch jobs and reports.

* ``close-auctions [--json]`` — the scheduled job: close every listed lot whose end (anti-sniping extensions
  included) has passed (`services.close_due_lots`: the highest bid wins, the winner's deposit is applied and the
  others' refunded; a lot without a bid is unsold and its case goes back to be relisted or re-routed), then close the
  sessions left without a listed lot. Prints the counts.
* ``history [--region PREFIX] [--json]`` — every sale against the rights' prior valuation and the days from opening
  to sale (`services.disposal_history`), a table or one JSON line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]


def _close_arguments(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _close(command: BaseCommand, options: dict[str, Any]) -> None:
    from django.utils import timezone

    from ipledge.disposal import services

    now = timezone.now()
    counts = services.close_due_lots(now=now)
    result = {"at": now.isoformat(timespec="seconds"), **counts}
    if options["json"]:
        command.stdout.write(json.dumps(result))
        return
    command.stdout.write(
        f"{timezone.localtime(now):%Y-%m-%d %H:%M}: {counts['sold']} lots sold, {counts['unsold']} unsold (流拍)"
    )


def _history_arguments(parser: CommandParser) -> None:
    parser.add_argument("--region", default="", help="region code prefix of the borrowers, e.g. 32 or 3201")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line")


def _plain(value: Any) -> Any:
    """JSON-ready: Money as its yuan amount ("2200000.00"), Decimal as a string, the rest as is."""
    from ipledge.core.money import Money

    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _history(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.disposal import services

    rows = services.disposal_history(region_prefix=options["region"])
    if options["json"]:
        command.stdout.write(json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], ensure_ascii=False))
        return
    if not rows:
        command.stdout.write("No sale recorded yet.")
        return
    header = ["case", "route", "sale price", "prior value", "price/value", "days to sale"]
    table = [header]
    for row in rows:
        ratio = row["price_to_value"]
        table.append(
            [
                row["case"],
                row["route"],
                f"¥{row['sale_price'].amount:,.2f}",
                f"¥{row['prior_value'].amount:,.2f}" if row["prior_value"] is not None else "—",
                f"{ratio:.2%}" if ratio is not None else "—",
                str(row["days_to_sale"]) if row["days_to_sale"] is not None else "—",
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for line in table:
        command.stdout.write(
            "  ".join(cell.rjust(widths[i]) if i >= 2 else cell.ljust(widths[i]) for i, cell in enumerate(line))
        )
    ratios = [r["price_to_value"] for r in rows if r["price_to_value"] is not None]
    days = [r["days_to_sale"] for r in rows if r["days_to_sale"] is not None]
    summary = f"{len(rows)} sales"
    if ratios:
        summary += f"; mean price/value {sum(ratios) / len(ratios):.2%}"
    if days:
        summary += f"; mean days to sale {sum(days) / len(days):.1f}"
    command.stdout.write(summary)


SUBCOMMANDS: dict[str, Subcommand] = {
    "close-auctions": Subcommand(
        help="close every listed lot whose end has passed (winner, deposits, unsold lots), then the finished sessions",
        add_arguments=_close_arguments,
        handle=_close,
    ),
    "history": Subcommand(
        help="every sale against the rights' prior valuation, and the days from opening to sale",
        add_arguments=_history_arguments,
        handle=_history,
    ),
}


class Command(BaseCommand):
    help = "Collateral disposal jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
