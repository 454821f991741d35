"""`ipledge bench indicators [--scale national|province|demo] [--sample N] [--database-url URL]` and
`ipledge bench valuation [--n N] [--sample N]`.

Times the full lending indicator set cold — a fresh child process that loads the frames
(`ipledge.lending.indicators.lending_frames`) and computes every table (`indicator_set`) — and the same headline
figures (new loans amount and count, outstanding balance, clients with a balance, NPL ratio per bank) computed by a
naive per-loan ORM loop over a random sample of loans, extrapolated to all loans. The fast figures restricted to the
sample must equal the naive ones (``agree``). Prints one JSON line, then ``agree: true|false``.

The database is seeded with `ipledge seed_loans --scale S` first when it holds no loans. With ``--database-url`` the
whole benchmark runs in a child process against that database (e.g. PostgreSQL:
``postgres://postgres@127.0.0.1:5432/bench_lending``).

`ipledge bench valuation` times the valuation engine on `--n` synthetic patents (default 1,000,000) against the
row-by-row reference on `--sample` of them (`ipledge.valuation.benchmark`), in a fresh child process without Django
so its peak memory is the engine's own, and prints its one JSON line.

`ipledge bench compensation [--simulations 10000] [--baseline-simulations 500] [--scale province]
[--database-url URL] [--output FILE]` times the risk-compensation stress test of every fund against a naive
per-simulation loop (`ipledge.compensation.benchmark`; seeds the database first when it has no loans or no funds)
and prints its one JSON line, also written to ``--output``.

`ipledge bench screening [--enterprises 500000] [--records 2000000] [--baseline-sample 2000] [--seed N]
[--database-url URL] [--output FILE]` screens that many synthetic enterprises and credit records in one run with the
vectorised screen, and times a per-enterprise ORM loop doing the same on a sample written to the database inside a
transaction that is rolled back (`ipledge.screening.benchmark`); prints its one JSON line, also written to
``--output``.

`ipledge bench monitoring [--loans 300000] [--enterprises 500000] [--baseline-loans 20000] [--seed N] [--output FILE]`
times the monitoring app's anomaly rules and targets engine on synthetic frames at national scale against a
row-by-row twin of six rules (`ipledge.monitoring.benchmark`); prints its one JSON line, then ``agree: true|false``,
and writes the JSON to ``--output``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from ipledge.lending.choices import NON_PERFORMING_CLASSES, TransactionKind
from ipledge.lending.models import Loan, LoanTransaction
from ipledge.lending.seeding import LOAN_SCALES, LOAN_SEED_AS_OF, seed_loans

PERIOD_START = datetime.date(LOAN_SEED_AS_OF.year, 1, 1)
REDUCING = (TransactionKind.WRITE_OFF, TransactionKind.RENEWAL_ROLLOVER)


def _ipledge() -> list[str]:
    script = Path(sys.executable).with_name("ipledge")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from ipledge.cli import main; main()"]


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def fast_figures(frames: Any, *, period_start: datetime.date, period_end: datetime.date) -> dict[str, Any]:
    """Headline figures from the indicator set (the fast path)."""
    from ipledge.lending.indicators import indicator_set

    tables = indicator_set(frames, period_start=period_start, period_end=period_end)
    summary = tables["lending_summary"].row(0, named=True)
    by_bank = {
        int(row["bank"]): (int(row["balance_fen"] or 0), int(row["npl_balance_fen"] or 0))
        for row in tables["lending_by_bank"].iter_rows(named=True)
        if row["bank"] is not None and (row["balance_fen"] or row["npl_balance_fen"])
    }
    return {
        "new_amount_fen": int(summary["new_amount_fen"] or 0),
        "new_loans": int(summary["new_loans"] or 0),
        "balance_fen": int(summary["balance_fen"] or 0),
        "clients_with_balance": int(summary["clients_with_balance"] or 0),
        "by_bank": by_bank,
    }


def naive_figures(
    loan_ids: list[int], *, period_start: datetime.date, period_end: datetime.date, as_of: datetime.date
) -> dict[str, Any]:
    """The same figures the slow way: one loan at a time through the ORM, as a report script would."""
    new_amount = new_loans = balance_total = 0
    clients: set[int] = set()
    by_bank: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for loan_id in loan_ids:
        loan = Loan.objects.get(pk=loan_id)
        if not loan.is_ip_pledge:
            continue
        balance = 0
        first_disbursed: datetime.date | None = None
        for txn in loan.transactions.filter(reversed_at__isnull=True, value_date__lte=period_end):
            if txn.kind == TransactionKind.DISBURSEMENT:
                balance += txn.amount.fen
                first_disbursed = min(first_disbursed or txn.value_date, txn.value_date)
                if txn.value_date >= period_start:
                    new_amount += txn.amount.fen
            elif txn.kind == TransactionKind.REPAYMENT:
                balance -= txn.principal_part.fen
            elif txn.kind in REDUCING:
                balance -= txn.principal_part.fen if txn.principal_part.fen > 0 else txn.amount.fen
        if first_disbursed is not None and period_start <= first_disbursed <= period_end:
            new_loans += 1
        if balance <= 0:
            continue
        klass = loan.classification
        if period_end < as_of:
            changes = list(loan.classification_changes.order_by("business_day", "pk"))
            before = [c for c in changes if c.business_day <= period_end]
            klass = before[-1].to_class if before else changes[0].from_class if changes else klass
        balance_total += balance
        clients.add(loan.borrower_id)
        by_bank[loan.bank_id][0] += balance
        if klass in NON_PERFORMING_CLASSES:
            by_bank[loan.bank_id][1] += balance
    return {
        "new_amount_fen": new_amount,
        "new_loans": new_loans,
        "balance_fen": balance_total,
        "clients_with_balance": len(clients),
        "by_bank": {bank: (b, n) for bank, (b, n) in by_bank.items()},
    }


def restrict_frames(frames: Any, loan_ids: list[int]) -> Any:
    """The frames of the sampled loans only (bank-level tables and registrations kept whole)."""
    import polars as pl

    keep = pl.Series(loan_ids, dtype=pl.Int64).implode()
    collateral = frames.collateral.filter(pl.col("loan_id").is_in(keep))
    return dataclasses.replace(
        frames,
        loans=frames.loans.filter(pl.col("loan_id").is_in(keep)),
        transactions=frames.transactions.filter(pl.col("loan_id").is_in(keep)),
        collateral=collateral,
        classification_changes=frames.classification_changes.filter(pl.col("loan_id").is_in(keep)),
        implementation_reports=frames.implementation_reports.filter(
            pl.col("collateral_id").is_in(collateral.get_column("collateral_id").implode())
        ),
    )


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # data commands; `ipledge check` covers the project
    help = (
        "Benchmarks: `ipledge bench indicators` times the lending indicator set against a naive ORM loop; "
        "`ipledge bench valuation` times the valuation engine against its row-by-row reference; "
        "`ipledge bench compensation` times the funds' stress test against a naive per-simulation loop; "
        "`ipledge bench screening` times the whitelist screen against a per-enterprise ORM loop; "
        "`ipledge bench matching` times product matching against a per-pair Python loop; "
        "`ipledge bench monitoring` times the anomaly rules and targets against a row-by-row Python twin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # One positional target with shared options rather than subparsers: `bench indicators` keeps accepting
        # its options anywhere on the line, Django's own (--verbosity, --settings) included.
        parser.add_argument(
            "target",
            choices=[
                "indicators",
                "valuation",
                "valuation-api",
                "compensation",
                "screening",
                "matching",
                "monitoring",
                "portal",
            ],
        )
        parser.add_argument("--requests", type=int, default=200, help="valuation-api: requests timed (default 200)")
        parser.add_argument(
            "--scale",
            choices=[s for s in LOAN_SCALES if s != "tiny"],
            default=None,
            help="seed scale when the database is empty (default national; compensation: province)",
        )
        parser.add_argument(
            "--sample", type=int, default=2000, help="loans in the naive loop, or rights in the row-by-row baseline"
        )
        parser.add_argument("--seed", type=int, default=None, help="default 42 (indicators), 20261205 (valuation)")
        parser.add_argument("--n", type=int, default=1_000_000, help="valuation: synthetic patents (default 1,000,000)")
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=LOAN_SEED_AS_OF)
        parser.add_argument("--database-url", help="run against this database (in a child process)")
        parser.add_argument("--cold-only", action="store_true", help="internal: the cold child run only")
        parser.add_argument("--simulations", type=int, default=10_000, help="compensation: Monte Carlo simulations")
        parser.add_argument(
            "--baseline-simulations", type=int, default=500, help="compensation: simulations of the naive loop"
        )
        parser.add_argument(
            "--output", help="compensation, screening, matching, monitoring: also write the JSON to this file"
        )
        parser.add_argument(
            "--enterprises", type=int, default=500_000, help="screening, monitoring: synthetic enterprises"
        )
        parser.add_argument("--records", type=int, default=2_000_000, help="screening: synthetic credit records")
        parser.add_argument(
            "--baseline-sample", type=int, default=2000, help="screening: enterprises of the per-enterprise ORM loop"
        )
        parser.add_argument("--products", type=int, default=2000, help="matching: synthetic live products")
        parser.add_argument("--demands", type=int, default=100_000, help="matching: synthetic active demands")
        parser.add_argument(
            "--baseline-demands", type=int, default=20, help="matching: demands of the per-pair Python loop"
        )
        parser.add_argument("--one-samples", type=int, default=200, help="matching: demands timed one at a time (p95)")
        parser.add_argument("--workers", type=int, default=1, help="matching: processes sharing the demand chunks")
        parser.add_argument("--policies", type=int, default=20_000, help="portal: synthetic published policies")
        parser.add_argument("--queries", type=int, default=40, help="portal: search queries timed")
        parser.add_argument("--loans", type=int, default=300_000, help="monitoring: synthetic loans and registrations")
        parser.add_argument(
            "--baseline-loans", type=int, default=20_000, help="monitoring: loans of the row-by-row Python twin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["target"] == "valuation":
            self._valuation(options)
            return
        if options["target"] == "valuation-api":
            from ipledge.valuation.api_benchmark import run_api_benchmark

            self.stdout.write(json.dumps(run_api_benchmark(requests=options["requests"])))
            return
        if options["target"] == "compensation":
            self._compensation(options)
            return
        if options["target"] == "screening":
            self._screening(options)
            return
        if options["target"] == "matching":
            self._matching(options)
            return
        if options["target"] == "monitoring":
            self._monitoring(options)
            return
        if options["target"] == "portal":
            self._portal(options)
            return
        options["scale"] = options["scale"] or "national"
        options["seed"] = 42 if options["seed"] is None else options["seed"]
        if options["database_url"]:
            self._rerun(options)
            return
        as_of: datetime.date = options["as_of"]
        period = {"period_start": datetime.date(as_of.year, 1, 1), "period_end": as_of}
        if options["cold_only"]:
            self._cold(as_of, period)
            return
        if not Loan.objects.exists():
            started = time.perf_counter()
            seeded = seed_loans(scale=options["scale"], seed=options["seed"])
            self.stderr.write(f"seeded {seeded.counts['loan']:,} loans in {time.perf_counter() - started:.1f}s")
        load_average = [round(x, 2) for x in os.getloadavg()]  # shared machines: say how busy this one was
        cold = self._cold_in_child(options)
        result = self._baseline(options, as_of, period, cold) | {"load_average_before": load_average}
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        self.stdout.write(f"agree: {'true' if result['agree'] else 'false'}")

    def _valuation(self, options: dict[str, Any]) -> None:
        """Run `ipledge.valuation.benchmark` in a fresh interpreter (no Django, no settings) and relay its line."""
        cmd = [sys.executable, "-m", "ipledge.valuation.benchmark", "--n", str(options["n"])]
        cmd += ["--sample", str(options["sample"])]
        if options["seed"] is not None:
            cmd += ["--seed", str(options["seed"])]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        self.stderr.write(done.stderr, ending="")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise CommandError(f"valuation benchmark failed:\n{done.stderr[-3000:]}")
        self.stdout.write(lines[-1])

    def _compensation(self, options: dict[str, Any]) -> None:
        """Run `ipledge.compensation.benchmark` here, or in a child process against ``--database-url``."""
        scale = options["scale"] or "province"
        if scale == "national":
            raise CommandError("compensation: --scale demo or province")
        if options["database_url"]:
            cmd = [*_ipledge(), "bench", "compensation", "--scale", scale, "--simulations", str(options["simulations"])]
            cmd += ["--baseline-simulations", str(options["baseline_simulations"])]
            cmd += ["--output", options["output"]] if options["output"] else []
            cmd += ["--seed", str(options["seed"])] if options["seed"] is not None else []
            env = {**os.environ, "DATABASE_URL": options["database_url"]}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            self.stderr.write(done.stderr, ending="")
            if done.returncode != 0:
                raise CommandError(f"compensation benchmark failed against {options['database_url']}")
            self.stdout.write(done.stdout.rstrip("\n"))
            return
        from ipledge.compensation.benchmark import run_benchmark

        result = run_benchmark(
            simulations=options["simulations"],
            baseline_simulations=options["baseline_simulations"],
            scale=scale,
            seed=42 if options["seed"] is None else options["seed"],
            log=lambda msg: self.stderr.write(f"  {msg}"),
        )
        line = json.dumps(result, ensure_ascii=False)
        if options["output"]:
            text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
            Path(options["output"]).write_text(text, encoding="utf-8")
        self.stdout.write(line)

    def _screening(self, options: dict[str, Any]) -> None:
        """Run `ipledge.screening.benchmark` here, or in a child process against ``--database-url``."""
        if options["database_url"]:
            cmd = [*_ipledge(), "bench", "screening", "--enterprises", str(options["enterprises"])]
            cmd += ["--records", str(options["records"]), "--baseline-sample", str(options["baseline_sample"])]
            cmd += ["--output", options["output"]] if options["output"] else []
            cmd += ["--seed", str(options["seed"])] if options["seed"] is not None else []
            env = {**os.environ, "DATABASE_URL": options["database_url"]}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            self.stderr.write(done.stderr, ending="")
            if done.returncode != 0:
                raise CommandError(f"screening benchmark failed against {options['database_url']}")
            self.stdout.write(done.stdout.rstrip("\n"))
            return
        from ipledge.screening.benchmark import DEFAULT_SEED, run_benchmark

        try:
            result = run_benchmark(
                enterprises=options["enterprises"],
                records=options["records"],
                baseline_sample=options["baseline_sample"],
                seed=DEFAULT_SEED if options["seed"] is None else options["seed"],
                log=lambda msg: self.stderr.write(f"  {msg}"),
            )
        except (ValueError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:  # the sample is written to the database: it must be migrated
            raise CommandError(f"screening: the database is not ready ({exc}); run `ipledge migrate` first") from exc
        if options["output"]:
            text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
            Path(options["output"]).write_text(text, encoding="utf-8")
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _matching(self, options: dict[str, Any]) -> None:
        """Run `ipledge.market.benchmark` (synthetic frames in memory; the database is not used)."""
        from ipledge.market.benchmark import DEFAULT_SEED, run_benchmark

        try:
            result = run_benchmark(
                products=options["products"],
                demands=options["demands"],
                seed=DEFAULT_SEED if options["seed"] is None else options["seed"],
                one_samples=options["one_samples"],
                baseline_sample=options["baseline_demands"],
                workers=options["workers"],
                log=lambda msg: self.stderr.write(f"  {msg}"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            path = Path(options["output"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _monitoring(self, options: dict[str, Any]) -> None:
        """Run `ipledge.monitoring.benchmark` (synthetic frames in memory; the database is not used)."""
        from ipledge.monitoring.benchmark import DEFAULT_SEED, run_benchmark

        try:
            result = run_benchmark(
                loans=options["loans"],
                enterprises=options["enterprises"],
                baseline_loans=options["baseline_loans"],
                seed=DEFAULT_SEED if options["seed"] is None else options["seed"],
                log=lambda msg: self.stderr.write(f"  {msg}"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            path = Path(options["output"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        self.stdout.write(f"agree: {'true' if result['agree'] else 'false'}")

    def _portal(self, options: dict[str, Any]) -> None:
        """Run `ipledge.portal.benchmark` in this database (its rows are rolled back)."""
        from ipledge.portal.benchmark import DEFAULT_SEED, run_benchmark

        try:
            result = run_benchmark(
                policies=options["policies"],
                queries=options["queries"],
                seed=DEFAULT_SEED if options["seed"] is None else options["seed"],
                log=lambda msg: self.stderr.write(f"  {msg}"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            path = Path(options["output"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        self.stdout.write(f"agree: {'true' if result['agree'] else 'false'}")

    def _rerun(self, options: dict[str, Any]) -> None:
        cmd = [*_ipledge(), "bench", "indicators", "--scale", options["scale"], "--sample", str(options["sample"])]
        cmd += ["--seed", str(options["seed"]), "--as-of", options["as_of"].isoformat()]
        env = {**os.environ, "DATABASE_URL": options["database_url"]}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        self.stderr.write(done.stderr)
        if done.returncode != 0:
            raise CommandError(f"benchmark failed against {options['database_url']}")
        self.stdout.write(done.stdout.rstrip("\n"))

    def _cold(self, as_of: datetime.date, period: dict[str, datetime.date]) -> None:
        """In a fresh process: load the frames and compute the whole indicator set once; report time and memory."""
        started = time.perf_counter()
        from ipledge.lending.indicators import indicator_set, lending_frames

        # What the dashboard and the API do: repayments before the period are summed per loan in the database.
        frames = lending_frames(user=None, as_of=as_of, since=period["period_start"])
        loaded = time.perf_counter()
        tables = indicator_set(frames, period_start=period["period_start"], period_end=period["period_end"])
        done = time.perf_counter()
        self.stdout.write(
            json.dumps(
                {
                    "seconds_cold": round(done - started, 3),
                    "seconds_load": round(loaded - started, 3),
                    "seconds_compute": round(done - loaded, 3),
                    "tables": len(tables),
                    "frame_rows": {name: getattr(frames, name).height for name in ("loans", "transactions")},
                    "peak_rss_mb": _peak_rss_mb(),
                }
            )
        )

    def _cold_in_child(self, options: dict[str, Any]) -> dict[str, Any]:
        cmd = [*_ipledge(), "bench", "indicators", "--cold-only", "--as-of", options["as_of"].isoformat()]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CommandError(f"cold run failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def _baseline(
        self, options: dict[str, Any], as_of: datetime.date, period: dict[str, datetime.date], cold: dict[str, Any]
    ) -> dict[str, Any]:
        from ipledge.lending.indicators import lending_frames

        ids = list(Loan.objects.filter(is_ip_pledge=True).order_by("pk").values_list("pk", flat=True))
        sample = sorted(random.Random(options["seed"]).sample(ids, min(options["sample"], len(ids))))
        frames = lending_frames(user=None, as_of=as_of, since=period["period_start"])
        fast = fast_figures(restrict_frames(frames, sample), **period)
        connection.close()  # the naive loop starts from a fresh connection too
        started = time.perf_counter()
        naive = naive_figures(sample, as_of=as_of, **period)
        naive_seconds = time.perf_counter() - started
        per_loan = naive_seconds / max(1, len(sample))
        extrapolated = per_loan * len(ids)
        return {
            "benchmark": "indicators",
            "database": connection.vendor,
            "scale": options["scale"],
            "as_of": as_of.isoformat(),
            "period": [period["period_start"].isoformat(), period["period_end"].isoformat()],
            "n_loans": len(ids),
            "n_transactions": LoanTransaction.objects.count(),
            "seconds_cold": cold["seconds_cold"],
            "seconds_load": cold["seconds_load"],
            "seconds_compute": cold["seconds_compute"],
            "sample": len(sample),
            "baseline_seconds_sample": round(naive_seconds, 3),
            "baseline_seconds_per_loan": round(per_loan, 6),
            "baseline_extrapolated_seconds": round(extrapolated, 1),
            "ratio": round(extrapolated / cold["seconds_cold"], 1) if cold["seconds_cold"] else None,
            "peak_rss_mb": cold["peak_rss_mb"],
            "cpus": os.cpu_count(),
            "agree": fast == naive,
            "sample_figures": {k: v for k, v in naive.items() if k != "by_bank"} | {"banks": len(naive["by_bank"])},
        }
