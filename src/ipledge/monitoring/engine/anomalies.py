"""The anomaly rules (异常监测规则, M6): pure Polars, frames in, finding drafts out.

Each rule reads the frames of `ScanFrames` (registrations 质押登记, loans 贷款, collateral 押品, valuations 评估,
compensation claims 代偿申请 …, one row per record, money in integer fen) and returns `FindingDraft`s: the rule, a
severity, the subject the finding is about (its fingerprint key), the evidence (the records and the figures) and
where it belongs (region, park, enterprise, institution). Nothing here touches the database; `monitoring.anomalies`
loads the frames and persists the drafts.

The rules are `domain.md` §8.2 (1–7, 9, 10) and the data-quality rules on reported figures. §8.2 #8 (disclosure
mismatch 公示信息不一致) needs enterprise publicity data the platform does not hold, so it has no rule.

`digest_basis` of a draft holds only the evidence that would make an official look again: figures that drift by
themselves (days elapsed, today's date) stay out of it, so a dismissed finding is not raised again every morning.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

# ------------------------------------------------------------------------------------------------ the frames' shape

_I, _S, _D, _B, _F = pl.Int64, pl.Utf8, pl.Date, pl.Boolean, pl.Float64

SCHEMAS: dict[str, dict[str, Any]] = {
    "registrations": {
        "registration_id": _I,
        "registration_no": _S,
        "filing_id": _I,
        "pledgor_id": _I,
        "pledgee_id": _I,
        "registered_on": _D,
        "claim_amount_fen": _I,
        "performance_end": _D,
        "status": _S,
        "cancelled_on": _D,
        "region_code": _S,
        "park_id": _I,  # the park the pledgor was a member of on the registration date
        "contract_no": _S,  # the pledge contract number of the filing
    },
    "pledged_rights": {"registration_id": _I, "ip_right_id": _I, "is_active": _B, "released_on": _D},
    "rights": {
        "ip_right_id": _I,
        "number": _S,
        "kind": _S,
        "patent_type": _S,
        "legal_status": _S,
        "term_end": _D,
        "annual_fee_paid_until": _D,
        "preserved": _B,
        "invalidation_pending": _B,
    },
    "owners": {"ip_right_id": _I, "enterprise_id": _I, "holder_name": _S},
    "filing_items": {"filing_id": _I, "ip_right_id": _I, "co_owner_consent": _B},
    "licences": {
        "licence_id": _I,
        "ip_right_id": _I,
        "record_no": _S,
        "licensee_name": _S,
        "recorded_on": _D,
        "pledgee_consent": _B,
    },
    "legal_events": {"ip_right_id": _I, "code": _S, "event_date": _D},
    "loans": {
        "loan_id": _I,
        "reference": _S,
        "borrower_id": _I,
        "bank_id": _I,
        "park_id": _I,
        "region_code": _S,
        "status": _I,
        "principal_fen": _I,
        "first_disbursed_on": _D,
        "maturity_date": _D,
        "pledge_registration_id": _I,
        "contract_no": _S,
        "classification": _S,
        "days_past_due": _I,
    },
    "collateral": {"loan_id": _I, "ip_right_id": _I, "appraised_value_fen": _I, "valuer_name": _S},
    "valuations": {"ip_right_id": _I, "p50_fen": _I, "pledge_rate": _F, "valuation_date": _D},
    "enterprises": {"enterprise_id": _I, "name": _S, "established_on": _D, "employees": _I, "region_code": _S},
    "claims": {
        "claim_id": _I,
        "reference": _S,
        "loan_id": _I,
        "npl_on": _D,
        "status": _I,
        "unreturned_fen": _I,  # true-up payments the bank owes the fund after clearing, instructed and not paid
        "unreturned_since": _D,
        "enrolled_on": _D,  # when the loan joined the fund's pool (入池)
        "enrol_window_days": _I,  # the scheme's window after the first disbursement
    },
    "organisations": {"org_id": _I, "name": _S, "region_code": _S},
    "parks": {"park_id": _I, "name": _S, "region_code": _S},
}


@dataclass(frozen=True)
class ScanFrames:
    registrations: pl.DataFrame
    pledged_rights: pl.DataFrame
    rights: pl.DataFrame
    owners: pl.DataFrame
    filing_items: pl.DataFrame
    licences: pl.DataFrame
    legal_events: pl.DataFrame
    loans: pl.DataFrame
    collateral: pl.DataFrame
    valuations: pl.DataFrame
    enterprises: pl.DataFrame
    claims: pl.DataFrame
    organisations: pl.DataFrame
    parks: pl.DataFrame


def frame(name: str, rows: list[dict[str, Any]] | None = None) -> pl.DataFrame:
    """A frame of the named kind in its schema; missing columns are null."""
    schema = SCHEMAS[name]
    rows = rows or []
    return pl.DataFrame([{col: row.get(col) for col in schema} for row in rows], schema=schema, orient="row")


def make_frames(**frames: pl.DataFrame | list[dict[str, Any]]) -> ScanFrames:
    """`ScanFrames` from frames or row lists, the missing ones empty (tests and small scans)."""
    built: dict[str, pl.DataFrame] = {}
    for name in SCHEMAS:
        given = frames.get(name)
        built[name] = given if isinstance(given, pl.DataFrame) else frame(name, given)
    return ScanFrames(**built)


# ------------------------------------------------------------------------------------------------------ thresholds

# Loan statuses (lending.LoanStatus) of money out and not repaid: disbursed (已放款) and defaulted (已违约).
LIVE_LOAN_STATUSES = (300, 350)
# 2023 金融资产风险分类办法 Art. 13: principal or interest more than 90 days past due is at least substandard (次级).
CLASSIFICATION_DPD_LIMIT = 90
PERFORMING_CLASSES = ("normal", "special_mention")
# Practice pledge rates run 10–60 % of appraised value with no national rule (domain.md §5.1): without a valuation's
# own suggested pledge rate the ceiling of practice is the norm; a loan 1.5× its norm is far above it.
LTV_PRACTICE_CEILING = 0.60
LTV_TOLERANCE = 1.5
# An appraisal far above its peers (same IP kind and patent type, at least 5 of them): a modified z-score of its
# logarithm above 3.5 (Iglewicz & Hoaglin's outlier cut-off; appraisals are log-normal). The platform's own P50 is
# shown beside it but not used: the automated valuation (机评) and a valuer's appraisal differ by design.
VALUATION_MIN_PEERS = 5
VALUATION_MODIFIED_Z = 3.5
# A valuer repeatedly producing outliers (34号 valuer library): at least 2 outliers and a quarter of its appraisals.
OUTLIER_VALUER_MIN_OUTLIERS = 2
OUTLIER_VALUER_MIN_SHARE = 0.25
# Civil Code Art. 444 / the CNIPA vs bank statistics gap: a registered claim with no disbursement 90 days later.
REGISTRATION_WITHOUT_LOAN_DAYS = 90
# §4.3 clearing: the bank returns the fund's share of recoveries; 30 days after instruction it is overdue.
RECOVERY_RETURN_DAYS = 30
# 细则 Art. 86 / Civil Code Art. 444: a transfer record (TR01) during the pledge.
TRANSFER_CODES = ("TR01",)
LAPSED_STATUSES = ("lapsed", "expired", "invalidated", "abandoned", "revoked")
# 专利法实施细则: an unpaid annual fee may be paid with a surcharge within six months; the pledgee is already alerted
# during those months (registration monitoring, FEE_GRACE), so the scan flags a right whose grace has run out while
# it still secures a pledge.
FEE_GRACE_DAYS = 183
# Year-end spike: an even year puts 1/12 ≈ 8 % in December; 30 % (3.6×) over at least 12 registrations is a spike.
YEAR_END_MIN_REGISTRATIONS = 12
YEAR_END_SHARE_MAX = 0.30
# Round numbers: amounts that are multiples of ¥1,000,000 (100万), against the deployment-wide share (at least 10 %):
# flag an institution or park 30 points above it and 3 standard errors out, over at least 20 amounts.
ROUND_UNIT_FEN = 100_000_000
ROUND_MIN_AMOUNTS = 20
ROUND_BASELINE_FLOOR = 0.10
ROUND_EXCESS = 0.30
ROUND_Z = 3.0
# Benford first digit: Nigrini (2012) calls a first-digit MAD above 0.015 nonconforming; 50 amounts at least.
BENFORD_MIN_AMOUNTS = 50
BENFORD_MAD_NONCONFORMITY = 0.015
BENFORD_EXPECTED = [math.log10(1 + 1 / d) for d in range(1, 10)]
# Shell borrower: founded less than a year before the first disbursement, no staff, and a loan of ¥1,000,000 or
# more (a tenth of the ¥10 m inclusive-loan line, domain.md §5.1) — large for a firm with nobody on the payroll.
SHELL_AGE_DAYS = 365
SHELL_LARGE_LOAN_FEN = 100_000_000


# ------------------------------------------------------------------------------------------------------ the output


@dataclass
class FindingDraft:
    rule: str
    severity: str
    subject_type: str
    subject_id: str
    title: str
    summary: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    digest_basis: dict[str, Any] = field(default_factory=dict)
    region_code: str = ""
    park_id: int | None = None
    enterprise_id: int | None = None
    institution_id: int | None = None

    @property
    def fingerprint(self) -> str:
        return _sha(f"{self.rule}|{self.subject_type}|{self.subject_id}")

    @property
    def evidence_digest(self) -> str:
        return _sha(json.dumps(self.digest_basis or self.figures, sort_keys=True, default=str))

    @property
    def evidence(self) -> dict[str, Any]:
        return {"records": self.records, "figures": self.figures}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _rec(kind: str, pk: Any, label: Any) -> dict[str, Any]:
    return {"type": kind, "id": int(pk), "label": str(label)}


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def _names(df: pl.DataFrame, key: str) -> dict[int, str]:
    return {row[key]: row["name"] for row in df.select(key, "name").iter_rows(named=True)}


def _regions(df: pl.DataFrame, key: str) -> dict[int, str]:
    return {row[key]: row["region_code"] or "" for row in df.select(key, "region_code").iter_rows(named=True)}


# ---------------------------------------------------------------------------------------------------------- rules


def _active_pledges(f: ScanFrames) -> pl.DataFrame:
    """Active registrations × their rights under pledge × the rights' registry data."""
    regs = f.registrations.filter(pl.col("status") == "active")
    pledged = f.pledged_rights.filter(pl.col("is_active"))
    return regs.join(pledged, on="registration_id").join(f.rights, on="ip_right_id", how="left")


