"""The screening benchmark (`ipledge bench screening`): the vectorised screen of a national population against a
per-enterprise ORM loop doing the same.

The fast path
-------------
`synthetic_population` generates the two input frames of `engine.screen` for `enterprises` enterprises and
`records` credit records (deterministic for a seed; mixes below), *synthetic, never read from the database*: a
database holding 500,000 enterprises and 2,000,000 records is not something a benchmark should need, and reading
them is the database's speed, not the screen's. Generating is timed apart (`generate_seconds`). Then one call of
`engine.screen.screen` on all of them, with a realistic baseline merged with a park's tightening (`CRITERIA`) and
the expert card, is timed as `seconds`. Target: ≤ 15 s on 2 cores (`within_target`).

The baseline
------------
The obvious way to screen, one enterprise at a time through the ORM, as a report script would (`orm_loop_screen`):
get the enterprise; query its valid invention patents, its valuations (and whether it still owns each valued
right), its latest innovation score, its loans and their classification changes, its credit records; then compute
its credit characteristics, score and exclusions in plain Python (`engine.reference.screen_row`). To have rows to
read, the first `baseline_sample` synthetic enterprises (default 2,000) are written to the configured database with
everything that makes their features — enterprise attributes, invention patents, a valuation of the graded ones,
innovation scores, loans with their non-performing spells, and their credit records — inside one transaction that
is rolled back at the end, so the database is left as it was (it must be migrated; its other rows are never
touched). Writing is timed apart (`sample_write_seconds`). The same sample is also screened the fast way *with*
reading: `features.build_features` + `features.load_records` + `engine.screen` (`sample_fast_seconds`).

Figures: `baseline_seconds_per_row` (the ORM loop per enterprise), `seconds_per_row` (the full screen per
enterprise), `ratio` = baseline per row ÷ fast per row; `ratio_with_reading` = baseline per row ÷ the sample's fast
path with reading per row. `agree`: the ORM loop and the fast path with reading give the same score, reasons and
decision for every sampled enterprise (`mismatches` counts the others). `peak_rss_mb` is the peak resident memory of
the process (Django loaded, generation included).

Synthetic mixes (per enterprise): size micro 40 % / small 38 % / medium 17 % / large 5 %; industry C 35 %, I 18 %,
M 12 %, F 10 %, G 10 %, others; high-tech 22 %, specialised 9 %; age log-normal (median ≈ 7 years); invention
patents 0 for 45 %, else geometric (mean ≈ 3); a valuation grade for 35 % (BBB–B most); an innovation score for
45 %; financials for 55 %; 0.3 prior loans on average, 8 % of them non-performing. Records (uniform over the
enterprises, listed over the six years before as_of): tax ratings 62 % (A 32 / B 43 / M 10 / C 10 / D 5 %),
penalties 30 % (a three-year publicity period for half), abnormal operation 5 %, dishonest 2 %, serious violation
1 %; 30 % of the list records were removed (repaired) by as_of.
"""

from __future__ import annotations

import datetime
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from .engine.expert import EXPERT_SCORECARD
from .engine.reference import screen_row
from .engine.rules import merge
from .engine.screen import screen
from .engine.spec import FEATURE_SCHEMA, RECORD_SCHEMA, CriteriaSpec, ExclusionRule, ScorecardSpec

DEFAULT_ENTERPRISES = 500_000
DEFAULT_RECORDS = 2_000_000
DEFAULT_SAMPLE = 2000
DEFAULT_SEED = 20260105
AS_OF = datetime.date(2026, 1, 5)
TARGET_SECONDS = 15.0
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
REGION = "659001"  # the sample's enterprises are registered here: a code no seeded enterprise uses
USCC_SERIAL_BASE = 97_000_000

BASELINE = CriteriaSpec(
    exclusions=(
        ExclusionRule("dishonest"),
        ExclusionRule("serious_violation"),
        ExclusionRule("abnormal"),
        ExclusionRule("tax_rating", params={"ratings": ["D"]}),
        ExclusionRule("penalties", params={"max_count": 2, "within_days": 1095}),
    ),
    min_score=55.0,
)
PARK = CriteriaSpec(
    exclusions=(
        *BASELINE.exclusions,
        ExclusionRule("tax_rating", effective_from=datetime.date(2026, 1, 1), params={"ratings": ["C", "D"]}),
    ),
    min_score=58.0,
    min_invention_patents=1,
    allowed_sizes=("micro", "small", "medium"),
)
CRITERIA = merge(BASELINE, PARK)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _pick(
    rng: np.random.Generator, names: tuple[str, ...], n: int, p: list[float]
) -> tuple[pl.Series, np.ndarray[Any, Any]]:
    """n draws of `names` with probabilities `p`, as a text Series (gathered from the names, so no large numpy
    unicode array is ever built) and the integer codes."""
    codes = rng.choice(len(names), n, p=p)
    return pl.Series(names, dtype=pl.Utf8).gather(codes), codes


