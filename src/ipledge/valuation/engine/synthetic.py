"""Synthetic patents in the engine's input schema, for the benchmark and for tests that need volume.

Vectorised with numpy (one draw per column, never a Python loop per row), so a million rows take about a second.
One latent quality per patent drives its citations, claims, family, licences, transfers, implementation and
survival together, so the generated values are skewed the way real ones are: most patents weak, a few strong
(valuation.md §0.4, §0.5). The mixes below are rounded from public statistics where the comment says so and are
platform assumptions otherwise; the generator is for measuring speed and exercising code paths, never for calibrating
the valuation.

Pure: no Django imports.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from .tree import RIGHT_INPUT_SCHEMA

DEFAULT_SEED = 20261205
SYNTHETIC_AS_OF = datetime.date(2026, 12, 5)
FIRST_FILING_YEAR = 2005
LAST_FILING_YEAR = 2025

# CNIPA grants 2023 were roughly 0.92 m invention, 2.09 m utility model and 0.64 m design patents; pledged and
# registered portfolios lean towards inventions, hence more of them here than among grants.
PATENT_TYPE_MIX: Mapping[str, float] = {
    "invention": 0.33,
    "pct_invention": 0.02,
    "utility_model": 0.47,
    "design": 0.18,
}
# Chinese filings lean to electricity (H), physics (G) and performing operations (B).
IPC_SECTION_MIX: Mapping[str, float] = {
    "A": 0.12,
    "B": 0.18,
    "C": 0.08,
    "D": 0.01,
    "E": 0.05,
    "F": 0.10,
    "G": 0.25,
    "H": 0.21,
}
# Holders' GB/T 4754 sections: manufacturing dominates patent holding; "" is an unknown section.
INDUSTRY_MIX: Mapping[str, float] = {
    "C": 0.55,
    "I": 0.12,
    "M": 0.12,
    "F": 0.04,
    "G": 0.05,
    "D": 0.02,
    "E": 0.02,
    "A": 0.02,
    "B": 0.01,
    "N": 0.02,
    "L": 0.01,
    "Q": 0.01,
    "": 0.01,
}
TERMS = {"invention": 20.0, "utility_model": 10.0, "design": 15.0}
STATUSES: tuple[str, ...] = ("valid", "pending", "lapsed", "expired", "invalidated", "abandoned")


def _choice(rng: np.random.Generator, mix: Mapping[str, float], n: int) -> tuple[list[str], np.ndarray]:
    labels = list(mix)
    weights = np.array([mix[k] for k in labels], dtype=np.float64)
    return labels, rng.choice(len(labels), size=n, p=weights / weights.sum())


def _strings(labels: Sequence[str], index: np.ndarray) -> pl.Series:
    # Gathering from a small dictionary is far cheaper than building a million Python strings.
    return pl.Series(labels, dtype=pl.String).gather(index)


def _with_nulls(values: np.ndarray, null_mask: np.ndarray, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    series = pl.Series(values).cast(dtype)
    return series.scatter(np.flatnonzero(null_mask), None) if null_mask.any() else series


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def synthetic_rights(n: int, *, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    """`n` realistic patents (kind `patent`) in `RIGHT_INPUT_SCHEMA`, ids 1…n, reproducible for a seed."""
    if n < 0:
        raise ValueError("n must be non-negative")
    rng = np.random.default_rng(seed)
    quality = rng.standard_normal(n)

    type_labels, type_idx = _choice(rng, PATENT_TYPE_MIX, n)
    invention = np.isin(type_idx, [type_labels.index("invention"), type_labels.index("pct_invention")])
    design = type_idx == type_labels.index("design")
    term = np.select([invention, design], [TERMS["invention"], TERMS["design"]], TERMS["utility_model"])

    # Chinese filings grew by more than 10 % a year over the period, so most rights on a register are recent.
    years = np.arange(FIRST_FILING_YEAR, LAST_FILING_YEAR + 1)
    year_weights = np.exp(0.12 * (years - FIRST_FILING_YEAR))
    filing_year = rng.choice(years, size=n, p=year_weights / year_weights.sum())
    filing_fraction = rng.random(n)  # day within the year
    as_of = SYNTHETIC_AS_OF.year + (SYNTHETIC_AS_OF.timetuple().tm_yday - 1) / 365.25
    age = np.maximum(as_of - (filing_year + filing_fraction), 0.01)

    # Inventions wait about two years for substantive examination; utility models and designs months.
    lag_mean = np.where(invention, 2.3, 0.7)
    grant_lag = rng.gamma(shape=6.0, scale=lag_mean / 6.0)
    granted = age >= grant_lag

    # Survival: weak patents are dropped earlier, so lapse odds fall with quality and rise with age.
    lapse_odds = -2.5 - 0.8 * quality + 0.10 * (age - 6.0) - 0.4 * invention
    lapsed = granted & (rng.random(n) < _sigmoid(lapse_odds))
    expired = age >= term
    status = np.full(n, STATUSES.index("valid"), dtype=np.int64)
    status[~granted] = STATUSES.index("pending")
    status[lapsed] = STATUSES.index("lapsed")
    status[expired] = STATUSES.index("expired")
    rare = rng.random(n)
    status[granted & ~expired & (rare < 0.002 * np.exp(0.5 * quality))] = STATUSES.index("invalidated")
    status[~granted & (rare > 0.995)] = STATUSES.index("abandoned")
    valid = status == STATUSES.index("valid")

    # A valid patent whose fee is due and unpaid is in its grace period: valid on the register, still a gate.
    fee_paid_values = valid & (rng.random(n) >= 0.03)
    fee_unknown = ~(valid | (status == STATUSES.index("lapsed"))) | (valid & (rng.random(n) < 0.02))
    in_force = valid | (status == STATUSES.index("pending"))
    remaining = np.where(in_force, np.maximum(term - age, 0.0), 0.0)

    def unknown(share: float) -> np.ndarray:
        return rng.random(n) < share

    claims = np.where(invention, 8.0, 6.0) * np.exp(0.3 * quality + 0.35 * rng.standard_normal(n))
    claims_count = np.maximum(1, np.rint(claims)).astype(np.int64)
    citation_rate = np.exp(-0.8 + 0.9 * quality) * np.minimum(age, 10.0) / 5.0 * np.where(design, 0.3, 1.0)
    forward = rng.poisson(citation_rate)
    backward = rng.poisson(np.exp(np.where(invention, 1.6, 1.0) + 0.2 * quality))
    family = 1 + rng.poisson(np.where(invention, 1.0, 0.15) * np.exp(-1.0 + 0.8 * quality))
    ipc_count = 1 + rng.poisson(np.exp(0.1 + 0.3 * quality))

    # Research note §1.4: about 6 % of valid Chinese patents are licensed and 4 % transferred.
    licences = rng.poisson(0.045 * np.exp(0.8 * quality))
    transfers = rng.poisson(0.03 * np.exp(0.5 * quality) * (1 + np.minimum(age, 10.0) / 10.0))
    implemented = rng.random(n) < _sigmoid(-0.3 + 0.9 * quality + 1.5 * (licences > 0))

    owners = 1 + (rng.random(n) < 0.08).astype(np.int64) + (rng.random(n) < 0.02).astype(np.int64)
    flags = rng.random((4, n))
    revenue = np.exp(rng.normal(np.log(2e9), 1.6, n) + 0.3 * quality)  # fen; median about ¥20 million
    portfolio = 1 + np.floor(np.exp(rng.normal(np.log(8), 1.3, n))).astype(np.int64)
    industry_labels, industry_idx = _choice(rng, INDUSTRY_MIX, n)
    section_labels, section_idx = _choice(rng, IPC_SECTION_MIX, n)
    section_labels = [*section_labels, ""]
    section_idx = np.where(design, len(section_labels) - 1, section_idx)  # designs are Locarno-classified, not IPC

    frame = pl.DataFrame(
        {
            "right_id": pl.Series(np.arange(1, n + 1, dtype=np.int64)),
            "kind": pl.Series(["patent"], dtype=pl.String).gather(np.zeros(n, dtype=np.int64)),
            "patent_type": _strings(type_labels, type_idx),
            "ipc_section": _strings(section_labels, section_idx),
            "filing_year": pl.Series(filing_year.astype(np.int32)),
            "legal_status": _strings(STATUSES, status),
            "remaining_years": _with_nulls(np.round(remaining, 4), unknown(0.005), pl.Float64),
            "age_years": pl.Series(np.round(age, 4)),
            "fee_paid": _with_nulls(fee_paid_values, fee_unknown, pl.Boolean),
            "claims_count": _with_nulls(claims_count, design | unknown(0.02), pl.Int64),
            "forward_citations": _with_nulls(forward, unknown(0.03), pl.Int64),
            "backward_citations": _with_nulls(backward, design | unknown(0.03), pl.Int64),
            "family_size": _with_nulls(family, unknown(0.05), pl.Int64),
            "ipc_count": _with_nulls(ipc_count, design | unknown(0.10), pl.Int64),
            "grant_lag_years": _with_nulls(np.round(grant_lag, 3), ~granted, pl.Float64),
            "owner_count": pl.Series(owners),
            "own_share": pl.Series(1.0 / owners),
            "suspended": pl.Series(flags[0] < 0.003),
            "preserved": pl.Series(flags[1] < 0.002),
            "invalidation_pending": pl.Series(flags[2] < 0.005 * np.exp(0.5 * quality)),
            "already_pledged": pl.Series(flags[3] < 0.03),
            "invalidation_requests": pl.Series(rng.poisson(0.02 * np.exp(0.5 * quality))),
            "litigation_count": _with_nulls(rng.poisson(0.01 * np.exp(0.7 * quality)), unknown(0.5), pl.Int64),
            "licence_count": pl.Series(licences),
            "transfer_count": pl.Series(transfers),
            "implemented": _with_nulls(implemented, unknown(0.6), pl.Boolean),
            "owner_revenue_fen": _with_nulls(np.minimum(revenue, 1e14).astype(np.int64), unknown(0.10), pl.Int64),
            "owner_portfolio_size": pl.Series(portfolio),
            "industry_section": _strings(industry_labels, industry_idx),
            "nice_class_count": pl.Series([None], dtype=pl.Int64).gather(np.zeros(n, dtype=np.int64)),
            "renewal_count": pl.Series([None], dtype=pl.Int64).gather(np.zeros(n, dtype=np.int64)),
            "work_kind": pl.Series([""], dtype=pl.String).gather(np.zeros(n, dtype=np.int64)),
        }
    )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in RIGHT_INPUT_SCHEMA.items())


# Median prices of recorded transfers and licences, in fen; platform assumptions of the same order as the
# replacement costs in data/assumptions.json, not observed medians.
COMPARABLE_MEDIAN_PRICE_FEN: Mapping[str, float] = {
    "invention": 2e7,
    "utility_model": 3e6,
    "design": 1.5e6,
    "trademark": 2e6,
}
COMPARABLE_TYPE_MIX: Mapping[str, float] = {"invention": 0.45, "utility_model": 0.35, "design": 0.10, "trademark": 0.10}


def synthetic_comparables(m: int, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    """`m` comparable transactions (`approaches.COMPARABLE_COLUMNS`: kind, patent_type, ipc_section, price_fen,
    score), prices log-normal around a per-type median and rising with the right's score."""
    if m < 0:
        raise ValueError("m must be non-negative")
    rng = np.random.default_rng(seed)
    type_labels, type_idx = _choice(rng, COMPARABLE_TYPE_MIX, m)
    trademark = type_idx == type_labels.index("trademark")
    design = type_idx == type_labels.index("design")
    section_labels, section_idx = _choice(rng, IPC_SECTION_MIX, m)
    section_labels = [*section_labels, ""]
    section_idx = np.where(trademark | design, len(section_labels) - 1, section_idx)
    score = np.clip(rng.normal(45.0, 15.0, m), 0.0, 100.0)
    median = np.array([COMPARABLE_MEDIAN_PRICE_FEN[t] for t in type_labels])[type_idx]
    price = median * np.exp(0.02 * (score - 45.0) + rng.normal(0.0, 1.0, m))
    kind_labels = ["patent", "trademark"]
    patent_type_labels = ["" if t == "trademark" else t for t in type_labels]
    return pl.DataFrame(
        {
            "kind": _strings(kind_labels, trademark.astype(np.int64)),
            "patent_type": _strings(patent_type_labels, type_idx),
            "ipc_section": _strings(section_labels, section_idx),
            "price_fen": pl.Series(np.rint(price).astype(np.int64)),
            "score": pl.Series(np.round(score, 2)),
        }
    )
