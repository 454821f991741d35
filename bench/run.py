"""ipledge benchmarks (`make bench`); see bench/README.md for how to read the figures.

(a) Seeding: `ipledge seed --scale demo` and then `--scale province`, each into a fresh SQLite database in a
    temporary directory, as a child process. Wall time, peak RSS of that child (``os.wait4``: the
    ``RUSAGE_CHILDREN`` figures of that one process), rows written and rows per second. The demo run is the
    baseline measured in the same run: the report gives province/demo ratios.
(b) Import: `ipledge import_registry` of a generated .xlsx of 5,000 enterprises and then one of 5,000 patents
    owned by them, into a tiny-seeded database, each followed by a re-import of the same file (which validates
    everything and writes only its summary event). The re-import is the baseline: first import / re-import is
    what the per-row audited service writes cost on top of reading and validating the file.
(c) Identifier validation: ``validate_uscc`` and ``validate_patent_application_number`` over 200,000 generated
    numbers each, against a plain ``stdnum.cn.uscc.is_valid`` loop over the same USCCs (ratio per item).
(d) Lending indicators (only with ``--indicators``): `ipledge bench indicators` — the full indicator set computed
    cold in a fresh process against a naive per-loan ORM loop on a sample, extrapolated (ratio), on a database
    holding the chosen loan scale (seeded by `ipledge seed_loans` when it holds no loans).
(e) Valuation engine (only with ``--valuation``): `ipledge.valuation.benchmark` in a child process — the vectorised
    engine on N synthetic patents (default 1,000,000) against the row-by-row reference on a sample, per row (ratio),
    the child's peak RSS, and whether the two agree on the sample.

Writes bench/results/latest.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
IPLEDGE = Path(sys.executable).with_name("ipledge")
RESULTS = ROOT / "bench" / "results" / "latest.json"
TABLES = {
    "organisations": "core_organisation",
    "users": "core_user",
    "parks": "registry_park",
    "enterprises": "registry_enterprise",
    "park_memberships": "registry_parkmembership",
    "ip_rights": "registry_ipright",
    "ip_right_owners": "registry_iprightowner",
    "audit_events": "core_auditevent",
    "history_rows": None,  # summed over the registry's history tables
}


# ---------------------------------------------------------------------------
# (a) seeding
# ---------------------------------------------------------------------------


def run_child(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run one child process; wall time and its own peak RSS (wait4 reports that child's rusage only)."""
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{log.read_text()[-3000:]}")
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}


def _count(execute: Any, history_tables: list[str]) -> dict[str, int]:
    counts = {name: execute(f"SELECT COUNT(*) FROM {table}") for name, table in TABLES.items() if table is not None}
    counts["history_rows"] = sum(execute(f'SELECT COUNT(*) FROM "{t}"') for t in history_tables)
    return counts


def count_rows_sqlite(db: Path) -> tuple[dict[str, int], float]:
    with sqlite3.connect(db) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%historical%'")
        ]
        counts = _count(lambda sql: conn.execute(sql).fetchone()[0], tables)
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return counts, size / 2**20


def count_rows_postgres(url: str) -> tuple[dict[str, int], float]:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE '%%historical%%'")]
        counts = _count(lambda sql: conn.execute(sql).fetchone()[0], tables)  # type: ignore[index]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
    return counts, size / 2**20


