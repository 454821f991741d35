"""`ipledge compensation SUBCOMMAND …`: the risk-compensation funds' batch jobs.

* ``scan`` — the daily job: release the enrolments of loans that are no longer live (`services.release_settled_loans`:
  repaid, renewed or written off without a claim), then raise and resolve the funds' alerts
  (`services.fund_alerts_scan`: idle capital, leverage near the cap, low balance). Prints the counts.
* ``stress --fund CODE [--simulations 10000] [--seed 20211] [--json]`` — the Monte Carlo adequacy stress test of one
  fund's pool, run here (`stress.run_for_fund`, nothing stored; the UI and the API queue a stored `StressRun`).
  Prints the figures per horizon, or the whole result as one JSON line with ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]


def _scan_arguments(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _scan(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.compensation import services
    from ipledge.core.context import business_date

    released = services.release_settled_loans(acting_user=None)
    alerts = services.fund_alerts_scan()
    counts = {"date": business_date().isoformat(), "released": released, **alerts}
    if options["json"]:
        command.stdout.write(json.dumps(counts))
        return
    command.stdout.write(
        f"{counts['date']}: {released} enrolments of settled loans released; "
        f"{alerts['raised']} fund alerts raised, {alerts['resolved']} resolved"
    )


def _stress_arguments(parser: CommandParser) -> None:
    parser.add_argument("--fund", required=True, help="the fund's code, e.g. JS-IPF")
    parser.add_argument("--simulations", type=int, default=10_000, help="Monte Carlo simulations (default 10,000)")
    parser.add_argument("--seed", type=int, default=20211, help="random seed (default 20211)")
    parser.add_argument("--json", action="store_true", help="print the whole result as one JSON line")


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _stress(command: BaseCommand, options: dict[str, Any]) -> None:
    import time

    from ipledge.compensation.models import Fund
    from ipledge.compensation.stress import run_for_fund

    fund = Fund.objects.filter(code=options["fund"]).first()
    if fund is None:
        known = ", ".join(Fund.objects.order_by("code").values_list("code", flat=True)) or "none"
        raise CommandError(f"no fund {options['fund']!r} (funds: {known})")
    if not 1 <= options["simulations"] <= 1_000_000:
        raise CommandError("--simulations must be between 1 and 1,000,000")
    started = time.perf_counter()
    result = run_for_fund(fund, simulations=options["simulations"], seed=options["seed"])
    result["seconds_total"] = time.perf_counter() - started  # reading the pool and building the frame included
    if options["json"]:
        command.stdout.write(json.dumps({"fund": fund.code, **result}, ensure_ascii=False))
        return
    out = command.stdout
    out.write(f"{fund.code} {fund.name}")
    out.write(
        f"  loans in the pool {result['loans']:,}; fund's covered exposure ¥{result['exposure']:,}; "
        f"fund balance ¥{result['fund_balance']:,}"
    )
    out.write(
        f"  {result['simulations']:,} simulations (seed {result['seed']}) in {result['seconds']:.2f} s "
        f"({result['seconds_total']:.2f} s with reading the pool); recovery mean "
        f"{result['assumptions']['recovery_mean']:.2f}"
        + (" from the fund's cleared claims" if result.get("recovery_from_history") else " (default assumption)")
    )
    header = ["horizon", "mean", "p50", "p90", "p95", "p99", "max", "P(exhausted)", "defaults"]
    rows = [header]
    rows.extend(
        [
            f"{h['years']} y",
            *(f"¥{h[k]:,}" for k in ("mean_payout", "p50", "p90", "p95", "p99", "max_payout")),
            _pct(h["probability_exhausted"]),
            f"{h['expected_defaults']:.1f}",
        ]
        for h in result["horizons"]
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        out.write("  " + "  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)))


SUBCOMMANDS: dict[str, Subcommand] = {
    "scan": Subcommand(
        help="release the enrolments of settled loans, then raise and resolve the funds' alerts",
        add_arguments=_scan_arguments,
        handle=_scan,
    ),
    "stress": Subcommand(
        help="run one fund's Monte Carlo stress test here and print its figures",
        add_arguments=_stress_arguments,
        handle=_stress,
    ),
}


class Command(BaseCommand):
    help = "Risk-compensation fund jobs: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
