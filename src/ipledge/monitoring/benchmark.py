"""The monitoring benchmark (`ipledge bench monitoring --loans 300000 --enterprises 500000 [--seed N] [--output FILE]`):
the two Polars engines of the monitoring app (the anomaly rules, the 百园万企 targets) at the architecture's national
scale, against a row-by-row twin of six rules, side by side in one run.

What is timed
-------------
`synthetic_frames` builds the frames the loaders of `monitoring.anomalies` and `monitoring.targets` would read, in
memory (deterministic for a seed; *not* read from the database and not timed: `generate_seconds`): 31 provinces,
400 parks, 200 banks (plus 50 valuers), 500,000 enterprises, 300,000 loans and as many pledge registrations (loan i
is secured by registration i), 1–3 rights under each pledge, their owners, filing items, collateral, valuations,
licences, transfer records, compensation claims, park memberships and financing demands.

- `seconds_rules`: `engine.anomalies.run_rules` over every rule (cold: the first run in this process).
- `seconds_targets`: `engine.targets.target_figures` for one year (`TARGET_YEAR`: park attribution, T1 per park and
  province, T2, T4).
- Baseline: the six rules duplicate pledge, term overrun, loan before registration, classification inconsistency,
  round numbers and contract reuse written the obvious way, one row at a time in plain Python (`twin_*`), on the
  frames of a contiguous block of `baseline_loans` (20,000) loans and what they reference (registrations, rights,
  collateral), the rows already as dicts (converting is not timed). `baseline_seconds_per_row` is the twin's time
  per loan; `engine_seconds_per_row` is `run_rules` on the same six rules over all loans, per loan; `ratio` =
  baseline ÷ engine per row. `agree`: on the sample, the engine's subjects per rule equal the twin's.

Synthetic mixes
---------------
Amounts are log-uniform over two decades (¥100,000–¥10 m: first digits follow Benford), loans run 1–3 years from
0–20 days after registration; a loan past maturity is closed and its registration cancelled; 2 % default. Planted,
per `plants` (a thousandth of the loans, 300 at national scale) of each pattern: duplicate pledges (a right in the
collateral of a nearby live loan of another bank), rights expiring before the debt, lapsed / preserved / fee-unpaid
rights, pledgors not owning the right or co-owned rights without consent, loans far above the pledge rate, appraisals
far above their peers (10 valuers with most of theirs outliers), registrations with no disbursement, loans disbursed
before registration, overdue loans classified performing, reused contract numbers, new staffless borrowers of large
loans, claims pledged after NPL / pooled late / recoveries not returned, licences and transfers during the pledge
without consent; per park or bank group: December spikes (20 park-years), round amounts (8 banks, 8 parks), amounts
bunched on a first digit of 4 (5 banks, 5 parks).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from .engine import anomalies as engine
from .engine import targets as targets_engine

DEFAULT_LOANS = 300_000
DEFAULT_ENTERPRISES = 500_000
DEFAULT_PARKS = 400
DEFAULT_BANKS = 200
DEFAULT_BASELINE_LOANS = 20_000
DEFAULT_SEED = 20261206
AS_OF = datetime.date(2026, 11, 30)
TARGET_YEAR = 2025
VALUERS = 40
SHADY_VALUERS = 10
EPOCH = datetime.date(1970, 1, 1)
PROVINCES = tuple(str(p) for p in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45))
PROVINCES += tuple(str(p) for p in (46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65))  # 31 provinces
TWIN_RULES = (
    "duplicate_pledge",
    "term_overrun",
    "loan_before_registration",
    "classification_inconsistent",
    "round_numbers",
    "contract_reuse",
)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _day(date: datetime.date) -> int:
    return (date - EPOCH).days


def _date(days: np.ndarray[Any, Any], null: np.ndarray[Any, Any] | None = None) -> pl.Series:
    series = pl.Series(np.asarray(days).astype(np.int32)).cast(pl.Date)
    if null is None:
        return series
    return pl.select(pl.when(pl.lit(pl.Series(null))).then(None).otherwise(pl.lit(series))).to_series()


def _labels(prefix: str, ids: np.ndarray[Any, Any], width: int = 8) -> pl.Series:
    return pl.select(pl.concat_str(pl.lit(prefix), pl.lit(pl.Series(ids)).cast(pl.Utf8).str.zfill(width))).to_series()


def _attribute(pledgor: np.ndarray[Any, Any], registered: np.ndarray[Any, Any], members: pl.DataFrame) -> pl.Series:
    """The park each registration's pledgor belonged to on the registration date (lowest id), as the loader does."""
    regs = pl.DataFrame({"i": np.arange(len(pledgor)), "pledgor_id": pledgor, "registered_on": _date(registered)})
    parks = (
        regs.join(members.rename({"enterprise_id": "pledgor_id"}), on="pledgor_id")
        .filter(
            (pl.col("joined_on") <= pl.col("registered_on"))
            & (pl.col("left_on").is_null() | (pl.col("left_on") > pl.col("registered_on")))
        )
        .group_by("i")
        .agg(pl.col("park_id").min())
    )
    return regs.join(parks, on="i", how="left").sort("i").get_column("park_id")