class _TemporaryPostgres:
    """A database created next to the one `admin_url` names, dropped afterwards."""

    def __init__(self, admin_url: str, label: str) -> None:
        from urllib.parse import urlsplit, urlunsplit

        self.admin_url = admin_url
        self.name = f"ipledge_bench_{label}_{os.getpid()}"
        parts = urlsplit(admin_url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def __enter__(self) -> str:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')


def bench_seed(scale: str, keep: bool, postgres: str | None = None) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"ipledge-bench-{scale}-"))
    env = {**os.environ, "IPLEDGE_DATA_DIR": str(workdir), "DJANGO_SETTINGS_MODULE": "ipledge.settings.base"}
    env.pop("DATABASE_URL", None)  # SQLite, the default deployment, unless --postgres
    temporary = _TemporaryPostgres(postgres, scale) if postgres else None
    try:
        if temporary is not None:
            env["DATABASE_URL"] = temporary.__enter__()
        migrate = run_child([str(IPLEDGE), "migrate", "--noinput", "-v0"], env, workdir / "migrate.log")
        seed = run_child([str(IPLEDGE), "seed", "--scale", scale, "-v1"], env, workdir / "seed.log")
        if temporary is not None:
            rows, size_mb = count_rows_postgres(temporary.url)
        else:
            rows, size_mb = count_rows_sqlite(workdir / "ipledge.sqlite3")
        written = sum(rows.values())
        registry = sum(rows[k] for k in ("enterprises", "park_memberships", "ip_rights", "ip_right_owners"))
        return {
            "scale": scale,
            "database": "postgresql" if temporary is not None else "sqlite",
            "seconds": seed["seconds"],
            "peak_rss_mb": seed["peak_rss_mb"],
            "migrate_seconds": migrate["seconds"],
            "rows": rows,
            "rows_written": written,
            "rows_per_second": round(written / seed["seconds"]),
            "registry_rows": registry,
            "registry_rows_per_second": round(registry / seed["seconds"]),
            "database_mb": round(size_mb, 1),
            "log_tail": (workdir / "seed.log").read_text().strip().splitlines()[-2:],
        }
    finally:
        if temporary is not None and not keep:
            temporary.__exit__()
        if keep:
            print(f"kept {workdir}" + (f" and database {temporary.name}" if temporary else ""), file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# (b) import
# ---------------------------------------------------------------------------


def write_import_files(workdir: Path, rows: int) -> tuple[Path, Path]:
    import xlsxwriter

    from ipledge.core.synthetic import make_patent_number, make_uscc

    usccs = [make_uscc(region_code="110108", serial=99_000_000 + i) for i in range(rows)]
    enterprises, rights = workdir / "enterprises.xlsx", workdir / "ip_rights.xlsx"
    book = xlsxwriter.Workbook(enterprises)
    sheet = book.add_worksheet()
    sheet.write_row(
        0, 0, ["统一社会信用代码", "企业名称", "行业门类", "行业大类", "从业人员", "营业收入（元）", "成立日期"]
    )
    for i, uscc in enumerate(usccs, start=1):
        sheet.write_row(
            i,
            0,
            [uscc, f"导入测试{i}科技有限公司", "C", "39", str(10 + i % 300), f"{1_000_000 + i * 137}.50", "2015-06-01"],
        )
    book.close()
    book = xlsxwriter.Workbook(rights)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["类型", "号码", "名称", "申请日", "授权日", "法律状态", "权利人统一社会信用代码"])
    for i, uscc in enumerate(usccs, start=1):
        number = make_patent_number(year=2020, type_digit=1, serial=9_000_000 + i)
        sheet.write_row(i, 0, ["专利", number, f"一种测试方法{i}", "2020-03-01", "2022-05-01", "有效", uscc])
    book.close()
    return enterprises, rights


