"""The screening engine's input frames read from the database: enterprise features (`FEATURE_SCHEMA`) and matched
credit records (`RECORD_SCHEMA`).

A handful of `values()` queries per chunk of 2,000 enterprises (enterprises, their rights' owners, the valid
invention patents among those rights, valuations, innovation scores, loans, classification changes; records), each
aggregated per enterprise in Polars — never a query per enterprise. `build_features_at` takes a date per row, so that a training set can describe each borrower as it
was when each of its loans started; `build_features` is the one-date case.

What each feature is, as of the row's date (decisions):
- valuation_grade: the best grade (AAA best … C) among the latest valuation of each right it holds and of each of
  its bundles, counting only valuations made on or before the date, valid on it (`valid_until` ≥ date) and not
  returned by the agency's checker; a right's valuation counts only while the enterprise is still one of its
  owners. Null when none (not valued).
- invention_patents: patents of type invention (or PCT invention) it owns whose legal status is valid, granted on or
  before the date and not past their term. The register keeps the *current* legal status only, so for a past date
  a right that lapsed since is not counted (errs towards fewer).
- innovation_score: its latest innovation score computed on or before the date.
- size_class, industry_section, is_high_tech, is_specialised: as registered now; blanks are null.
- age_years: years from `established_on` to the date (365.25-day years, never negative); null when unknown.
- revenue_yuan, asset_turnover: from the registered revenue and total assets (current values; null when either
  is missing or assets are zero). Yuan as floats here: these are ratios for a score, never amounts to book.
- prior_loans: its loans first disbursed before the date; prior_bad_loans: those of them that were non-performing
  before the date — a classification change to substandard or worse (次级、可疑、损失), a non-performing class held
  since before the date, a default or a write-off dated before it (a loan defaulted or written off with no date
  counts from its start).
Enterprise ids not in the database come back as rows of nulls (zero counts), so the order always matches.

`load_records` returns the records matched to the enterprises (`MATCHED_STATUSES`: by USCC, exact or confident
fuzzy name, or confirmed by review) and listed on or before the date; whether each is still in force is the
engine's business (`engine.screen.in_force`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from django.db.models import Exists, Min, OuterRef, Q

from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import ClassificationChange, Loan
from ipledge.registry.choices import IPKind, LegalStatus, PatentType
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner
from ipledge.valuation.choices import ValuationStatus
from ipledge.valuation.models import InnovationScore, Valuation

from .choices import MATCHED_STATUSES
from .engine.spec import FEATURE_SCHEMA, RECORD_SCHEMA
from .models import CreditRecord

CHUNK = 2000
GRADE_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")  # the valuation engine's bands, best first
INVENTION_TYPES = (PatentType.INVENTION, PatentType.PCT_INVENTION)
DAYS_PER_YEAR = 365.25
NPL_CLASSES = sorted(str(c) for c in NON_PERFORMING_CLASSES)
BAD_STATUSES = (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _yuan(money: Any) -> float | None:
    return None if money is None else money.fen / 100.0


def _enterprises(ids: list[int]) -> pl.DataFrame:
    rows = [
        {
            "enterprise_id": r["pk"],
            "industry_section": r["industry_section"] or None,
            "established_on": r["established_on"],
            "size_class": r["size_class"] or None,
            "is_high_tech": r["is_high_tech"],
            "is_specialised": r["is_specialised"],
            "revenue_yuan": _yuan(r["revenue"]),
            "assets_yuan": _yuan(r["total_assets"]),
        }
        for r in Enterprise.objects.filter(pk__in=ids).values(
            "pk",
            "industry_section",
            "established_on",
            "size_class",
            "is_high_tech",
            "is_specialised",
            "revenue",
            "total_assets",
        )
    ]
    return _frame(
        rows,
        {
            "enterprise_id": pl.Int64,
            "industry_section": pl.Utf8,
            "established_on": pl.Date,
            "size_class": pl.Utf8,
            "is_high_tech": pl.Boolean,
            "is_specialised": pl.Boolean,
            "revenue_yuan": pl.Float64,
            "assets_yuan": pl.Float64,
        },
    )


def _patents(ids: list[int]) -> pl.DataFrame:
    # Two steps, owners then rights: joined in one query, SQLite walks every valid patent of the register through
    # the (kind, legal_status) index and probes each for an owner in the chunk — slower the larger the register.
    owned = list(IPRightOwner.objects.filter(enterprise_id__in=ids).values_list("enterprise_id", "right_id"))
    rights: dict[int, tuple[Any, Any]] = {}
    for chunk in _chunks(sorted({right for _e, right in owned})):
        rights.update(
            (pk, (granted, ends))
            for pk, granted, ends in IPRight.objects.filter(
                pk__in=chunk, kind=IPKind.PATENT, patent_type__in=INVENTION_TYPES, legal_status=LegalStatus.VALID
            ).values_list("pk", "grant_date", "term_end")
        )
    return _frame(
        [{"enterprise_id": e, "granted": rights[r][0], "ends": rights[r][1]} for e, r in owned if r in rights],
        {"enterprise_id": pl.Int64, "granted": pl.Date, "ends": pl.Date},
    )


def _valuations(ids: list[int], first: datetime.date, last: datetime.date) -> pl.DataFrame:
    still_owned = IPRightOwner.objects.filter(right=OuterRef("ip_right"), enterprise=OuterRef("enterprise"))
    rows = list(
        Valuation.objects.filter(enterprise_id__in=ids, valuation_date__lte=last, valid_until__gte=first)
        .exclude(status=ValuationStatus.RETURNED)
        .filter(Q(bundle__isnull=False) | Exists(still_owned))
        .values("enterprise_id", "ip_right_id", "bundle_id", "version", "grade", "valuation_date", "valid_until")
    )
    return _frame(
        [
            {
                "enterprise_id": r["enterprise_id"],
                "subject": f"r{r['ip_right_id']}" if r["ip_right_id"] is not None else f"b{r['bundle_id']}",
                "version": r["version"],
                "grade": r["grade"],
                "valued_on": r["valuation_date"],
                "valid_until": r["valid_until"],
            }
            for r in rows
        ],
        {
            "enterprise_id": pl.Int64,
            "subject": pl.Utf8,
            "version": pl.Int64,
            "grade": pl.Utf8,
            "valued_on": pl.Date,
            "valid_until": pl.Date,
        },
    )


def _innovation(ids: list[int], last: datetime.date) -> pl.DataFrame:
    rows = list(
        InnovationScore.objects.filter(enterprise_id__in=ids, computed_on__lte=last).values(
            "enterprise_id", "computed_on", "pk", "score"
        )
    )
    return _frame(
        [
            {
                "enterprise_id": r["enterprise_id"],
                "computed_on": r["computed_on"],
                "pk": r["pk"],
                "score": float(r["score"]),
            }
            for r in rows
        ],
        {"enterprise_id": pl.Int64, "computed_on": pl.Date, "pk": pl.Int64, "score": pl.Float64},
    )


def _loans(ids: list[int], last: datetime.date) -> pl.DataFrame:
    loans = list(
        Loan.objects.filter(borrower_id__in=ids, first_disbursed_on__isnull=False, first_disbursed_on__lt=last).values(
            "pk",
            "borrower_id",
            "first_disbursed_on",
            "defaulted_on",
            "written_off_on",
            "classification",
            "classification_since",
            "status",
        )
    )
    if not loans:
        return _frame([], {"enterprise_id": pl.Int64, "started": pl.Date, "bad_since": pl.Date})
    first_npl = dict(
        ClassificationChange.objects.filter(loan_id__in=[r["pk"] for r in loans], to_class__in=NPL_CLASSES)
        .values("loan_id")
        .annotate(first=Min("business_day"))
        .values_list("loan_id", "first")
    )
    rows = []
    for r in loans:
        dates = [r["defaulted_on"], r["written_off_on"], first_npl.get(r["pk"])]
        if r["classification"] in NPL_CLASSES:
            dates.append(r["classification_since"] or r["first_disbursed_on"])
        if r["status"] in BAD_STATUSES:  # defaulted or written off without a date: known bad, from its start
            dates.append(r["first_disbursed_on"])
        known = [d for d in dates if d is not None]
        rows.append(
            {
                "enterprise_id": r["borrower_id"],
                "started": r["first_disbursed_on"],
                "bad_since": min(known) if known else None,
            }
        )
    return _frame(rows, {"enterprise_id": pl.Int64, "started": pl.Date, "bad_since": pl.Date})


def _features_chunk(requests: pl.DataFrame) -> pl.DataFrame:
    """Features of the requests (`_row`, `enterprise_id`, `as_of`) of one chunk of enterprises."""
    ids = requests.get_column("enterprise_id").unique().to_list()
    first, last = requests.get_column("as_of").min(), requests.get_column("as_of").max()
    assert isinstance(first, datetime.date) and isinstance(last, datetime.date)
    keys = requests.lazy().select("_row", "enterprise_id", "as_of")
    day = pl.col("as_of")

    patents = (
        keys.join(_patents(ids).lazy(), on="enterprise_id", how="inner")
        .filter(
            (pl.col("granted").is_null() | (pl.col("granted") <= day))
            & (pl.col("ends").is_null() | (pl.col("ends") >= day))
        )
        .group_by("_row")
        .agg(pl.len().cast(pl.Int64).alias("invention_patents"))
    )
    rank = {grade: i for i, grade in enumerate(GRADE_ORDER)}
    grades = (
        keys.join(_valuations(ids, first, last).lazy(), on="enterprise_id", how="inner")
        .filter((pl.col("valued_on") <= day) & (pl.col("valid_until") >= day))
        .sort("version")
        .group_by("_row", "subject")
        .agg(pl.col("grade").last())
        .with_columns(pl.col("grade").replace_strict(rank, default=len(rank), return_dtype=pl.Int64).alias("_rank"))
        .group_by("_row")
        .agg(pl.col("grade").sort_by("_rank").first().alias("valuation_grade"))
    )
    innovation = (
        keys.join(_innovation(ids, last).lazy(), on="enterprise_id", how="inner")
        .filter(pl.col("computed_on") <= day)
        .group_by("_row")
        .agg(pl.col("score").sort_by(["computed_on", "pk"]).last().alias("innovation_score"))
    )
    loans = (
        keys.join(_loans(ids, last).lazy(), on="enterprise_id", how="inner")
        .filter(pl.col("started") < day)
        .group_by("_row")
        .agg(
            pl.len().cast(pl.Int64).alias("prior_loans"),
            (pl.col("bad_since") < day).fill_null(False).sum().cast(pl.Int64).alias("prior_bad_loans"),
        )
    )
    age = ((day - pl.col("established_on")).dt.total_days() / DAYS_PER_YEAR).clip(lower_bound=0.0)
    turnover = pl.when(pl.col("assets_yuan") > 0).then(pl.col("revenue_yuan") / pl.col("assets_yuan")).otherwise(None)
    return (
        keys.join(_enterprises(ids).lazy(), on="enterprise_id", how="left", maintain_order="left")
        .join(grades, on="_row", how="left", maintain_order="left")
        .join(patents, on="_row", how="left", maintain_order="left")
        .join(innovation, on="_row", how="left", maintain_order="left")
        .join(loans, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.col("invention_patents").fill_null(0),
            pl.col("prior_loans").fill_null(0),
            pl.col("prior_bad_loans").fill_null(0),
            age.cast(pl.Float64).alias("age_years"),
            turnover.cast(pl.Float64).alias("asset_turnover"),
        )
        .select("_row", "as_of", *[pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items()])
        .collect()
    )


def build_features_at(requests: Sequence[tuple[int, datetime.date]]) -> pl.DataFrame:
    """Features (`FEATURE_SCHEMA` plus `as_of`) of each (enterprise id, date) request, one row each, in order."""
    frame = pl.DataFrame(
        {"enterprise_id": [int(e) for e, _ in requests], "as_of": [d for _, d in requests]},
        schema={"enterprise_id": pl.Int64, "as_of": pl.Date},
    ).with_row_index("_row")
    if frame.is_empty():
        return pl.DataFrame(schema={**FEATURE_SCHEMA, "as_of": pl.Date})
    ids = frame.get_column("enterprise_id").unique().sort().to_list()
    parts = []
    for chunk in _chunks(ids):
        part = frame.filter(pl.col("enterprise_id").is_in(pl.Series(chunk, dtype=pl.Int64).implode()))
        parts.append(_features_chunk(part))
    return pl.concat(parts).sort("_row").select(*FEATURE_SCHEMA, "as_of")


def build_features(enterprise_ids: Sequence[int], as_of: datetime.date) -> pl.DataFrame:
    """Features (`FEATURE_SCHEMA`) of the enterprises as of one date, one row per id, in the order given."""
    return build_features_at([(int(e), as_of) for e in enterprise_ids]).drop("as_of")


def load_records(enterprise_ids: Sequence[int], as_of: datetime.date) -> pl.DataFrame:
    """Matched credit records (`RECORD_SCHEMA`) of the enterprises listed on or before `as_of`."""
    ids = sorted({int(e) for e in enterprise_ids})
    matched = sorted(str(s) for s in MATCHED_STATUSES)
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(ids):
        rows += CreditRecord.objects.filter(
            enterprise_id__in=chunk, match_status__in=matched, listed_on__lte=as_of
        ).values("enterprise_id", "kind", "listed_on", "removed_on", "expires_on", "tax_rating", "rating_year")
    return _frame(rows, RECORD_SCHEMA)