def synthetic_frames(
    *,
    loans: int = DEFAULT_LOANS,
    enterprises: int = DEFAULT_ENTERPRISES,
    parks: int = DEFAULT_PARKS,
    banks: int = DEFAULT_BANKS,
    seed: int = DEFAULT_SEED,
) -> tuple[engine.ScanFrames, targets_engine.TargetFrames, dict[str, int]]:
    """The anomaly and target frames (schemas of the loaders), and the counts of what was generated."""
    rng = np.random.default_rng(seed)
    n_loans, n_ent = loans, enterprises
    k = max(5, n_loans // 1000)  # planted rows per loan-level pattern
    as_of = _day(AS_OF)
    n_prov = len(PROVINCES)

    # Parks, enterprises, memberships.
    park_ids = np.arange(1, parks + 1)
    park_prov = rng.integers(0, n_prov, parks)
    park_region = np.array(
        [f"{PROVINCES[p]}{c:02d}00" for p, c in zip(park_prov, rng.integers(1, 5, parks), strict=True)]
    )
    ent_ids = np.arange(1, n_ent + 1)
    member = rng.random(n_ent) < 0.8
    member_park = rng.integers(1, parks + 1, n_ent)
    own_region = np.array([f"{p}{c:02d}00" for p in PROVINCES for c in range(1, 5)])[rng.integers(0, n_prov * 4, n_ent)]
    ent_region = np.where(member, park_region[member_park - 1], own_region)
    joined = np.where(
        rng.random(n_ent) < 0.85,
        _day(datetime.date(2010, 1, 1)) + rng.integers(0, 11 * 365, n_ent),
        _day(datetime.date(2021, 1, 1)) + rng.integers(0, as_of - _day(datetime.date(2021, 1, 1)), n_ent),
    )
    left = joined + rng.integers(365, 2500, n_ent)
    left_null = (rng.random(n_ent) >= 0.05) | (left >= as_of)
    m_idx = np.flatnonzero(member)
    memberships = pl.DataFrame(
        {
            "enterprise_id": ent_ids[m_idx],
            "park_id": member_park[m_idx],
            "joined_on": _date(joined[m_idx]),
            "left_on": _date(left[m_idx], left_null[m_idx]),
        }
    )
    established = _day(datetime.date(2020, 1, 1)) - rng.integers(0, 25 * 365, n_ent)
    employees = np.where(rng.random(n_ent) < 0.03, 0, rng.integers(1, 500, n_ent))
    size_class = np.array(["micro", "small", "medium", "large"])[rng.choice(4, n_ent, p=[0.45, 0.35, 0.15, 0.05])]

    # Registrations (one per loan): pledgor, bank, date; shell borrowers are enterprises with no other pledge.
    n = n_loans
    ids = np.arange(1, n + 1)
    pledgor = rng.integers(1, n_ent + 1, n)
    bank = rng.integers(1, banks + 1, n)
    weights = np.array([1.0, 1.25, 1.56, 1.95, 2.44, 3.05 * 11 / 12])
    years = 2021 + rng.choice(6, n, p=weights / weights.sum())
    year_start = np.array([_day(datetime.date(y, 1, 1)) for y in range(2021, 2028)])
    registered = year_start[years - 2021] + (
        rng.random(n) * (year_start[years - 2020] - year_start[years - 2021])
    ).astype(np.int64)
    registered = np.minimum(registered, as_of - 30)
    perm = rng.permutation(n)
    chunks = iter(np.split(perm[: 14 * k], 14))
    shell = next(chunks)
    unused = np.setdiff1d(ent_ids, pledgor)
    pledgor[shell] = rng.choice(unused, len(shell), replace=False)
    parks_of = _attribute(pledgor, registered, memberships)
    # December spikes: a fifth of the park-years of 2023–2025 with 30+ registrations … 20 of them.
    spike_groups = (
        pl.DataFrame({"park_id": parks_of, "year": years})
        .filter(pl.col("park_id").is_not_null() & pl.col("year").is_between(2023, 2025))
        .group_by("park_id", "year")
        .len()
        .filter(pl.col("len") >= 30)
        .sort("park_id", "year")
    )
    spikes = min(max(1, parks // 20), spike_groups.height)
    chosen = spike_groups.sample(spikes, seed=seed) if spikes else spike_groups.head(0)
    key = pl.DataFrame({"park_id": parks_of, "year": years}).with_row_index("i")
    hit = key.join(chosen.select("park_id", "year"), on=["park_id", "year"]).get_column("i").to_numpy()
    moved = hit[rng.random(len(hit)) < 0.4]
    registered[moved] = np.array(
        [_day(datetime.date(int(y), 12, 1)) for y in years[moved]], dtype=np.int64
    ) + rng.integers(0, 28, len(moved))
    park_of = _attribute(pledgor, registered, memberships).to_numpy()  # float with NaN for none
    park_null = np.isnan(park_of)
    park_int = np.where(park_null, 0, park_of).astype(np.int64)

    # Amounts: log-uniform whole yuan over two decades; round and first-digit-4 groups.
    principal = np.floor(10 ** rng.uniform(5, 7, n)).astype(np.int64)
    round_banks = rng.choice(banks, min(8, banks // 4), replace=False) + 1
    round_parks = rng.choice(parks, min(8, parks // 4), replace=False) + 1
    in_round = np.isin(bank, round_banks) | (~park_null & np.isin(park_int, round_parks))
    make_round = in_round & (rng.random(n) < 0.6)
    principal[make_round] = rng.integers(1, 10, int(make_round.sum())) * 1_000_000
    others_b = np.setdiff1d(np.arange(1, banks + 1), round_banks)
    others_p = np.setdiff1d(np.arange(1, parks + 1), round_parks)
    four_banks = rng.choice(others_b, min(5, len(others_b) // 4), replace=False)
    four_parks = rng.choice(others_p, min(5, len(others_p) // 4), replace=False)
    in_four = (np.isin(bank, four_banks) | (~park_null & np.isin(park_int, four_parks))) & ~make_round
    make_four = in_four & (rng.random(n) < 0.5)
    principal[make_four] = np.floor(
        rng.uniform(4.0, 4.99, int(make_four.sum())) * 10 ** rng.integers(5, 7, int(make_four.sum()))
    ).astype(np.int64)

    # Loans.
    disbursed = registered + rng.integers(0, 21, n)
    maturity = disbursed + rng.choice([365, 730, 1095], n)
    defaulted = (rng.random(n) < 0.02) & (disbursed < as_of - 180)
    status = np.where(defaulted, 350, np.where(maturity < as_of, 600, 300))
    dpd = np.where(defaulted, rng.integers(91, 721, n), 0)
    late = (status == 300) & (rng.random(n) < 0.1)
    dpd = np.where(late, rng.integers(1, 90, n), dpd)
    classes = np.array(["substandard", "doubtful", "loss"])[rng.integers(0, 3, n)]
    classification = np.where(defaulted, classes, np.where(late, "special_mention", "normal"))
    disbursed_null = np.zeros(n, dtype=bool)
    # Planted on disjoint loans (live, older than 120 days).
    live = np.flatnonzero((status == 300) & (registered < as_of - 120) & ~np.isin(np.arange(n), shell))
    pool = iter(np.split(rng.permutation(live)[: 12 * k], 12))
    plant = {
        name: next(pool)
        for name in (
            "no_loan", "early", "classification", "term", "zombie", "owner", "ltv", "valuation", "transfer", "contract",
            "filing", "spare",
        )
    }  # fmt: skip
    status[plant["no_loan"]] = 200
    disbursed_null[plant["no_loan"]] = True
    disbursed[plant["early"]] = registered[plant["early"]] - rng.integers(1, 31, k)
    dpd[plant["classification"]] = rng.integers(91, 401, k)
    classification[plant["classification"]] = np.where(rng.random(k) < 0.5, "normal", "special_mention")
    shell_big = principal[shell] < 1_000_000
    principal[shell[shell_big]] = rng.integers(1_000_000, 5_000_000, int(shell_big.sum()))
    established[pledgor[shell] - 1] = disbursed[shell] - rng.integers(30, 300, len(shell))
    employees[pledgor[shell] - 1] = 0
    reg_active = np.isin(status, (200, 300, 350))
    cancelled = np.where(reg_active, 0, maturity)
    loan_contract = _labels("JK", ids).to_numpy().astype(object)
    partners = np.minimum(plant["contract"] + rng.integers(1, 30, k), n - 1)
    loan_contract[plant["contract"]] = loan_contract[partners]
    filing_contract = _labels("ZY", ids).to_numpy().astype(object)
    fpartners = np.minimum(plant["filing"] + rng.integers(1, 30, k), n - 1)
    filing_contract[plant["filing"][: k // 3]] = filing_contract[fpartners[: k // 3]]

    ent_frame = pl.DataFrame({"enterprise_id": ent_ids}).with_columns(
        name=pl.concat_str(pl.lit("企业"), pl.col("enterprise_id").cast(pl.Utf8)),
        established_on=_date(established),
        employees=employees,
        region_code=pl.Series(ent_region),
    )
    regions = ent_region[pledgor - 1]
    park_series = pl.select(
        pl.when(pl.lit(pl.Series(park_null))).then(None).otherwise(pl.lit(pl.Series(park_int))).alias("park_id")
    ).to_series()
    registrations = pl.DataFrame(
        {
            "registration_id": ids,
            "registration_no": _labels("ZL", ids),
            "filing_id": ids,
            "pledgor_id": pledgor,
            "pledgee_id": bank,
            "registered_on": _date(registered),
            "claim_amount_fen": principal * 100,
            "performance_end": _date(maturity),
            "status": np.where(reg_active, "active", "cancelled"),
            "cancelled_on": _date(cancelled, reg_active),
            "region_code": regions,
            "park_id": park_series,
            "contract_no": pl.Series(filing_contract.astype(str)),
        }
    )
    loan_frame = pl.DataFrame(
        {
            "loan_id": ids,
            "reference": _labels("DK", ids),
            "borrower_id": pledgor,
            "bank_id": bank,
            "park_id": park_series,
            "region_code": regions,
            "status": status,
            "principal_fen": principal * 100,
            "first_disbursed_on": _date(disbursed, disbursed_null),
            "maturity_date": _date(maturity),
            "pledge_registration_id": ids,
            "contract_no": pl.Series(loan_contract.astype(str)),
            "classification": classification,
            "days_past_due": dpd,
        }
    )

    # Rights under each pledge (1–3), owners, filing items, collateral, valuations.
    per = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    right_reg = np.repeat(np.arange(n), per)  # 0-based registration index of each right
    first_right = np.concatenate([[0], np.cumsum(per)[:-1]])  # index of each registration's first right
    n_rights = len(right_reg)
    right_ids = np.arange(1, n_rights + 1)
    kind = np.where(rng.random(n_rights) < 0.85, "patent", "trademark")
    patent_type = np.where(
        kind == "patent",
        np.array(["invention", "utility_model", "design"])[rng.choice(3, n_rights, p=[0.5, 0.4, 0.1])],
        "",
    )
    term_end = registered[right_reg] + rng.integers(5 * 365, 18 * 365, n_rights)
    fee_until = as_of + rng.integers(0, 366, n_rights)
    fee_null = kind != "patent"
    legal = np.full(n_rights, "valid", dtype=object)
    preserved = np.zeros(n_rights, dtype=bool)
    invalidation = np.zeros(n_rights, dtype=bool)
    term_rights = first_right[plant["term"]]
    term_end[term_rights] = maturity[plant["term"]] - rng.integers(1, 301, k)
    z = first_right[plant["zombie"]]
    third = k // 3
    legal[z[:third]] = np.array(["lapsed", "invalidated", "expired"])[rng.integers(0, 3, third)]
    preserved[z[third : 2 * third : 2]] = True
    invalidation[z[third + 1 : 2 * third : 2]] = True
    fee_until[z[2 * third :]] = as_of - rng.integers(190, 500, k - 2 * third)
    fee_null[z[2 * third :]] = False
    rights = pl.DataFrame(
        {
            "ip_right_id": right_ids,
            "number": _labels("CN", right_ids, 10),
            "kind": kind,
            "patent_type": patent_type,
            "legal_status": legal.astype(str),
            "term_end": _date(term_end),
            "annual_fee_paid_until": _date(fee_until, fee_null),
            "preserved": preserved,
            "invalidation_pending": invalidation,
        }
    )
    pledged = pl.DataFrame(
        {
            "registration_id": ids[right_reg],
            "ip_right_id": right_ids,
            "is_active": reg_active[right_reg],
            "released_on": _date(cancelled[right_reg], reg_active[right_reg]),
        }
    )
    owner = pledgor[right_reg].copy()
    o = first_right[plant["owner"]]
    owner[o[: k // 2]] = rng.integers(1, n_ent + 1, k // 2)
    co = rng.random(n_rights) < 0.05
    co_owned = np.concatenate([np.flatnonzero(co), o[k // 2 :]])
    consent = np.ones(n_rights, dtype=bool)
    consent[o[k // 2 :]] = False
    owner_ids = np.concatenate([owner, rng.integers(1, n_ent + 1, len(co_owned))])
    owners = pl.DataFrame(
        {"ip_right_id": np.concatenate([right_ids, right_ids[co_owned]]), "enterprise_id": owner_ids}
    ).with_columns(holder_name=pl.concat_str(pl.lit("企业"), pl.col("enterprise_id").cast(pl.Utf8)))
    filing_items = pl.DataFrame({"filing_id": ids[right_reg], "ip_right_id": right_ids, "co_owner_consent": consent})

    rate = np.round(rng.uniform(0.3, 0.6, n), 2)
    total_value = principal / (rate * rng.uniform(0.4, 0.95, n))
    total_value[plant["ltv"]] = principal[plant["ltv"]] / (rate[plant["ltv"]] * rng.uniform(2, 4, k))
    share = rng.uniform(0.5, 1.5, n_rights)
    share /= np.bincount(right_reg, share)[right_reg]
    appraised = np.maximum(np.round(total_value[right_reg] * share), 1).astype(np.int64) * 100
    valuer = rng.integers(1, VALUERS + 1, n_rights)
    outliers = first_right[plant["valuation"]]
    appraised[outliers] = np.floor(10 ** rng.uniform(9.5, 10, k)).astype(np.int64) * 100
    shady = min(SHADY_VALUERS, max(1, k // 30))
    spare = first_right[plant["spare"]][: shady * 20]
    valuer[spare] = VALUERS + 1 + np.arange(len(spare)) % shady
    valuer[outliers[: shady * 8]] = VALUERS + 1 + np.arange(min(len(outliers), shady * 8)) % shady
    valuer_names = np.array([f"评估机构{v:02d}" for v in range(1, VALUERS + shady + 1)])
    loan_of_right = ids[right_reg]
    # Duplicate pledges: a right of a live loan also in the collateral of a nearby live loan of another bank.
    live_now = status == 300
    cand = rng.permutation(np.flatnonzero(live_now))[: 6 * k]
    other = np.minimum(cand + rng.integers(1, 30, len(cand)), n - 1)
    ok = live_now[other] & (bank[other] != bank[cand])
    cand, other = cand[ok][:k], other[ok][:k]
    dup_rights = first_right[cand]
    collateral = pl.DataFrame(
        {
            "loan_id": np.concatenate([loan_of_right, ids[other]]),
            "ip_right_id": np.concatenate([right_ids, right_ids[dup_rights]]),
            "appraised_value_fen": np.concatenate([appraised, appraised[dup_rights]]),
            "valuer_name": np.concatenate([valuer_names[valuer - 1], valuer_names[valuer[dup_rights] - 1]]),
        }
    )
    valuations = pl.DataFrame(
        {
            "ip_right_id": right_ids,
            "p50_fen": (appraised * rng.uniform(0.7, 1.3, n_rights)).astype(np.int64),
            "pledge_rate": rate[right_reg],
            "valuation_date": _date(registered[right_reg] - rng.integers(1, 61, n_rights)),
        }
    )

    # Licences and transfer records: before the pledge, or during it with consent; planted ones during, without.
    lic = rng.permutation(n_rights)[: n_rights // 50]
    lic_on = registered[right_reg[lic]] - rng.integers(1, 700, len(lic))
    lic_consent = rng.random(len(lic)) < 0.5
    t = first_right[plant["transfer"]]
    span = np.maximum(as_of - registered[plant["transfer"]], 2)
    during = registered[plant["transfer"]] + 1 + (rng.random(k) * (span - 1)).astype(np.int64)
    half = k // 2
    lic_all = np.concatenate([lic, t[:half]])
    licences = pl.DataFrame(
        {
            "licence_id": np.arange(1, len(lic_all) + 1),
            "ip_right_id": right_ids[lic_all],
            "record_no": _labels("XK", np.arange(1, len(lic_all) + 1)),
            "licensee_name": "被许可企业",
            "recorded_on": _date(np.concatenate([lic_on, during[:half]])),
            "pledgee_consent": np.concatenate([lic_consent, np.zeros(half, dtype=bool)]),
        }
    )
    tr = rng.permutation(n_rights)[: n_rights // 100]
    tr_on = registered[right_reg[tr]] - rng.integers(1, 700, len(tr))
    legal_events = pl.DataFrame(
        {
            "ip_right_id": right_ids[np.concatenate([tr, t[half:]])],
            "code": "TR01",
            "event_date": _date(np.concatenate([tr_on, during[half:]])),
        }
    )

    # Compensation claims on 70 % of the defaulted loans (and enough of them for the planted patterns).
    bad = np.flatnonzero(defaulted)
    bad = bad[rng.random(len(bad)) < 0.7]
    c = len(bad)
    npl = np.minimum(disbursed[bad] + rng.integers(100, 500, c), as_of - 1)
    enrolled = disbursed[bad] + rng.integers(0, 21, c)
    unreturned = np.zeros(c, dtype=np.int64)
    since = np.zeros(c, dtype=np.int64)
    since_null = np.ones(c, dtype=bool)
    third_c = min(k // 3, c // 3)
    picks = rng.permutation(c)[: 3 * third_c]
    a, b, d = picks[:third_c], picks[third_c : 2 * third_c], picks[2 * third_c :]
    npl[a] = registered[bad[a]] - rng.integers(0, 61, len(a))
    enrolled[b] = disbursed[bad[b]] + 30 + rng.integers(1, 101, len(b))
    unreturned[d] = rng.integers(10_000, 5_000_000, len(d)) * 100
    since[d] = as_of - rng.integers(31, 200, len(d))
    since_null[d] = False
    claim_ids = np.arange(1, c + 1)
    claims = pl.DataFrame(
        {
            "claim_id": claim_ids,
            "reference": _labels("DC", claim_ids),
            "loan_id": ids[bad],
            "npl_on": _date(npl),
            "status": np.array([100, 150, 300, 500, 600])[rng.integers(0, 5, c)],
            "unreturned_fen": unreturned,
            "unreturned_since": _date(since, since_null),
            "enrolled_on": _date(enrolled),
            "enrol_window_days": np.full(c, 30),
        }
    )
    org_ids = np.arange(1, banks + len(valuer_names) + 1)
    organisations = pl.DataFrame(
        {
            "org_id": org_ids,
            "name": [f"银行{i:03d}" for i in range(1, banks + 1)] + valuer_names.tolist(),
            "region_code": [f"{PROVINCES[i % n_prov]}0000" for i in range(len(org_ids))],
        }
    )
    park_frame = pl.DataFrame(
        {"park_id": park_ids, "name": [f"园区{i:03d}" for i in park_ids], "region_code": park_region}
    )
    scan = engine.make_frames(
        registrations=registrations,
        pledged_rights=pledged,
        rights=rights,
        owners=owners,
        filing_items=filing_items,
        licences=licences,
        legal_events=legal_events,
        loans=loan_frame,
        collateral=collateral,
        valuations=valuations,
        enterprises=ent_frame,
        claims=claims,
        organisations=organisations,
        parks=park_frame,
    )
    conformed: dict[str, Any] = {
        name: getattr(scan, name).select(list(schema)).cast(schema) for name, schema in engine.SCHEMAS.items()
    }
    scan = engine.ScanFrames(**conformed)

    # The target frames over the same records.
    province_names = {p: f"省{p}" for p in PROVINCES}
    first_loan = loan_frame.filter(pl.col("first_disbursed_on").is_not_null()).select(
        "loan_id", "borrower_id", "first_disbursed_on"
    )
    firsts = first_loan.group_by("borrower_id").agg(pl.col("first_disbursed_on").min().alias("first_financed_on"))
    financed = firsts.join(
        ent_frame.select("enterprise_id", "region_code").with_columns(pl.Series("size_class", size_class)),
        left_on="borrower_id",
        right_on="enterprise_id",
    ).select(
        pl.col("borrower_id").alias("enterprise_id"),
        "size_class",
        (pl.col("region_code").str.slice(0, 2) + "0000").alias("province_code"),
        "first_financed_on",
    )
    n_demands = max(1, n // 3)
    demand_start = _day(datetime.date(2021, 1, 1))
    targets = targets_engine.TargetFrames.from_rows(
        registrations=pl.DataFrame(
            {
                "registration_id": ids,
                "registered_on": _date(registered),
                "claim_amount_fen": principal * 100,
                "pledgor_id": pledgor,
                "channel": np.where(rng.random(n) < 0.85, "online", "counter"),
                "turnaround_working_days": rng.integers(1, 8, n),
            }
        ),
        memberships=memberships,
        parks=pl.DataFrame(
            {
                "park_id": park_ids,
                "park_name": [f"园区{i:03d}" for i in park_ids],
                "province_code": [f"{PROVINCES[p]}0000" for p in park_prov],
                "province_name": [province_names[PROVINCES[p]] for p in park_prov],
                "is_key_park": rng.random(parks) < 0.25,
            }
        ),
        financed=financed,
        loans=first_loan,
        demands=pl.DataFrame(
            {
                "demand_id": np.arange(1, n_demands + 1),
                "enterprise_id": pledgor[rng.integers(0, n, n_demands)],
                "created_on": _date(demand_start + rng.integers(0, as_of - demand_start, n_demands)),
            }
        ),
        provinces=pl.DataFrame(
            {"province_code": [f"{p}0000" for p in PROVINCES], "province_name": list(province_names.values())}
        ),
    )
    counts = {
        "provinces": n_prov,
        "parks": parks,
        "banks": banks,
        "enterprises": n_ent,
        "loans": n,
        "registrations": registrations.height,
        "rights": n_rights,
        "collateral": collateral.height,
        "claims": claims.height,
        "memberships": memberships.height,
        "demands": n_demands,
        "planted_per_pattern": k,
    }
    return scan, targets, counts


def sample_frames(f: engine.ScanFrames, first_loan: int, loans: int) -> engine.ScanFrames:
    """The frames of a contiguous block of loan ids and of what those loans reference."""
    loan_frame = f.loans.filter(pl.col("loan_id").is_between(first_loan, first_loan + loans - 1))
    regs = f.registrations.filter(
        pl.col("registration_id").is_in(loan_frame.get_column("pledge_registration_id").drop_nulls().implode())
    )
    pledged = f.pledged_rights.filter(pl.col("registration_id").is_in(regs.get_column("registration_id").implode()))
    collateral = f.collateral.filter(pl.col("loan_id").is_in(loan_frame.get_column("loan_id").implode()))
    right_ids = pl.concat([pledged.get_column("ip_right_id"), collateral.get_column("ip_right_id")]).unique().implode()
    in_rights = pl.col("ip_right_id").is_in(right_ids)
    people = pl.concat([loan_frame.get_column("borrower_id"), regs.get_column("pledgor_id")]).unique().implode()
    return engine.ScanFrames(
        registrations=regs,
        pledged_rights=pledged,
        rights=f.rights.filter(in_rights),
        owners=f.owners.filter(in_rights),
        filing_items=f.filing_items.filter(pl.col("filing_id").is_in(regs.get_column("filing_id").implode())),
        licences=f.licences.filter(in_rights),
        legal_events=f.legal_events.filter(in_rights),
        loans=loan_frame,
        collateral=collateral,
        valuations=f.valuations.filter(in_rights),
        enterprises=f.enterprises.filter(pl.col("enterprise_id").is_in(people)),
        claims=f.claims.filter(pl.col("loan_id").is_in(loan_frame.get_column("loan_id").implode())),
        organisations=f.organisations,
        parks=f.parks,
    )


# ------------------------------------------------------------------------------------- the row-by-row twin (baseline)

Rows = dict[str, list[dict[str, Any]]]


def twin_duplicate_pledge(rows: Rows) -> set[tuple[str, str]]:
    live = {loan["loan_id"]: loan["bank_id"] for loan in rows["loans"] if loan["status"] in engine.LIVE_LOAN_STATUSES}
    banks: dict[int, set[int]] = defaultdict(set)
    for coll in rows["collateral"]:
        if coll["loan_id"] in live:
            banks[coll["ip_right_id"]].add(live[coll["loan_id"]])
    return {("registry.IPRight", str(right)) for right, seen in banks.items() if len(seen) >= 2}


def twin_term_overrun(rows: Rows) -> set[tuple[str, str]]:
    maturity: dict[int, datetime.date] = {}
    for loan in rows["loans"]:
        reg, due = loan["pledge_registration_id"], loan["maturity_date"]
        if reg is not None and due is not None and (reg not in maturity or due > maturity[reg]):
            maturity[reg] = due
    regs = {r["registration_id"]: r for r in rows["registrations"] if r["status"] == "active"}
    rights = {r["ip_right_id"]: r for r in rows["rights"]}
    found = set()
    for pledge in rows["pledged_rights"]:
        reg = regs.get(pledge["registration_id"])
        if reg is None or not pledge["is_active"]:
            continue
        term_end = (rights.get(pledge["ip_right_id"]) or {}).get("term_end")
        ends = [d for d in (reg["performance_end"], maturity.get(reg["registration_id"])) if d is not None]
        if term_end is not None and ends and term_end < max(ends):
            found.add(("registration.PledgeRegistration", f"{reg['registration_id']}:{pledge['ip_right_id']}"))
    return found


def twin_loan_before_registration(rows: Rows) -> set[tuple[str, str]]:
    registered = {r["registration_id"]: r["registered_on"] for r in rows["registrations"]}
    found = set()
    for loan in rows["loans"]:
        on = registered.get(loan["pledge_registration_id"])
        if on is not None and loan["first_disbursed_on"] is not None and loan["first_disbursed_on"] < on:
            found.add(("lending.Loan", str(loan["loan_id"])))
    return found


def twin_classification_inconsistent(rows: Rows) -> set[tuple[str, str]]:
    return {
        ("lending.Loan", str(loan["loan_id"]))
        for loan in rows["loans"]
        if loan["status"] in engine.LIVE_LOAN_STATUSES
        and loan["days_past_due"] is not None
        and loan["days_past_due"] > engine.CLASSIFICATION_DPD_LIMIT
        and loan["classification"] in engine.PERFORMING_CLASSES
    }


def twin_round_numbers(rows: Rows) -> set[tuple[str, str]]:
    groups: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    bank_amounts = bank_round = 0
    for reg in rows["registrations"]:
        amount = reg["claim_amount_fen"]
        if amount is None or amount <= 0:
            continue
        is_round = amount % engine.ROUND_UNIT_FEN == 0
        keys = [("bank", reg["pledgee_id"])] + ([("park", reg["park_id"])] if reg["park_id"] is not None else [])
        for key in keys:
            groups[key][0] += 1
            groups[key][1] += is_round
        bank_amounts += 1
        bank_round += is_round
    if not bank_amounts:
        return set()
    baseline = min(max(engine.ROUND_BASELINE_FLOOR, bank_round / bank_amounts), 0.99)
    found = set()
    for (kind, pk), (amounts, rounds) in groups.items():
        share = rounds / amounts
        z = (share - baseline) / (baseline * (1 - baseline) / amounts) ** 0.5
        if amounts >= engine.ROUND_MIN_AMOUNTS and share - baseline >= engine.ROUND_EXCESS and z >= engine.ROUND_Z:
            found.add((kind, str(pk)))
    return found


def twin_contract_reuse(rows: Rows) -> set[tuple[str, str]]:
    enterprises: dict[str, set[int]] = defaultdict(set)
    for loan in rows["loans"]:
        if loan["contract_no"]:
            enterprises[loan["contract_no"].strip()].add(loan["borrower_id"])
    for reg in rows["registrations"]:
        if reg["contract_no"]:
            enterprises[reg["contract_no"].strip()].add(reg["pledgor_id"])
    return {("contract", no) for no, seen in enterprises.items() if len(seen) >= 2}


TWINS: dict[str, Callable[[Rows], set[tuple[str, str]]]] = {
    "duplicate_pledge": twin_duplicate_pledge,
    "term_overrun": twin_term_overrun,
    "loan_before_registration": twin_loan_before_registration,
    "classification_inconsistent": twin_classification_inconsistent,
    "round_numbers": twin_round_numbers,
    "contract_reuse": twin_contract_reuse,
}


# ------------------------------------------------------------------------------------------------------ the timings


def run_benchmark(
    *,
    loans: int = DEFAULT_LOANS,
    enterprises: int = DEFAULT_ENTERPRISES,
    parks: int = DEFAULT_PARKS,
    banks: int = DEFAULT_BANKS,
    baseline_loans: int = DEFAULT_BASELINE_LOANS,
    seed: int = DEFAULT_SEED,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time both engines and the row-by-row twin; one JSON-ready dict."""
    if min(loans, enterprises, parks, banks, baseline_loans) < 1:
        raise ValueError("loans, enterprises, parks, banks and baseline_loans must be positive")
    if enterprises < loans // 2:
        raise ValueError("enterprises must be at least half the loans (shell borrowers need unused enterprises)")
    say = log or (lambda _msg: None)
    load_average = [round(x, 2) for x in os.getloadavg()]  # shared machines: say how busy this one was
    started = time.perf_counter()
    frames, target_frames, counts = synthetic_frames(
        loans=loans, enterprises=enterprises, parks=parks, banks=banks, seed=seed
    )
    generate_seconds = time.perf_counter() - started
    say(
        f"generated {loans:,} loans, {counts['rights']:,} rights, {enterprises:,} enterprises "
        f"in {generate_seconds:.1f}s"
    )

    started = time.perf_counter()
    drafts = engine.run_rules(frames, as_of=AS_OF)
    seconds_rules = time.perf_counter() - started
    findings = {rule: len(found) for rule, found in drafts.items()}
    say(f"run_rules ({len(drafts)} rules): {seconds_rules:.2f}s, {sum(findings.values()):,} findings")

    started = time.perf_counter()
    figures = targets_engine.target_figures(target_frames, TARGET_YEAR)
    seconds_targets = time.perf_counter() - started
    say(f"target_figures({TARGET_YEAR}): {seconds_targets:.2f}s, {figures.parks_reaching} parks reaching the goal")

    per_rule = {}
    for rule in engine.RULES:  # warm now: each rule alone, for where the time goes
        started = time.perf_counter()
        engine.run_rules(frames, as_of=AS_OF, rules=[rule])
        per_rule[rule] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    engine.run_rules(frames, as_of=AS_OF, rules=list(TWIN_RULES))
    seconds_subset = time.perf_counter() - started
    engine_per_row = seconds_subset / loans

    sample_size = min(baseline_loans, loans)
    first = int(np.random.default_rng(seed + 1).integers(1, loans - sample_size + 2))
    sample = sample_frames(frames, first, sample_size)
    started = time.perf_counter()
    rows = {name: getattr(sample, name).to_dicts() for name in engine.SCHEMAS}
    convert_seconds = time.perf_counter() - started
    started = time.perf_counter()
    slow = {rule: twin(rows) for rule, twin in TWINS.items()}
    baseline_seconds = time.perf_counter() - started
    baseline_per_row = baseline_seconds / sample_size
    started = time.perf_counter()
    fast_drafts = engine.run_rules(sample, as_of=AS_OF, rules=list(TWIN_RULES))
    engine_sample_seconds = time.perf_counter() - started
    fast = {rule: {(d.subject_type, d.subject_id) for d in found} for rule, found in fast_drafts.items()}
    mismatches = {rule: len(fast[rule] ^ slow[rule]) for rule in TWINS if fast[rule] != slow[rule]}
    say(
        f"twin on {sample_size:,} loans: {baseline_seconds:.2f}s ({baseline_per_row * 1e6:.1f} µs/loan); "
        f"engine {engine_per_row * 1e6:.2f} µs/loan at full scale"
    )
    return {
        "benchmark": "monitoring",
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **{key: counts[key] for key in ("provinces", "parks", "banks", "enterprises", "loans", "registrations")},
        "rights": counts["rights"],
        "collateral": counts["collateral"],
        "claims": counts["claims"],
        "memberships": counts["memberships"],
        "demands": counts["demands"],
        "planted_per_pattern": counts["planted_per_pattern"],
        "as_of": AS_OF.isoformat(),
        "rules": len(drafts),
        "seconds_rules": round(seconds_rules, 3),
        "target_year": TARGET_YEAR,
        "seconds_targets": round(seconds_targets, 3),
        "parks_reaching": figures.parks_reaching,
        "new_smes": figures.new_smes,
        "generate_seconds": round(generate_seconds, 3),
        "data": "synthetic frames (synthetic_frames), not read from the database",
        "baseline": "twin_*: six rules one row at a time in plain Python, rows as dicts (to_dicts not timed)",
        "baseline_rules": list(TWIN_RULES),
        "baseline_sample_loans": sample_size,
        "baseline_sample_first_loan": first,
        "baseline_seconds_sample": round(baseline_seconds, 3),
        "baseline_seconds_per_row": round(baseline_per_row, 9),
        "baseline_convert_seconds": round(convert_seconds, 3),
        "engine_seconds_same_rules": round(seconds_subset, 3),
        "engine_seconds_per_row": round(engine_per_row, 9),
        "engine_seconds_sample": round(engine_sample_seconds, 3),
        "baseline_extrapolated_seconds": round(baseline_per_row * loans, 2),
        "ratio": round(baseline_per_row / engine_per_row, 1) if engine_per_row > 0 else None,
        "agree": not mismatches,
        "mismatches": mismatches,
        "sample_findings": {rule: len(found) for rule, found in slow.items()},
        "findings": findings,
        "seconds_per_rule_warm": per_rule,
        "seed": seed,
        "cpus": os.cpu_count(),
        "polars_threads": pl.thread_pool_size(),
        "load_average_before": load_average,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--loans", type=int, default=DEFAULT_LOANS)
    parser.add_argument("--enterprises", type=int, default=DEFAULT_ENTERPRISES)
    parser.add_argument("--baseline-loans", type=int, default=DEFAULT_BASELINE_LOANS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    result = run_benchmark(
        loans=args.loans,
        enterprises=args.enterprises,
        baseline_loans=args.baseline_loans,
        seed=args.seed,
        log=lambda msg: print(f"  {msg}", file=sys.stderr),
    )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    print(f"agree: {'true' if result['agree'] else 'false'}")


if __name__ == "__main__":
    main()