def _maybe(rng: np.random.Generator, share: float, values: pl.Series) -> pl.Series:
    """`values` kept for `share` of the rows, null elsewhere."""
    keep = pl.Series(rng.random(len(values)) < share)
    return pl.select(pl.when(keep).then(values).otherwise(None)).to_series()


def synthetic_population(
    enterprises: int, records: int, *, seed: int = DEFAULT_SEED, as_of: datetime.date = AS_OF
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Features (`FEATURE_SCHEMA`, ids 1…n) and records (`RECORD_SCHEMA`) with the mixes of the module docstring."""
    rng = np.random.default_rng(seed)
    n = enterprises
    grades, _ = _pick(rng, GRADES, n, [0.03, 0.07, 0.12, 0.2, 0.22, 0.18, 0.1, 0.05, 0.03])
    sizes, _ = _pick(rng, ("micro", "small", "medium", "large"), n, [0.4, 0.38, 0.17, 0.05])
    sections, _ = _pick(rng, tuple("CIMFGKLAE"), n, [0.35, 0.18, 0.12, 0.1, 0.1, 0.06, 0.04, 0.03, 0.02])
    patents = np.where(rng.random(n) < 0.45, 0, rng.geometric(1 / 3, n)).astype(np.int64)
    prior = rng.poisson(0.3, n).astype(np.int64)
    has_financials = rng.random(n) < 0.55
    features = pl.DataFrame(
        {
            "enterprise_id": np.arange(1, n + 1, dtype=np.int64),
            "valuation_grade": _maybe(rng, 0.35, grades),
            "invention_patents": patents,
            "innovation_score": _maybe(rng, 0.45, pl.Series(np.round(rng.beta(4, 4, n) * 100, 2))),
            "size_class": sizes,
            "age_years": np.round(np.clip(rng.lognormal(1.95, 0.7, n), 0.1, 60), 2),
            "industry_section": sections,
            "is_high_tech": rng.random(n) < 0.22,
            "is_specialised": rng.random(n) < 0.09,
            "revenue_yuan": np.where(has_financials, np.round(rng.lognormal(16.5, 1.2, n), 2), np.nan),
            "asset_turnover": np.where(has_financials, np.round(rng.lognormal(-0.25, 0.6, n), 4), np.nan),
            "prior_loans": prior,
            "prior_bad_loans": rng.binomial(prior, 0.08).astype(np.int64),
        }
    ).with_columns(pl.col("revenue_yuan", "asset_turnover").fill_nan(None))
    features = features.select([pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items()])

    m = records
    kind_names = ("penalty", "tax_rating", "abnormal", "dishonest", "serious_violation")
    kinds, kind_codes = _pick(rng, kind_names, m, [0.30, 0.62, 0.05, 0.02, 0.01])
    penalty, tax = kind_codes == 0, kind_codes == 1
    start = np.datetime64(as_of - datetime.timedelta(days=6 * 365))
    listed = start + rng.integers(0, 6 * 365 + 30, m).astype("timedelta64[D]")
    removed_on = listed + rng.integers(30, 900, m).astype("timedelta64[D]")
    repaired = ~penalty & ~tax & (rng.random(m) < 0.3) & (removed_on <= np.datetime64(as_of))
    expires = listed + np.timedelta64(3 * 365, "D")
    ratings, _ = _pick(rng, tuple("ABMCD"), m, [0.32, 0.43, 0.1, 0.1, 0.05])
    years = listed.astype("datetime64[Y]").astype(np.int64) + 1970 - 1
    frame = pl.DataFrame(
        {
            "enterprise_id": rng.integers(1, n + 1, m, dtype=np.int64),
            "kind": kinds,
            "listed_on": listed.astype("datetime64[D]"),
            "removed_on": np.where(repaired, removed_on, np.datetime64("NaT")).astype("datetime64[D]"),
            "expires_on": np.where(penalty & (rng.random(m) < 0.5), expires, np.datetime64("NaT")).astype(
                "datetime64[D]"
            ),
            "tax_rating": ratings,
            "rating_year": years,
            "_tax": tax,
        }
    ).with_columns(
        pl.when(pl.col("_tax")).then(pl.col("tax_rating")).otherwise(pl.lit("")).alias("tax_rating"),
        pl.when(pl.col("_tax")).then(pl.col("rating_year")).otherwise(None).alias("rating_year"),
    )
    recs = frame.select([pl.col(name).cast(dtype) for name, dtype in RECORD_SCHEMA.items()])
    return features, recs


def time_screen(
    features: pl.DataFrame, records: pl.DataFrame, criteria: CriteriaSpec, card: ScorecardSpec, as_of: datetime.date
) -> tuple[pl.DataFrame, float]:
    started = time.perf_counter()
    result = screen(features, records, criteria, card, as_of)
    return result, time.perf_counter() - started


# ----------------------------------------------------------------------------------------- the database side


def _money(**amounts: Any) -> dict[str, Any]:
    """Money keyword arguments (the model stubs type MoneyField as a plain integer field)."""
    return amounts


def write_sample(features: pl.DataFrame, records: pl.DataFrame, *, as_of: datetime.date) -> dict[int, int]:
    """Write the sample's enterprises and everything their features come from; {synthetic id: database id}.
    Call inside a transaction that is rolled back."""
    from decimal import Decimal

    from ipledge.core.choices import AdminLevel, OrganisationKind
    from ipledge.core.money import Money
    from ipledge.core.services import organisation_create
    from ipledge.core.synthetic import make_patent_number, make_uscc
    from ipledge.lending.choices import ClassificationSource, LoanClass, LoanStatus
    from ipledge.lending.models import ClassificationChange, Loan
    from ipledge.registry.choices import IPKind, PatentType
    from ipledge.registry.models import Enterprise, IPRight, IPRightOwner
    from ipledge.valuation.models import InnovationScore, Valuation

    from .choices import FileFormat, ImportStatus, MatchStatus
    from .models import CreditImport, CreditRecord

    rows = features.to_dicts()
    usccs = [make_uscc(region_code=REGION, serial=USCC_SERIAL_BASE + int(r["enterprise_id"])) for r in rows]
    if Enterprise.objects.filter(uscc__in=usccs).exists():
        raise RuntimeError("the benchmark's sample USCCs are taken in this database; use a fresh one")
    office = organisation_create(
        name="基准测试知识产权局（回滚）",
        kind=OrganisationKind.IP_OFFICE,
        admin_level=AdminLevel.PROVINCIAL,
        acting_user=None,
    )
    bank = organisation_create(name="基准测试银行（回滚）", kind=OrganisationKind.BANK, acting_user=None)
    enterprises = Enterprise.objects.bulk_create(
        [
            Enterprise(
                uscc=uscc,
                name=f"基准测试企业{r['enterprise_id']}",
                region_code=REGION,
                industry_section=r["industry_section"] or "",
                established_on=as_of - datetime.timedelta(days=round(r["age_years"] * 365.25))
                if r["age_years"] is not None
                else None,
                size_class=r["size_class"] or "",
                is_high_tech=bool(r["is_high_tech"]),
                is_specialised=bool(r["is_specialised"]),
                **_money(
                    revenue=Money(Decimal(str(r["revenue_yuan"]))) if r["revenue_yuan"] is not None else None,
                    total_assets=Money(
                        (Decimal(str(r["revenue_yuan"])) / Decimal(str(r["asset_turnover"]))).quantize(Decimal("0.01"))
                    )
                    if r["revenue_yuan"] is not None and r["asset_turnover"]
                    else None,
                ),
            )
            for uscc, r in zip(usccs, rows, strict=True)
        ],
        batch_size=500,
    )
    ids = {int(r["enterprise_id"]): e.pk for r, e in zip(rows, enterprises, strict=True)}
    serial = 9_000_000  # numbers of 1999 applications: none of the seeds or tests files any
    rights: list[IPRight] = []
    owner_of: list[int] = []
    graded: list[tuple[int, int, str]] = []  # (right index, enterprise pk, grade)
    for r, e in zip(rows, enterprises, strict=True):
        for _ in range(int(r["invention_patents"] or 0)):
            serial += 1
            rights.append(
                IPRight(
                    kind=IPKind.PATENT,
                    number=make_patent_number(year=1999, type_digit=1, serial=serial),
                    title=f"基准测试发明{serial}",
                    patent_type=PatentType.INVENTION,
                    grant_date=datetime.date(2020, 6, 1),
                    term_end=datetime.date(2038, 1, 1),
                )
            )
            owner_of.append(e.pk)
        if r["valuation_grade"] is not None:
            serial += 1
            rights.append(
                IPRight(
                    kind=IPKind.PATENT,
                    number=make_patent_number(year=1999, type_digit=2, serial=serial),
                    title=f"基准测试实用新型{serial}",
                    patent_type=PatentType.UTILITY_MODEL,
                    grant_date=datetime.date(2020, 6, 1),
                    term_end=datetime.date(2029, 1, 1),
                )
            )
            owner_of.append(e.pk)
            graded.append((len(rights) - 1, e.pk, r["valuation_grade"]))
    rights = IPRight.objects.bulk_create(rights, batch_size=500)
    IPRightOwner.objects.bulk_create(
        [
            IPRightOwner(right=right, enterprise_id=pk, share=Decimal(100))
            for right, pk in zip(rights, owner_of, strict=True)
        ],
        batch_size=500,
    )
    money = Money("100000")
    Valuation.objects.bulk_create(
        [
            Valuation(
                ip_right=rights[i],
                version=1,
                enterprise_id=pk,
                valuation_date=as_of - datetime.timedelta(days=60),
                valid_until=as_of + datetime.timedelta(days=300),
                score=Decimal("60"),
                grade=grade,
                completeness=Decimal("0.8"),
                gate_multiplier=Decimal("1"),
                **_money(p10=money, p50=money, p90=money, loan_ceiling=Money("10000")),
                sigma=0.5,
                pledge_rate=Decimal("0.1"),
                pledge_eligible=True,
                policy_name="benchmark",
            )
            for i, pk, grade in graded
        ],
        batch_size=500,
    )
    InnovationScore.objects.bulk_create(
        [
            InnovationScore(
                enterprise_id=ids[int(r["enterprise_id"])],
                computed_on=as_of - datetime.timedelta(days=30),
                score=Decimal(str(r["innovation_score"])),
                grade="BB",
                completeness=Decimal("0.8"),
            )
            for r in rows
            if r["innovation_score"] is not None
        ],
        batch_size=500,
    )
    loans: list[Loan] = []
    bad: list[bool] = []
    amount = Money("1000000")
    for r in rows:
        for k in range(int(r["prior_loans"] or 0)):
            loans.append(
                Loan(
                    reference=f"BENCH-{r['enterprise_id']}-{k}",
                    status=LoanStatus.CLOSED,
                    borrower_id=ids[int(r["enterprise_id"])],
                    bank=bank,
                    region_code=REGION,
                    **_money(requested_amount=amount, principal=amount, disbursed_amount=amount),
                    requested_term_months=12,
                    term_months=12,
                    first_disbursed_on=as_of - datetime.timedelta(days=700 + 30 * k),
                )
            )
            bad.append(k < int(r["prior_bad_loans"] or 0))
    loans = Loan.objects.bulk_create(loans, batch_size=500)
    ClassificationChange.objects.bulk_create(
        [
            ClassificationChange(
                loan=loan,
                business_day=as_of - datetime.timedelta(days=400),
                from_class=LoanClass.SPECIAL_MENTION,
                to_class=LoanClass.SUBSTANDARD,
                source=ClassificationSource.ENGINE,
            )
            for loan, is_bad in zip(loans, bad, strict=True)
            if is_bad
        ],
        batch_size=500,
    )
    batch = CreditImport.objects.create(
        organisation=office,
        kind="penalty",
        file_name="benchmark.csv",
        file_format=FileFormat.CSV,
        sha256="0" * 64,
        status=ImportStatus.COMMITTED,
    )
    CreditRecord.objects.bulk_create(
        [
            CreditRecord(
                kind=rec["kind"],
                batch=batch,
                source_key=f"BENCH-{i}",
                subject_name=f"基准测试企业{rec['enterprise_id']}",
                enterprise_id=ids[int(rec["enterprise_id"])],
                match_status=MatchStatus.USCC,
                region_code=REGION,
                listed_on=rec["listed_on"],
                removed_on=rec["removed_on"],
                expires_on=rec["expires_on"],
                tax_rating=rec["tax_rating"] or "",
                rating_year=rec["rating_year"],
            )
            for i, rec in enumerate(records.filter(pl.col("enterprise_id").is_in(list(ids))).to_dicts())
        ],
        batch_size=500,
    )
    return ids


def orm_loop_screen(
    enterprise_ids: list[int], criteria: CriteriaSpec, card: ScorecardSpec, as_of: datetime.date
) -> list[dict[str, Any]]:
    """The baseline: one enterprise at a time through the ORM, then the row-by-row screen in plain Python."""
    from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
    from ipledge.registry.choices import IPKind, LegalStatus, PatentType
    from ipledge.registry.models import Enterprise, IPRightOwner
    from ipledge.valuation.choices import ValuationStatus
    from ipledge.valuation.models import InnovationScore, Valuation

    from .choices import MATCHED_STATUSES
    from .models import CreditRecord

    rank = {g: i for i, g in enumerate(GRADES)}
    npl = [str(c) for c in NON_PERFORMING_CLASSES]
    out = []
    for pk in enterprise_ids:
        e = Enterprise.objects.get(pk=pk)
        patents = 0
        for owner in IPRightOwner.objects.filter(enterprise=e).select_related("right"):
            right = owner.right
            if (
                right.kind == IPKind.PATENT
                and right.patent_type in (PatentType.INVENTION, PatentType.PCT_INVENTION)
                and right.legal_status == LegalStatus.VALID
                and (right.grant_date is None or right.grant_date <= as_of)
                and (right.term_end is None or right.term_end >= as_of)
            ):
                patents += 1
        latest: dict[str, tuple[int, str]] = {}
        for v in Valuation.objects.filter(enterprise=e, valuation_date__lte=as_of, valid_until__gte=as_of):
            if v.status == ValuationStatus.RETURNED:
                continue
            if (
                v.ip_right_id is not None
                and not IPRightOwner.objects.filter(right_id=v.ip_right_id, enterprise=e).exists()
            ):
                continue
            subject = f"r{v.ip_right_id}" if v.ip_right_id is not None else f"b{v.bundle_id}"
            if subject not in latest or v.version > latest[subject][0]:
                latest[subject] = (v.version, v.grade)
        grades = sorted((g for _v, g in latest.values()), key=lambda g: rank.get(g, len(rank)))
        innovation = (
            InnovationScore.objects.filter(enterprise=e, computed_on__lte=as_of).order_by("-computed_on", "-pk").first()
        )
        prior = bad = 0
        for loan in e.loans.filter(first_disbursed_on__isnull=False, first_disbursed_on__lt=as_of):
            prior += 1
            dates = [d for d in (loan.defaulted_on, loan.written_off_on) if d is not None]
            first_npl = loan.classification_changes.filter(to_class__in=npl).order_by("business_day").first()
            if first_npl is not None:
                dates.append(first_npl.business_day)
            if loan.classification in npl:
                dates.append(loan.classification_since or loan.first_disbursed_on)
            if loan.status in (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF):
                dates.append(loan.first_disbursed_on)
            if dates and min(dates) < as_of:
                bad += 1
        revenue = e.revenue.fen / 100 if e.revenue is not None else None
        assets = e.total_assets.fen / 100 if e.total_assets is not None else None
        features = {
            "enterprise_id": e.pk,
            "valuation_grade": grades[0] if grades else None,
            "invention_patents": patents,
            "innovation_score": float(innovation.score) if innovation else None,
            "size_class": e.size_class or None,
            "age_years": max(0.0, (as_of - e.established_on).days / 365.25) if e.established_on else None,
            "industry_section": e.industry_section or None,
            "is_high_tech": e.is_high_tech,
            "is_specialised": e.is_specialised,
            "revenue_yuan": revenue,
            "asset_turnover": revenue / assets if revenue is not None and assets else None,
            "prior_loans": prior,
            "prior_bad_loans": bad,
        }
        records = list(
            CreditRecord.objects.filter(
                enterprise=e, match_status__in=[str(s) for s in MATCHED_STATUSES], listed_on__lte=as_of
            ).values("kind", "listed_on", "removed_on", "expires_on", "tax_rating", "rating_year")
        )
        out.append(screen_row(features, records, criteria, card, as_of))
    return out


def _compare(fast: pl.DataFrame, slow: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    by_id = {
        row["enterprise_id"]: row for row in fast.select("enterprise_id", "score", "reasons", "included").to_dicts()
    }
    mismatches = []
    for want in slow:
        got = by_id.get(want["enterprise_id"])
        if got is None or (got["score"], got["reasons"], got["included"]) != (
            want["score"],
            want["reasons"],
            want["included"],
        ):
            mismatches.append(
                {
                    "enterprise_id": want["enterprise_id"],
                    "fast": got,
                    "orm_loop": {k: want[k] for k in ("score", "reasons", "included")},
                }
            )
    return len(mismatches), mismatches[:5]


def run_baseline(
    features: pl.DataFrame,
    records: pl.DataFrame,
    *,
    sample: int,
    criteria: CriteriaSpec,
    card: ScorecardSpec,
    as_of: datetime.date,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Write the sample, time the ORM loop and the fast path with reading on it, compare, roll everything back."""
    from django.db import connection, transaction

    from .features import build_features, load_records

    chosen = features.head(sample)
    result: dict[str, Any] = {}
    with transaction.atomic():
        started = time.perf_counter()
        ids = write_sample(chosen, records, as_of=as_of)
        result["sample_write_seconds"] = round(time.perf_counter() - started, 3)
        seconds = result["sample_write_seconds"]
        say(f"wrote the sample of {len(ids):,} enterprises in {seconds}s (rolled back at the end)")
        db_ids = list(ids.values())
        started = time.perf_counter()
        slow = orm_loop_screen(db_ids, criteria, card, as_of)
        baseline_seconds = time.perf_counter() - started
        started = time.perf_counter()
        fast = screen(build_features(db_ids, as_of), load_records(db_ids, as_of), criteria, card, as_of)
        fast_seconds = time.perf_counter() - started
        mismatches, examples = _compare(fast, slow)
        transaction.set_rollback(True)
    result.update(
        {
            "database": connection.vendor,
            "baseline": "per-enterprise ORM loop (orm_loop_screen), then the row-by-row screen (reference.screen_row)",
            "baseline_sample": len(db_ids),
            "baseline_seconds": round(baseline_seconds, 3),
            "baseline_seconds_per_row": baseline_seconds / max(1, len(db_ids)),
            "sample_fast_seconds": round(fast_seconds, 3),
            "sample_fast_seconds_per_row": fast_seconds / max(1, len(db_ids)),
            "agree": mismatches == 0,
            "mismatches": mismatches,
            "mismatch_examples": examples,
        }
    )
    return result


def run_benchmark(
    *,
    enterprises: int = DEFAULT_ENTERPRISES,
    records: int = DEFAULT_RECORDS,
    baseline_sample: int = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    as_of: datetime.date = AS_OF,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time the full screen and the ORM baseline; one JSON-ready dict (module docstring)."""
    if enterprises < 1 or records < 0 or baseline_sample < 1:
        raise ValueError("enterprises and baseline_sample must be positive, records not negative")
    say = log or (lambda _msg: None)
    load_average = [round(x, 2) for x in os.getloadavg()]  # shared machines: say how busy this one was
    started = time.perf_counter()
    features, recs = synthetic_population(enterprises, records, seed=seed, as_of=as_of)
    generate_seconds = time.perf_counter() - started
    say(f"generated {enterprises:,} enterprises and {records:,} records in {generate_seconds:.1f}s")
    result, seconds = time_screen(features, recs, CRITERIA, EXPERT_SCORECARD, as_of)
    included = int(result.get_column("included").sum())
    excluded = int(result.get_column("excluded").sum())
    say(f"screened them in {seconds:.2f}s: {included:,} included, {excluded:,} hit a hard exclusion")
    baseline = run_baseline(
        features,
        recs,
        sample=min(baseline_sample, enterprises),
        criteria=CRITERIA,
        card=EXPERT_SCORECARD,
        as_of=as_of,
        say=say,
    )
    per_row = seconds / enterprises
    say(f"ORM loop: {baseline['baseline_seconds_per_row'] * 1000:.2f} ms per enterprise")
    return {
        "benchmark": "screening",
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "enterprises": enterprises,
        "records": records,
        "included": included,
        "excluded": excluded,
        "as_of": as_of.isoformat(),
        "seconds": round(seconds, 3),
        "seconds_per_row": per_row,
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds <= TARGET_SECONDS,
        "generate_seconds": round(generate_seconds, 3),
        "data": "synthetic frames (synthetic_population), not read from the database",
        **baseline,
        "ratio": round(baseline["baseline_seconds_per_row"] / per_row, 1) if per_row > 0 else None,
        "ratio_with_reading": round(baseline["baseline_seconds_per_row"] / baseline["sample_fast_seconds_per_row"], 1)
        if baseline["sample_fast_seconds_per_row"] > 0
        else None,
        "criteria": CRITERIA.to_json(),
        "seed": seed,
        "cpus": os.cpu_count(),
        "polars_threads": pl.thread_pool_size(),
        "load_average_before": load_average,
        "peak_rss_mb": peak_rss_mb(),
    }
