"""`ipledge monitoring scan [--date YYYY-MM-DD] [--rule RULE …] [--json]`: the daily batch that runs the anomaly rules
(异常扫描) over the whole deployment and reconciles the findings (`anomalies.scan_run`; no acting user). Prints the
per-rule counts: found, new, suppressed by a dismissal, cleared."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand


def _scan_arguments(parser: CommandParser) -> None:
    parser.add_argument("--date", default="", help="data cut-off day (YYYY-MM-DD); default: today")
    parser.add_argument("--rule", action="append", default=[], help="run only this rule (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the scan as one JSON line")


def _scan(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.context import business_date

    from .anomalies import scan_run
    from .choices import AnomalyRule

    day = business_date()
    if options["date"]:
        try:
            day = datetime.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from exc
    unknown = [r for r in options["rule"] if r not in AnomalyRule.values]
    if unknown:
        raise CommandError(f"unknown rule(s): {', '.join(unknown)}; known: {', '.join(AnomalyRule.values)}")
    scan = scan_run(as_of=day, rules=options["rule"] or None)
    totals = {
        key: sum(c.get(key, 0) for c in scan.counts.values()) for key in ("found", "new", "suppressed", "cleared")
    }
    if options["json"]:
        command.stdout.write(
            json.dumps(
                {
                    "scan": scan.pk,
                    "as_of": day.isoformat(),
                    "status": scan.status,
                    "totals": totals,
                    "counts": scan.counts,
                }
            )
        )
        return
    command.stdout.write(
        f"{day:%Y-%m-%d}: scan #{scan.pk} {scan.status}: {totals['found']} found, {totals['new']} new, "
        f"{totals['suppressed']} suppressed (dismissed, same evidence), {totals['cleared']} cleared (异常扫描)"
    )
    for rule, counts in scan.counts.items():
        if any(counts.values()):
            command.stdout.write(f"  {rule}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


SUBCOMMANDS: dict[str, Subcommand] = {
    "scan": Subcommand(
        help="Run the anomaly rules (异常扫描) and reconcile the findings.",
        add_arguments=_scan_arguments,
        handle=_scan,
    ),
}