def _pledge_subject(row: dict[str, Any]) -> tuple[str, str]:
    return "registration.PledgeRegistration", f"{row['registration_id']}:{row['ip_right_id']}"


def _pledge_records(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _rec("registration", row["registration_id"], row["registration_no"]),
        _rec("ip_right", row["ip_right_id"], row["number"]),
    ]


def rule_duplicate_pledge(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """One right securing live loans of two banks (专利 refusal ground 9; 刑法 Art. 193(4))."""
    live = f.loans.filter(pl.col("status").is_in(LIVE_LOAN_STATUSES))
    pairs = f.collateral.join(live, on="loan_id").select(
        "ip_right_id", "loan_id", "reference", "bank_id", "borrower_id"
    )
    # Count first, collect after: only the few rights pledged to two banks have their loans gathered into lists.
    shared = pairs.group_by("ip_right_id").agg(pl.col("bank_id").n_unique().alias("banks")).filter(pl.col("banks") >= 2)
    grouped = (
        pairs.join(shared, on="ip_right_id", how="semi")
        .group_by("ip_right_id")
        .agg(pl.col("bank_id").n_unique().alias("banks"), pl.all())
        .join(f.rights.select("ip_right_id", "number"), on="ip_right_id", how="left")
    )
    banks, regions = _names(f.organisations, "org_id"), _regions(f.enterprises, "enterprise_id")
    drafts = []
    for row in grouped.iter_rows(named=True):
        loans = sorted(zip(row["loan_id"], row["reference"], row["bank_id"], row["borrower_id"], strict=True))
        drafts.append(
            FindingDraft(
                rule="duplicate_pledge",
                severity="high",
                subject_type="registry.IPRight",
                subject_id=str(row["ip_right_id"]),
                title=f"{row['number']} 同时担保 {row['banks']} 家银行的在贷贷款",
                summary="同一知识产权为不同银行的多笔在贷贷款提供质押担保。",
                records=[_rec("ip_right", row["ip_right_id"], row["number"])]
                + [_rec("loan", loan_id, ref) for loan_id, ref, _, _ in loans],
                figures={"banks": [banks.get(b, str(b)) for _, _, b, _ in loans], "loans": len(loans)},
                digest_basis={"loans": [loan_id for loan_id, _, _, _ in loans]},
                region_code=regions.get(loans[0][3], ""),
                enterprise_id=loans[0][3],
            )
        )
    return drafts


def rule_term_overrun(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """The secured debt outlives the pledged right (patent ground 6; copyright rules)."""
    maturity = (
        f.loans.filter(pl.col("pledge_registration_id").is_not_null())
        .group_by("pledge_registration_id")
        .agg(pl.col("maturity_date").max().alias("loan_maturity"))
        .rename({"pledge_registration_id": "registration_id"})
    )
    rows = (
        _active_pledges(f)
        .join(maturity, on="registration_id", how="left")
        .with_columns(pl.max_horizontal("performance_end", "loan_maturity").alias("debt_end"))
        .filter(pl.col("term_end").is_not_null() & (pl.col("term_end") < pl.col("debt_end")))
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        subject_type, subject_id = _pledge_subject(row)
        drafts.append(
            FindingDraft(
                rule="term_overrun",
                severity="high",
                subject_type=subject_type,
                subject_id=subject_id,
                title=f"{row['number']} 有效期止于 {row['term_end']}，早于债务到期 {row['debt_end']}",
                summary="质押担保的债务履行期限晚于出质权利的有效期。",
                records=_pledge_records(row),
                figures={"term_end": str(row["term_end"]), "debt_end": str(row["debt_end"])},
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["pledgor_id"],
                institution_id=row["pledgee_id"],
            )
        )
    return drafts


def rule_zombie_collateral(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A pledged right lapsed, invalidated, under invalidation or preservation, or in the fee grace period
    (patent grounds 2, 4, 5, 11; 细则 Arts. 105, 115)."""
    fee_cutoff = as_of - datetime.timedelta(days=FEE_GRACE_DAYS)
    rows = _active_pledges(f).filter(
        pl.col("legal_status").is_in(LAPSED_STATUSES)
        | pl.col("preserved").fill_null(False)
        | pl.col("invalidation_pending").fill_null(False)
        | (pl.col("annual_fee_paid_until").is_not_null() & (pl.col("annual_fee_paid_until") < fee_cutoff))
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        problems = []
        if row["legal_status"] in LAPSED_STATUSES:
            problems.append(f"legal_status:{row['legal_status']}")
        if row["preserved"]:
            problems.append("preserved")
        if row["invalidation_pending"]:
            problems.append("invalidation_pending")
        if row["annual_fee_paid_until"] is not None and row["annual_fee_paid_until"] < fee_cutoff:
            problems.append(f"fee_unpaid_since:{row['annual_fee_paid_until']}")
        subject_type, subject_id = _pledge_subject(row)
        drafts.append(
            FindingDraft(
                rule="zombie_collateral",
                severity="high" if row["legal_status"] in LAPSED_STATUSES else "medium",
                subject_type=subject_type,
                subject_id=subject_id,
                title=f"质押中的 {row['number']} 权利状态异常：{'、'.join(problems)}",
                summary="出质权利已终止、被宣告无效、处于无效宣告审查或保全中，或年费未按期缴纳。",
                records=_pledge_records(row),
                figures={"problems": problems},
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["pledgor_id"],
                institution_id=row["pledgee_id"],
            )
        )
    return drafts


def rule_owner_mismatch(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """The pledgor is not (or no longer) an owner, or a co-owned right was pledged without the co-owners' consent
    (patent grounds 1, 8; trademark rules Arts. 3, 7)."""
    owners = f.owners.group_by("ip_right_id").agg(
        pl.col("enterprise_id").drop_nulls().alias("owner_ids"), pl.len().alias("owner_count")
    )
    rows = (
        _active_pledges(f)
        .join(owners, on="ip_right_id", how="left")
        .join(f.filing_items, on=["filing_id", "ip_right_id"], how="left")
        .with_columns(
            pledgor_not_owner=~pl.col("owner_ids").fill_null([]).list.contains(pl.col("pledgor_id")).fill_null(False),
            no_co_owner_consent=(pl.col("owner_count").fill_null(0) > 1) & ~pl.col("co_owner_consent").fill_null(False),
        )
        # Decide in the frame; only the offending pledges reach the Python loop that writes the evidence.
        .filter(pl.col("pledgor_not_owner") | pl.col("no_co_owner_consent"))
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        owner_ids = row["owner_ids"] or []
        problems = [name for name in ("pledgor_not_owner", "no_co_owner_consent") if row[name]]
        subject_type, subject_id = _pledge_subject(row)
        drafts.append(
            FindingDraft(
                rule="owner_mismatch",
                severity="high",
                subject_type=subject_type,
                subject_id=subject_id,
                title=f"{row['registration_no']} 的出质人与 {row['number']} 的权利人不符",
                summary="出质人不是（或已不是）登记的权利人，或共有权利出质未取得其他共有人同意。",
                records=_pledge_records(row),
                figures={"problems": problems, "owners": sorted(owner_ids), "owner_count": row["owner_count"] or 0},
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["pledgor_id"],
                institution_id=row["pledgee_id"],
            )
        )
    return drafts


def _latest_valuations(f: ScanFrames) -> pl.DataFrame:
    return f.valuations.sort("valuation_date").group_by("ip_right_id").last()


def rule_ltv_outlier(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """Loan ÷ appraised value (the bank's appraisal, else the platform's P50) far above the pledge-rate norm
    (34号 valuer library; CCB pilot)."""
    live = f.loans.filter(pl.col("status").is_in(LIVE_LOAN_STATUSES) & (pl.col("principal_fen") > 0))
    coll = (
        f.collateral.join(_latest_valuations(f), on="ip_right_id", how="left")
        .with_columns(
            pl.coalesce("appraised_value_fen", "p50_fen").alias("value_fen"),
            # A valuation that finds the right ineligible suggests 0 %: that is no norm for a loan already made.
            pl.when(pl.col("pledge_rate") > 0).then(pl.col("pledge_rate")).alias("pledge_rate"),
        )
        .group_by("loan_id")
        .agg(
            pl.col("value_fen").sum().alias("value_fen"),
            pl.col("value_fen").is_null().any().alias("unvalued"),
            pl.col("pledge_rate").mean().alias("norm"),
        )
    )
    rows = (
        live.join(coll, on="loan_id")
        .filter(~pl.col("unvalued") & (pl.col("value_fen") > 0))
        .with_columns(
            (pl.col("principal_fen") / pl.col("value_fen")).alias("ltv"),
            pl.col("norm").fill_null(LTV_PRACTICE_CEILING),
        )
        .filter(pl.col("ltv") > pl.col("norm") * LTV_TOLERANCE)
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        ltv, norm = round(row["ltv"], 4), round(row["norm"], 4)
        drafts.append(
            FindingDraft(
                rule="ltv_outlier",
                severity="high" if ltv > 1 else "medium",
                subject_type="lending.Loan",
                subject_id=str(row["loan_id"]),
                title=f"{row['reference']} 质押率 {ltv:.0%}，高于常规 {norm:.0%}",
                summary="贷款金额与质物评估价值之比远高于质押率政策或实务常规。",
                records=[_rec("loan", row["loan_id"], row["reference"])],
                figures={
                    "principal": _yuan(row["principal_fen"]),
                    "appraised": _yuan(row["value_fen"]),
                    "ltv": ltv,
                    "norm": norm,
                    "tolerance": LTV_TOLERANCE,
                },
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["borrower_id"],
                institution_id=row["bank_id"],
            )
        )
    return drafts


def _appraisal_ratios(f: ScanFrames) -> pl.DataFrame:
    """Each appraisal with its ratio to the median of its peers (same kind and patent type) and to the platform's
    P50, and whether it is an outlier."""
    rows = (
        f.collateral.filter(pl.col("appraised_value_fen") > 0)
        .join(f.rights.select("ip_right_id", "number", "kind", "patent_type"), on="ip_right_id", how="left")
        .join(_latest_valuations(f).select("ip_right_id", "p50_fen"), on="ip_right_id", how="left")
        .join(f.loans.select("loan_id", "reference", "borrower_id", "bank_id", "park_id", "region_code"), on="loan_id")
        .with_columns(pl.col("patent_type").fill_null(""))
    )
    rows = rows.with_columns(pl.col("appraised_value_fen").cast(pl.Float64).log().alias("log_value"))
    peers = rows.group_by("kind", "patent_type").agg(
        pl.col("appraised_value_fen").median().alias("peer_median"),
        pl.col("log_value").median().alias("log_median"),
        pl.len().alias("peers"),
    )
    rows = rows.join(peers, on=["kind", "patent_type"], how="left").with_columns(
        (pl.col("log_value") - pl.col("log_median")).abs().alias("abs_dev")
    )
    spread = rows.group_by("kind", "patent_type").agg(pl.col("abs_dev").median().alias("log_mad"))
    return (
        rows.join(spread, on=["kind", "patent_type"], how="left")
        .with_columns(
            pl.when((pl.col("peers") >= VALUATION_MIN_PEERS) & (pl.col("log_mad") > 0))
            .then(0.6745 * (pl.col("log_value") - pl.col("log_median")) / pl.col("log_mad"))
            .alias("modified_z"),
            (pl.col("appraised_value_fen") / pl.col("peer_median")).alias("peer_ratio"),
            (pl.col("appraised_value_fen") / pl.col("p50_fen")).alias("p50_ratio"),
        )
        .with_columns((pl.col("modified_z").fill_null(0) > VALUATION_MODIFIED_Z).alias("outlier"))
    )


def rule_valuation_outlier(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """An appraisal far above its peers (34号 valuer library; CCB pilot)."""
    drafts = []
    for row in _appraisal_ratios(f).filter(pl.col("outlier")).iter_rows(named=True):
        peer_ratio = None if row["peer_ratio"] is None else round(row["peer_ratio"], 2)
        p50_ratio = None if row["p50_ratio"] is None else round(row["p50_ratio"], 2)
        drafts.append(
            FindingDraft(
                rule="valuation_outlier",
                severity="medium",
                subject_type="lending.LoanCollateral",
                subject_id=f"{row['loan_id']}:{row['ip_right_id']}",
                title=f"{row['number']} 评估值 {_yuan(row['appraised_value_fen'])} 远高于同类",
                summary="质物评估价值远高于同类权利的评估价值（对数修正Z值超过3.5）。",
                records=[
                    _rec("loan", row["loan_id"], row["reference"]),
                    _rec("ip_right", row["ip_right_id"], row["number"]),
                ],
                figures={
                    "appraised": _yuan(row["appraised_value_fen"]),
                    "peer_median": _yuan(None if row["peer_median"] is None else int(row["peer_median"])),
                    "peers": row["peers"],
                    "peer_ratio": peer_ratio,
                    "modified_z": None if row["modified_z"] is None else round(row["modified_z"], 2),
                    "platform_p50": _yuan(row["p50_fen"]),
                    "p50_ratio": p50_ratio,
                    "valuer": row["valuer_name"] or "",
                },
                digest_basis={"appraised_fen": row["appraised_value_fen"], "valuer": row["valuer_name"] or ""},
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["borrower_id"],
                institution_id=row["bank_id"],
            )
        )
    return drafts


def rule_outlier_valuer(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """The same valuer repeatedly producing outlier appraisals (34号 valuer library)."""
    rows = (
        _appraisal_ratios(f)
        .filter(pl.col("valuer_name").fill_null("") != "")
        .group_by("valuer_name")
        .agg(
            pl.len().alias("appraisals"),
            pl.col("outlier").sum().alias("outliers"),
            pl.col("loan_id").filter(pl.col("outlier")).alias("loan_ids"),
            pl.col("reference").filter(pl.col("outlier")).alias("references"),
            pl.col("region_code").first().alias("region_code"),
        )
        .with_columns((pl.col("outliers") / pl.col("appraisals")).alias("share"))
        .filter((pl.col("outliers") >= OUTLIER_VALUER_MIN_OUTLIERS) & (pl.col("share") >= OUTLIER_VALUER_MIN_SHARE))
    )
    valuer_ids = {name: pk for pk, name in _names(f.organisations, "org_id").items()}
    drafts = []
    for row in rows.iter_rows(named=True):
        loans = sorted(zip(row["loan_ids"], row["references"], strict=True))
        drafts.append(
            FindingDraft(
                rule="outlier_valuer",
                severity="medium",
                subject_type="valuer",
                subject_id=row["valuer_name"],
                title=f"{row['valuer_name']} 的 {row['appraisals']} 份评估中 {row['outliers']} 份为异常高值",
                summary="同一评估机构多次出具远高于同类的评估价值。",
                records=[_rec("loan", pk, ref) for pk, ref in loans],
                figures={
                    "appraisals": row["appraisals"],
                    "outliers": row["outliers"],
                    "share": round(row["share"], 4),
                },
                digest_basis={"loans": [pk for pk, _ in loans]},
                region_code=row["region_code"] or "",
                institution_id=valuer_ids.get(row["valuer_name"]),
            )
        )
    return drafts


def rule_registration_without_loan(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A registered claim with no disbursement long after (Civil Code Art. 444; CNIPA vs bank statistics)."""
    funded = f.loans.filter(
        pl.col("pledge_registration_id").is_not_null() & pl.col("first_disbursed_on").is_not_null()
    ).select(pl.col("pledge_registration_id").alias("registration_id"))
    cutoff = as_of - datetime.timedelta(days=REGISTRATION_WITHOUT_LOAN_DAYS)
    rows = f.registrations.filter(
        (pl.col("status") == "active") & (pl.col("claim_amount_fen") > 0) & (pl.col("registered_on") <= cutoff)
    ).join(funded, on="registration_id", how="anti")
    return [
        FindingDraft(
            rule="registration_without_loan",
            severity="medium",
            subject_type="registration.PledgeRegistration",
            subject_id=str(row["registration_id"]),
            title=f"{row['registration_no']} 登记 {_yuan(row['claim_amount_fen'])}，{REGISTRATION_WITHOUT_LOAN_DAYS} 天后仍无放款",
            summary="质押登记载明的主债权在登记后长期没有对应的放款记录。",
            records=[_rec("registration", row["registration_id"], row["registration_no"])],
            figures={
                "claim_amount": _yuan(row["claim_amount_fen"]),
                "registered_on": str(row["registered_on"]),
                "days_since": (as_of - row["registered_on"]).days,
            },
            digest_basis={"claim_amount_fen": row["claim_amount_fen"], "registered_on": str(row["registered_on"])},
            region_code=row["region_code"] or "",
            park_id=row["park_id"],
            enterprise_id=row["pledgor_id"],
            institution_id=row["pledgee_id"],
        )
        for row in rows.iter_rows(named=True)
    ]


def rule_loan_before_registration(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """Money out before the pledge took effect (Civil Code Art. 444: a pledge of IP is created on registration)."""
    regs = f.registrations.select("registration_id", "registration_no", "registered_on")
    rows = f.loans.join(regs, left_on="pledge_registration_id", right_on="registration_id").filter(
        pl.col("first_disbursed_on").is_not_null() & (pl.col("first_disbursed_on") < pl.col("registered_on"))
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        gap = (row["registered_on"] - row["first_disbursed_on"]).days
        drafts.append(
            FindingDraft(
                rule="loan_before_registration",
                severity="medium",
                subject_type="lending.Loan",
                subject_id=str(row["loan_id"]),
                title=f"{row['reference']} 于 {row['first_disbursed_on']} 放款，早于质押登记 {row['registered_on']}",
                summary="贷款在质权设立（登记）之前已经发放。",
                records=[
                    _rec("loan", row["loan_id"], row["reference"]),
                    _rec("registration", row["pledge_registration_id"], row["registration_no"]),
                ],
                figures={
                    "first_disbursed_on": str(row["first_disbursed_on"]),
                    "registered_on": str(row["registered_on"]),
                    "days_early": gap,
                },
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["borrower_id"],
                institution_id=row["bank_id"],
            )
        )
    return drafts


def rule_compensation_abuse(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A compensation claim on a pledge registered once the loan was already non-performing (Beijing precondition),
    on a loan pooled after its enrolment window (not pooled before disbursement), or recovered money the bank has
    not returned to the fund after clearing (§4.3)."""
    loans = f.loans.select(
        "loan_id",
        "reference",
        "borrower_id",
        "bank_id",
        "park_id",
        "region_code",
        "pledge_registration_id",
        "first_disbursed_on",
    )
    regs = f.registrations.select(
        pl.col("registration_id").alias("pledge_registration_id"), "registration_no", "registered_on"
    )
    claims = f.claims.join(loans, on="loan_id").join(regs, on="pledge_registration_id", how="left")
    overdue_since = as_of - datetime.timedelta(days=RECOVERY_RETURN_DAYS)
    drafts = []
    for row in claims.iter_rows(named=True):
        problems: list[str] = []
        figures: dict[str, Any] = {"npl_on": str(row["npl_on"])}
        if row["registered_on"] is not None and row["registered_on"] >= row["npl_on"]:
            problems.append("pledged_after_npl")
            figures["registered_on"] = str(row["registered_on"])
        if (
            row["enrolled_on"] is not None
            and row["first_disbursed_on"] is not None
            and (row["enrolled_on"] - row["first_disbursed_on"]).days > (row["enrol_window_days"] or 0)
        ):
            problems.append("pooled_late")
            figures["enrolled_on"] = str(row["enrolled_on"])
            figures["first_disbursed_on"] = str(row["first_disbursed_on"])
            figures["enrol_window_days"] = row["enrol_window_days"] or 0
        if (
            (row["unreturned_fen"] or 0) > 0
            and row["unreturned_since"] is not None
            and row["unreturned_since"] <= overdue_since
        ):
            problems.append("recovery_not_returned")
            figures["unreturned"] = _yuan(row["unreturned_fen"])
            figures["unreturned_since"] = str(row["unreturned_since"])
        if not problems:
            continue
        figures["problems"] = problems
        records = [
            _rec("claim", row["claim_id"], row["reference"]),
            _rec("loan", row["loan_id"], row["reference_right"]),
        ]
        if row["pledge_registration_id"] is not None and row["registration_no"] is not None:
            records.append(_rec("registration", row["pledge_registration_id"], row["registration_no"]))
        drafts.append(
            FindingDraft(
                rule="compensation_abuse",
                severity="high",
                subject_type="compensation.Claim",
                subject_id=str(row["claim_id"]),
                title=f"代偿申请 {row['reference']}："
                + "、".join(
                    {
                        "pledged_after_npl": "不良后才办理质押登记",
                        "pooled_late": "放款后逾期入池",
                        "recovery_not_returned": "追偿款清算后未返还",
                    }[p]
                    for p in problems
                ),
                summary="风险补偿资金使用不合规：质押在贷款形成不良后才设立，或清算后银行未返还应退的追偿款。",
                records=records,
                figures=figures,
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["borrower_id"],
                institution_id=row["bank_id"],
            )
        )
    return drafts


def rule_transfer_without_consent(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A licence recorded without the pledgee's consent, or a transfer (TR01), while the right was under pledge
    (Civil Code Art. 444; 细则 Art. 86)."""
    pledges = f.registrations.join(f.pledged_rights, on="registration_id").join(
        f.rights.select("ip_right_id", "number"), on="ip_right_id", how="left"
    )
    pledges = pledges.with_columns(pl.coalesce("released_on", "cancelled_on").alias("pledge_end"))
    licences = f.licences.filter(~pl.col("pledgee_consent").fill_null(False)).select(
        "ip_right_id",
        pl.lit("licence").alias("event"),
        pl.col("licence_id").alias("event_id"),
        pl.col("record_no").alias("event_label"),
        pl.col("recorded_on").alias("event_date"),
    )
    transfers = f.legal_events.filter(pl.col("code").is_in(TRANSFER_CODES)).select(
        "ip_right_id",
        pl.lit("transfer").alias("event"),
        pl.lit(None, dtype=pl.Int64).alias("event_id"),
        pl.col("code").alias("event_label"),
        "event_date",
    )
    rows = (
        pledges.join(pl.concat([licences, transfers]), on="ip_right_id")
        .filter(
            (pl.col("event_date") >= pl.col("registered_on"))
            & (pl.col("pledge_end").is_null() | (pl.col("event_date") < pl.col("pledge_end")))
        )
        .sort("registration_id", "ip_right_id", "event_date")
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        kind = "许可" if row["event"] == "licence" else "转让"
        records = _pledge_records(row)
        if row["event_id"] is not None:
            records.append(_rec("licence", row["event_id"], row["event_label"]))
        drafts.append(
            FindingDraft(
                rule="transfer_without_consent",
                severity="high",
                subject_type=f"{row['event']}",
                subject_id=f"{row['registration_id']}:{row['ip_right_id']}:{row['event_label']}:{row['event_date']}",
                title=f"质押期间 {row['number']} 于 {row['event_date']} 发生{kind}，未见质权人同意",
                summary="出质后权利被转让或许可他人使用，未取得质权人同意。",
                records=records,
                figures={"event": row["event"], "event_date": str(row["event_date"]), "reference": row["event_label"]},
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["pledgor_id"],
                institution_id=row["pledgee_id"],
            )
        )
    return drafts


def rule_classification_inconsistent(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """More than 90 days past due yet classified performing (2023 金融资产风险分类办法)."""
    rows = f.loans.filter(
        pl.col("status").is_in(LIVE_LOAN_STATUSES)
        & (pl.col("days_past_due") > CLASSIFICATION_DPD_LIMIT)
        & pl.col("classification").is_in(PERFORMING_CLASSES)
    )
    return [
        FindingDraft(
            rule="classification_inconsistent",
            severity="high",
            subject_type="lending.Loan",
            subject_id=str(row["loan_id"]),
            title=f"{row['reference']} 逾期 {row['days_past_due']} 天仍分类为 {row['classification']}",
            summary="逾期超过90天的贷款应至少分为次级，仍被列为正常或关注类。",
            records=[_rec("loan", row["loan_id"], row["reference"])],
            figures={"days_past_due": row["days_past_due"], "classification": row["classification"]},
            # Days past due grow by themselves; the finding is the same while the class stays wrong.
            digest_basis={"classification": row["classification"]},
            region_code=row["region_code"] or "",
            park_id=row["park_id"],
            enterprise_id=row["borrower_id"],
            institution_id=row["bank_id"],
        )
        for row in rows.iter_rows(named=True)
    ]


def rule_year_end_spike(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """December carrying a share of a park's yearly registrations (or amount) far above an even month."""
    last_full_year = as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1
    rows = (
        f.registrations.filter(pl.col("park_id").is_not_null())
        .with_columns(
            pl.col("registered_on").dt.year().alias("year"),
            (pl.col("registered_on").dt.month() == 12).alias("december"),
            pl.col("claim_amount_fen").fill_null(0),
        )
        .filter(pl.col("year") <= last_full_year)
        .group_by("park_id", "year")
        .agg(
            pl.len().alias("registrations"),
            pl.col("december").sum().alias("december_registrations"),
            pl.col("claim_amount_fen").sum().alias("amount_fen"),
            pl.col("claim_amount_fen").filter(pl.col("december")).sum().alias("december_amount_fen"),
        )
        .with_columns(
            (pl.col("december_registrations") / pl.col("registrations")).alias("count_share"),
            pl.when(pl.col("amount_fen") > 0)
            .then(pl.col("december_amount_fen") / pl.col("amount_fen"))
            .otherwise(0.0)
            .alias("amount_share"),
        )
        .filter(
            (pl.col("registrations") >= YEAR_END_MIN_REGISTRATIONS)
            & ((pl.col("count_share") >= YEAR_END_SHARE_MAX) | (pl.col("amount_share") >= YEAR_END_SHARE_MAX))
        )
        .sort("park_id", "year")
    )
    parks, regions = _names(f.parks, "park_id"), _regions(f.parks, "park_id")
    drafts = []
    for row in rows.iter_rows(named=True):
        share = max(row["count_share"], row["amount_share"])
        drafts.append(
            FindingDraft(
                rule="year_end_spike",
                severity="medium",
                subject_type="registry.Park",
                subject_id=f"{row['park_id']}:{row['year']}",
                title=f"{parks.get(row['park_id'], row['park_id'])} {row['year']} 年12月登记占全年 {share:.0%}",
                summary="园区年末（12月）质押登记笔数或金额占全年比重远高于其他月份。",
                records=[_rec("park", row["park_id"], parks.get(row["park_id"], row["park_id"]))],
                figures={
                    "year": row["year"],
                    "registrations": row["registrations"],
                    "december_registrations": row["december_registrations"],
                    "count_share": round(row["count_share"], 4),
                    "amount": _yuan(row["amount_fen"]),
                    "december_amount": _yuan(row["december_amount_fen"]),
                    "amount_share": round(row["amount_share"], 4),
                    "threshold": YEAR_END_SHARE_MAX,
                },
                region_code=regions.get(row["park_id"], ""),
                park_id=row["park_id"],
            )
        )
    return drafts


def _amount_groups(f: ScanFrames) -> pl.DataFrame:
    """Registered amounts by the bank (pledgee) and by the park that reported them: group_kind, group_id, amount."""
    amounts = f.registrations.filter(pl.col("claim_amount_fen") > 0)
    by_bank = amounts.select(
        pl.lit("bank").alias("group_kind"), pl.col("pledgee_id").alias("group_id"), "claim_amount_fen"
    )
    by_park = amounts.filter(pl.col("park_id").is_not_null()).select(
        pl.lit("park").alias("group_kind"), pl.col("park_id").alias("group_id"), "claim_amount_fen"
    )
    return pl.concat([by_bank, by_park])


def _group_meta(f: ScanFrames, kind: str, pk: int) -> tuple[str, str, dict[str, Any]]:
    """(name, region_code, draft location kwargs) of a bank or park group."""
    if kind == "bank":
        return (
            _names(f.organisations, "org_id").get(pk, str(pk)),
            _regions(f.organisations, "org_id").get(pk, ""),
            {"institution_id": pk},
        )
    return _names(f.parks, "park_id").get(pk, str(pk)), _regions(f.parks, "park_id").get(pk, ""), {"park_id": pk}


def rule_round_numbers(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A bank's or park's registered amounts clustering on multiples of ¥1,000,000 far above the deployment's share."""
    groups = _amount_groups(f).with_columns((pl.col("claim_amount_fen") % ROUND_UNIT_FEN == 0).alias("round"))
    if groups.is_empty():
        return []
    bank_share = groups.filter(pl.col("group_kind") == "bank").select(pl.col("round").cast(pl.Float64).mean()).item()
    baseline = max(ROUND_BASELINE_FLOOR, float(bank_share or 0.0))
    baseline = min(baseline, 0.99)
    rows = (
        groups.group_by("group_kind", "group_id")
        .agg(pl.len().alias("amounts"), pl.col("round").sum().alias("round_amounts"))
        .with_columns((pl.col("round_amounts") / pl.col("amounts")).alias("share"))
        .with_columns(
            ((pl.col("share") - baseline) / (baseline * (1 - baseline) / pl.col("amounts")).sqrt()).alias("z")
        )
        .filter(
            (pl.col("amounts") >= ROUND_MIN_AMOUNTS)
            & (pl.col("share") - baseline >= ROUND_EXCESS)
            & (pl.col("z") >= ROUND_Z)
        )
        .sort("group_kind", "group_id")
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        name, region, where = _group_meta(f, row["group_kind"], row["group_id"])
        kind_type = "organisation" if row["group_kind"] == "bank" else "park"
        drafts.append(
            FindingDraft(
                rule="round_numbers",
                severity="low",
                subject_type=row["group_kind"],
                subject_id=str(row["group_id"]),
                title=f"{name} 登记金额 {row['share']:.0%} 为百万整数倍（全域 {baseline:.0%}）",
                summary="登记金额集中于100万元整数倍的比例远高于全域水平，可能存在估填或虚报。",
                records=[_rec(kind_type, row["group_id"], name)],
                figures={
                    "amounts": row["amounts"],
                    "round_amounts": row["round_amounts"],
                    "share": round(row["share"], 4),
                    "baseline": round(baseline, 4),
                    "z": round(row["z"], 2),
                },
                digest_basis={"amounts": row["amounts"], "round_amounts": row["round_amounts"]},
                region_code=region,
                **where,
            )
        )
    return drafts


def benford_test(amounts: list[int]) -> tuple[list[float], float, float]:
    """Observed first-digit shares, the mean absolute deviation from Benford and the chi-square statistic."""
    digits = [int(str(a)[0]) for a in amounts if a > 0]
    n = len(digits)
    observed = [digits.count(d) / n for d in range(1, 10)] if n else [0.0] * 9
    mad = sum(abs(o - e) for o, e in zip(observed, BENFORD_EXPECTED, strict=True)) / 9
    chi2 = sum(n * (o - e) ** 2 / e for o, e in zip(observed, BENFORD_EXPECTED, strict=True))
    return observed, mad, chi2


def rule_benford_deviation(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A bank's or park's registered amounts whose first digits stray from Benford's law (Nigrini's MAD)."""
    grouped = (
        _amount_groups(f)
        .group_by("group_kind", "group_id")
        .agg(pl.col("claim_amount_fen").alias("amounts"))
        .filter(pl.col("amounts").list.len() >= BENFORD_MIN_AMOUNTS)
        .sort("group_kind", "group_id")
    )
    drafts = []
    for row in grouped.iter_rows(named=True):
        # First digits of the yuan amount: whole fen would put the cents' zeros in the digit for amounts < ¥1.
        observed, mad, chi2 = benford_test([a // 100 for a in row["amounts"]])
        if mad <= BENFORD_MAD_NONCONFORMITY:
            continue
        name, region, where = _group_meta(f, row["group_kind"], row["group_id"])
        kind_type = "organisation" if row["group_kind"] == "bank" else "park"
        drafts.append(
            FindingDraft(
                rule="benford_deviation",
                severity="low",
                subject_type=row["group_kind"],
                subject_id=str(row["group_id"]),
                title=f"{name} 登记金额首位数字偏离本福特分布（MAD {mad:.3f}）",
                summary="登记金额的首位数字分布与本福特定律偏差超过不符合阈值，数据可能经过人为调整。",
                records=[_rec(kind_type, row["group_id"], name)],
                figures={
                    "amounts": len(row["amounts"]),
                    "mad": round(mad, 4),
                    "threshold": BENFORD_MAD_NONCONFORMITY,
                    "chi_square": round(chi2, 2),
                    "observed": [round(o, 4) for o in observed],
                    "expected": [round(e, 4) for e in BENFORD_EXPECTED],
                },
                digest_basis={"amounts": len(row["amounts"]), "mad": round(mad, 3)},
                region_code=region,
                **where,
            )
        )
    return drafts


def rule_contract_reuse(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """One contract number on the loans or pledge filings of different enterprises."""
    loans = f.loans.filter(pl.col("contract_no").fill_null("") != "").select(
        "contract_no",
        pl.col("borrower_id").alias("enterprise_id"),
        pl.lit("loan").alias("record_type"),
        pl.col("loan_id").alias("record_id"),
        pl.col("reference").alias("label"),
        "region_code",
        pl.col("bank_id").alias("institution_id"),
    )
    filings = f.registrations.filter(pl.col("contract_no").fill_null("") != "").select(
        "contract_no",
        pl.col("pledgor_id").alias("enterprise_id"),
        pl.lit("registration").alias("record_type"),
        pl.col("registration_id").alias("record_id"),
        pl.col("registration_no").alias("label"),
        "region_code",
        pl.col("pledgee_id").alias("institution_id"),
    )
    numbered = pl.concat([loans, filings]).with_columns(pl.col("contract_no").str.strip_chars())
    reused = (
        numbered.group_by("contract_no")
        .agg(pl.col("enterprise_id").n_unique().alias("enterprises"))
        .filter(pl.col("enterprises") >= 2)
    )
    rows = (
        numbered.join(reused, on="contract_no", how="semi")
        .group_by("contract_no")
        .agg(pl.col("enterprise_id").n_unique().alias("enterprises"), pl.all())
        .sort("contract_no")
    )
    names = _names(f.enterprises, "enterprise_id")
    drafts = []
    for row in rows.iter_rows(named=True):
        records = sorted(zip(row["record_type"], row["record_id"], row["label"], row["enterprise_id"], strict=True))
        enterprise_ids = sorted(set(row["enterprise_id"]))
        drafts.append(
            FindingDraft(
                rule="contract_reuse",
                severity="high",
                subject_type="contract",
                subject_id=row["contract_no"],
                title=f"合同编号 {row['contract_no']} 出现在 {row['enterprises']} 家企业的业务中",
                summary="同一合同编号被用于不同企业的贷款或质押登记，可能存在虚构合同。",
                records=[_rec(t, pk, label) for t, pk, label, _ in records]
                + [_rec("enterprise", pk, names.get(pk, pk)) for pk in enterprise_ids],
                figures={"contract_no": row["contract_no"], "enterprises": row["enterprises"], "records": len(records)},
                digest_basis={"records": [f"{t}:{pk}" for t, pk, _, _ in records]},
                region_code=row["region_code"][0] or "",
                institution_id=row["institution_id"][0],
            )
        )
    return drafts


def rule_shell_borrower(f: ScanFrames, as_of: datetime.date) -> list[FindingDraft]:
    """A newly founded enterprise with no staff taking a large loan."""
    rows = (
        f.loans.filter(pl.col("first_disbursed_on").is_not_null() & (pl.col("principal_fen") >= SHELL_LARGE_LOAN_FEN))
        .join(f.enterprises, left_on="borrower_id", right_on="enterprise_id", suffix="_enterprise")
        .filter(
            pl.col("established_on").is_not_null()
            # A loan dated before the founding is a data error, not a young company: it is not this rule's finding.
            & (pl.col("first_disbursed_on") - pl.col("established_on"))
            .dt.total_days()
            .is_between(0, SHELL_AGE_DAYS - 1)
            & (pl.col("employees").fill_null(0) == 0)
        )
    )
    drafts = []
    for row in rows.iter_rows(named=True):
        age = (row["first_disbursed_on"] - row["established_on"]).days
        drafts.append(
            FindingDraft(
                rule="shell_borrower",
                severity="high",
                subject_type="lending.Loan",
                subject_id=str(row["loan_id"]),
                title=f"{row['name']} 成立 {age} 天、无从业人员，获贷 {_yuan(row['principal_fen'])}",
                summary="成立不满一年且无从业人员的企业获得大额贷款，可能为空壳企业。",
                records=[
                    _rec("loan", row["loan_id"], row["reference"]),
                    _rec("enterprise", row["borrower_id"], row["name"]),
                ],
                figures={
                    "established_on": str(row["established_on"]),
                    "first_disbursed_on": str(row["first_disbursed_on"]),
                    "age_days": age,
                    "employees": row["employees"] or 0,
                    "principal": _yuan(row["principal_fen"]),
                },
                region_code=row["region_code"] or "",
                park_id=row["park_id"],
                enterprise_id=row["borrower_id"],
                institution_id=row["bank_id"],
            )
        )
    return drafts


RULES: dict[str, Callable[[ScanFrames, datetime.date], list[FindingDraft]]] = {
    "duplicate_pledge": rule_duplicate_pledge,
    "term_overrun": rule_term_overrun,
    "zombie_collateral": rule_zombie_collateral,
    "owner_mismatch": rule_owner_mismatch,
    "ltv_outlier": rule_ltv_outlier,
    "valuation_outlier": rule_valuation_outlier,
    "outlier_valuer": rule_outlier_valuer,
    "registration_without_loan": rule_registration_without_loan,
    "loan_before_registration": rule_loan_before_registration,
    "compensation_abuse": rule_compensation_abuse,
    "transfer_without_consent": rule_transfer_without_consent,
    "classification_inconsistent": rule_classification_inconsistent,
    "year_end_spike": rule_year_end_spike,
    "round_numbers": rule_round_numbers,
    "benford_deviation": rule_benford_deviation,
    "contract_reuse": rule_contract_reuse,
    "shell_borrower": rule_shell_borrower,
}


def run_rules(
    frames: ScanFrames, *, as_of: datetime.date, rules: list[str] | None = None
) -> dict[str, list[FindingDraft]]:
    """Every rule (or the named ones) over the frames: rule → drafts, one per fingerprint."""
    out: dict[str, list[FindingDraft]] = {}
    for name in rules or list(RULES):
        seen: dict[str, FindingDraft] = {}
        for draft in RULES[name](frames, as_of):
            seen.setdefault(draft.fingerprint, draft)
        out[name] = list(seen.values())
    return out