def bench_import(rows: int, keep: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ipledge-bench-import-"))
    env = {**os.environ, "IPLEDGE_DATA_DIR": str(workdir), "DJANGO_SETTINGS_MODULE": "ipledge.settings.base"}
    env.pop("DATABASE_URL", None)
    try:
        run_child([str(IPLEDGE), "migrate", "--noinput", "-v0"], env, workdir / "migrate.log")
        run_child([str(IPLEDGE), "seed", "--scale", "tiny", "-v0"], env, workdir / "seed.log")
        enterprises, rights = write_import_files(workdir, rows)
        result: dict[str, Any] = {"rows": rows}
        for kind, path, extra in (("enterprises", enterprises, ["--park", "1"]), ("ip_rights", rights, [])):
            cmd = [str(IPLEDGE), "import_registry", "--kind", kind, "--user", "park_1_operator", *extra, str(path)]
            first = run_child(cmd, env, workdir / f"import-{kind}.log")
            again = run_child(cmd, env, workdir / f"reimport-{kind}.log")
            if "unchanged" not in (workdir / f"reimport-{kind}.log").read_text():
                raise RuntimeError(f"re-import of {kind} did not report unchanged rows")
            result[kind] = {
                "import_seconds": first["seconds"],
                "import_rows_per_second": round(rows / first["seconds"]),
                "reimport_seconds": again["seconds"],
                "reimport_rows_per_second": round(rows / again["seconds"]),
                "ratio_import_to_reimport": round(first["seconds"] / again["seconds"], 1),
                "peak_rss_mb": max(first["peak_rss_mb"], again["peak_rss_mb"]),
            }
        return result
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# (c) validators
# ---------------------------------------------------------------------------


def sample_identifiers(n: int) -> tuple[list[str], list[str]]:
    from ipledge.core.synthetic import make_patent_number, make_uscc

    with (ROOT / "src/ipledge/core/data/adcn_areas.csv").open(encoding="utf-8") as fh:
        counties = [row["code"] for row in csv.DictReader(fh)]
    usccs = [make_uscc(region_code=counties[i % len(counties)], serial=(i * 48271 + 7) % 10**8) for i in range(n)]
    patents = [
        make_patent_number(year=2005 + i % 21, type_digit=(1, 2, 3)[i % 3], serial=(i * 7919) % 10**7) for i in range(n)
    ]
    return usccs, patents


def best_of(repeat: int, fn: Any, items: list[str]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - started)
    return best


def bench_validators(n: int, repeat: int) -> dict[str, Any]:
    from stdnum.cn import uscc as stdnum_uscc

    from ipledge.core.identifiers import validate_patent_application_number, validate_uscc

    usccs, patents = sample_identifiers(n)
    assert all(validate_uscc(u).valid for u in usccs[:1000]) and all(stdnum_uscc.is_valid(u) for u in usccs[:1000])
    assert all(validate_patent_application_number(p).valid for p in patents[:1000])
    baseline = best_of(repeat, stdnum_uscc.is_valid, usccs)
    ours_uscc = best_of(repeat, validate_uscc, usccs)
    ours_patent = best_of(repeat, validate_patent_application_number, patents)

    def entry(seconds: float) -> dict[str, Any]:
        return {
            "seconds": round(seconds, 3),
            "per_second": round(n / seconds),
            "microseconds_each": round(seconds / n * 1e6, 2),
            "ratio_to_baseline": round(seconds / baseline, 2),
        }

    return {
        "n": n,
        "repeat": repeat,
        "baseline_stdnum_uscc_is_valid": entry(baseline),
        "validate_uscc": entry(ours_uscc),
        "validate_patent_application_number": entry(ours_patent),
    }


# ---------------------------------------------------------------------------
# (d) lending indicators
# ---------------------------------------------------------------------------


def bench_indicators(scale: str, sample: int, database_url: str | None, keep: bool) -> dict[str, Any]:
    """`ipledge bench indicators` as a child; a temporary SQLite directory unless a database URL is given."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ipledge-bench-indicators-{scale}-"))
    env = {**os.environ, "IPLEDGE_DATA_DIR": str(workdir), "DJANGO_SETTINGS_MODULE": "ipledge.settings.base"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        run_child([str(IPLEDGE), "migrate", "--noinput", "-v0"], env, workdir / "migrate.log")
        cmd = [str(IPLEDGE), "bench", "indicators", "--scale", scale, "--sample", str(sample)]
        run = run_child(cmd, env, workdir / "indicators.log")
        lines = (workdir / "indicators.log").read_text().strip().splitlines()
        result: dict[str, Any] = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
        result["wall_seconds"] = run["seconds"]  # the whole child, seeding included when it had to seed
        return result
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# (e) valuation engine
# ---------------------------------------------------------------------------


def bench_valuation(n: int, sample: int) -> dict[str, Any]:
    """`python -m ipledge.valuation.benchmark` as a child (no Django): its JSON line plus wall time and peak RSS."""
    workdir = Path(tempfile.mkdtemp(prefix="ipledge-bench-valuation-"))
    try:
        cmd = [sys.executable, "-m", "ipledge.valuation.benchmark", "--n", str(n), "--sample", str(sample)]
        run = run_child(cmd, dict(os.environ), workdir / "valuation.log")
        lines = (workdir / "valuation.log").read_text().strip().splitlines()
        result: dict[str, Any] = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
        result["wall_seconds"] = run["seconds"]  # the whole child: imports, generation and both timings
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench_valuation_api(requests: int) -> dict[str, Any]:
    """`ipledge bench valuation-api` on a copy of the demo database (var/ipledge.sqlite3, or a fresh demo seed of
    the registry and the pledges when there is none), so the valuations it writes do not land in the demo."""
    workdir = Path(tempfile.mkdtemp(prefix="ipledge-bench-valuation-api-"))
    env = {**os.environ, "IPLEDGE_DATA_DIR": str(workdir)}
    env.pop("DATABASE_URL", None)
    try:
        demo = ROOT / "var" / "ipledge.sqlite3"
        if demo.exists():
            with sqlite3.connect(demo) as source, sqlite3.connect(workdir / "ipledge.sqlite3") as target:
                source.backup(target)
            run_child([str(IPLEDGE), "migrate", "--noinput", "-v0"], env, workdir / "migrate.log")
        else:
            for step in (["migrate", "--noinput", "-v0"], ["seed", "--scale", "demo"], ["seed_pledges"]):
                run_child([str(IPLEDGE), *step], env, workdir / f"{step[0]}.log")
        cmd = [str(IPLEDGE), "bench", "valuation-api", "--requests", str(requests)]
        run_child(cmd, env, workdir / "api.log")
        lines = (workdir / "api.log").read_text().strip().splitlines()
        result: dict[str, Any] = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    lines = []
    seeds = result.get("seed", {})
    if seeds.get("runs"):
        lines += [
            "| seed scale | database | enterprises | IP rights | registry rows | all rows written | wall time (s) | "
            "registry rows/s | peak RSS (MB) | database (MB) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for run in seeds["runs"]:
            r = run["rows"]
            lines.append(
                f"| {run['scale']} | {run.get('database', 'sqlite')} | {r['enterprises']:,} | {r['ip_rights']:,} | {run['registry_rows']:,} | "
                f"{run['rows_written']:,} | {run['seconds']:.1f} | {run['registry_rows_per_second']:,} | "
                f"{run['peak_rss_mb']:.0f} | {run['database_mb']:.0f} |"
            )
        if seeds.get("ratios"):
            lines += ["", f"| ratio (baseline: {seeds['baseline']} in the same run) | value |", "|---|---:|"]
            lines += [f"| {key} | {value} |" for key, value in seeds["ratios"].items()]
        lines.append("")
    imports = result.get("import")
    if imports:
        lines += [
            f"| import ({imports['rows']:,} rows, .xlsx) | import (s) | rows/s | re-import (s) | rows/s | "
            "import ÷ re-import | peak RSS (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind in ("enterprises", "ip_rights"):
            v = imports[kind]
            lines.append(
                f"| {kind} | {v['import_seconds']:.1f} | {v['import_rows_per_second']:,} | {v['reimport_seconds']:.1f} "
                f"| {v['reimport_rows_per_second']:,} | {v['ratio_import_to_reimport']} | {v['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    validators = result.get("validators")
    if validators:
        lines += [
            f"| validator ({validators['n']:,} valid inputs, best of {validators['repeat']}) | seconds | "
            "per second | µs each | × baseline |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in ("baseline_stdnum_uscc_is_valid", "validate_uscc", "validate_patent_application_number"):
            v = validators[name]
            lines.append(
                f"| {name} | {v['seconds']:.2f} | {v['per_second']:,} | {v['microseconds_each']} | "
                f"{v['ratio_to_baseline']} |"
            )
    indicators = result.get("indicators")
    if indicators:
        lines += [
            "",
            "| indicators | database | loans | transactions | cold (s) | load (s) | compute (s) | naive s/loan | "
            "naive extrapolated (s) | ratio | peak RSS (MB) | agree |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {indicators['scale']} | {indicators['database']} | {indicators['n_loans']:,} | "
            f"{indicators['n_transactions']:,} | {indicators['seconds_cold']:.2f} | {indicators['seconds_load']:.2f} | "
            f"{indicators['seconds_compute']:.2f} | {indicators['baseline_seconds_per_loan']:.4f} | "
            f"{indicators['baseline_extrapolated_seconds']:,.0f} | {indicators['ratio']:,} | "
            f"{indicators['peak_rss_mb']:.0f} | {str(indicators['agree']).lower()} |",
        ]
    api = result.get("valuation_api")
    if api:
        lines += [
            "",
            "| valuation API | requests | p50 (ms) | p95 (ms) | baseline GET p95 (ms) | ratio p95 | target p95 (ms) |",
            "|---|---|---|---|---|---|---|",
            f"| POST /api/v1/valuations | {api['requests']} | {api['p50_ms']} | {api['p95_ms']} | "
            f"{api['baseline_p95_ms']} | {api['ratio_p95']} | {api['target_p95_ms']} |",
        ]
    valuation = result.get("valuation")
    if valuation:
        lines += [
            "",
            "| valuation | rights | seconds | µs/row | baseline sample | baseline µs/row | ratio | peak RSS (MB) | "
            "generate (s) | agree |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| synthetic patents | {valuation['n']:,} | {valuation['seconds']:.2f} | "
            f"{valuation['seconds_per_row'] * 1e6:.2f} | {valuation['sample']:,} | "
            f"{valuation['baseline_seconds_per_row'] * 1e6:.1f} | {valuation['ratio']} | "
            f"{valuation['peak_rss_mb']:.0f} | {valuation['generate_seconds']:.2f} | "
            f"{str(valuation['agree']).lower()} |",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--scales",
        default="demo,province",
        help="comma-separated seed scales; the first is the baseline (default demo,province)",
    )
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-validators", action="store_true")
    parser.add_argument("--import-rows", type=int, default=5000, help="rows per generated import file")
    parser.add_argument("-n", type=int, default=200_000, help="identifiers per validator run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="also seed on PostgreSQL: temporary databases are created and dropped on the server of URL "
        "(e.g. postgres://postgres@127.0.0.1:5432/postgres); default: $BENCH_POSTGRES_URL",
    )
    parser.add_argument("--indicators", action="store_true", help="also run (d), the lending indicators benchmark")
    parser.add_argument("--indicators-scale", default="national", choices=["demo", "province", "national"])
    parser.add_argument("--indicators-sample", type=int, default=2000, help="loans in the naive loop")
    parser.add_argument(
        "--indicators-database",
        metavar="URL",
        default=os.environ.get("BENCH_LENDING_URL"),
        help="database for (d), kept between runs so the seed is reused "
        "(e.g. postgres://postgres@127.0.0.1:5432/bench_lending); default $BENCH_LENDING_URL, else a temporary SQLite",
    )
    parser.add_argument("--valuation", action="store_true", help="also run (e), the valuation engine benchmark")
    parser.add_argument("--valuation-n", type=int, default=1_000_000, help="synthetic patents to value")
    parser.add_argument("--valuation-sample", type=int, default=2000, help="rights in the row-by-row baseline")
    parser.add_argument(
        "--valuation-api", action="store_true", help="also time POST /api/v1/valuations (p50/p95) on the demo data"
    )
    parser.add_argument("--valuation-api-requests", type=int, default=200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    import stdnum

    result: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
            "python_stdnum": stdnum.__version__,
        },
    }
    if not args.skip_seed:
        runs = []
        for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
            print(f"seeding {scale} …", file=sys.stderr, flush=True)
            runs.append(bench_seed(scale, args.keep))
            print(f"  {runs[-1]['seconds']}s, peak {runs[-1]['peak_rss_mb']} MB", file=sys.stderr, flush=True)
        postgres_runs = []
        for scale in [s.strip() for s in args.scales.split(",") if s.strip()] if args.postgres else []:
            print(f"seeding {scale} on PostgreSQL …", file=sys.stderr, flush=True)
            postgres_runs.append(bench_seed(scale, args.keep, args.postgres))
        ratios: dict[str, float] = {}
        base = runs[0]
        for run in runs[1:]:
            ratios[f"{run['scale']}/{base['scale']} wall time"] = round(run["seconds"] / base["seconds"], 1)
            ratios[f"{run['scale']}/{base['scale']} rows written"] = round(
                run["rows_written"] / base["rows_written"], 1
            )
            ratios[f"{run['scale']}/{base['scale']} registry rows per second"] = round(
                run["registry_rows_per_second"] / base["registry_rows_per_second"], 2
            )
        for run in postgres_runs:
            ratios[f"{run['scale']} PostgreSQL/SQLite wall time"] = round(
                run["seconds"] / next(r["seconds"] for r in runs if r["scale"] == run["scale"]), 2
            )
        result["seed"] = {"runs": runs + postgres_runs, "baseline": base["scale"], "ratios": ratios}
    if not args.skip_import:
        print("import …", file=sys.stderr, flush=True)
        result["import"] = bench_import(args.import_rows, args.keep)
    if not args.skip_validators:
        print("validators …", file=sys.stderr, flush=True)
        result["validators"] = bench_validators(args.n, args.repeat)
    if args.indicators:
        print(f"lending indicators ({args.indicators_scale}) …", file=sys.stderr, flush=True)
        result["indicators"] = bench_indicators(
            args.indicators_scale, args.indicators_sample, args.indicators_database, args.keep
        )
    if args.valuation:
        print(f"valuation engine ({args.valuation_n:,} rights) …", file=sys.stderr, flush=True)
        result["valuation"] = bench_valuation(args.valuation_n, args.valuation_sample)
    if args.valuation_api:
        print(f"valuation API ({args.valuation_api_requests} requests) …", file=sys.stderr, flush=True)
        result["valuation_api"] = bench_valuation_api(args.valuation_api_requests)
    # Sections not run this time keep their previous figures (e.g. `make bench-indicators` alone).
    previous = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else {}
    for section in ("seed", "import", "validators", "indicators", "valuation", "valuation_api"):
        if section not in result and section in previous:
            result[section] = previous[section]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown(result))
    print(f"\nwritten to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
