"""Lending and registration indicators (统计指标) as pure functions over Polars frames; no Django here.

Two statistical systems are kept apart and must never be added together (domain.md §5.1):

Lending basis (bank statistics, CBIRC/NFRA; 银保监发〔2019〕34号), over IP-pledge loans (`is_ip_pledge`) only:
- new loans (新增贷款): amount = sum of non-reversed DISBURSEMENT transactions with value_date in the period;
  count = loans whose first non-reversed disbursement falls in the period. A renewal without repayment of principal
  (无还本续贷) lends no cash: it carries the balance over (below) but is not new lending.
- 累放贷款户数 (borrowers disbursed to): distinct borrowers with a disbursement in the period (34号's
  "年累放贷款户数" when the period is a year).
- outstanding balance (贷款余额) at the period end, rebuilt from the transactions up to that day (disbursement +,
  repayment − principal part, write-off and renewal rollover − principal part or else the amount, except the
  renewal's own opening rollover, which is +; recoveries after write-off do not touch principal), so past periods
  come out right rather than echoing today's column;
  clients with balance = distinct borrowers whose loans have a positive balance then.
- pledge rate (质押率) = approved principal ÷ appraised value of the loan's collateral (domain.md §5.1: no national
  rule, practice 10–60 %). Per loan in `pledge_rates`; for a slice the principal-weighted rate
  Σ principal ÷ Σ appraised over the loans first disbursed in the period whose every collateral item carries an
  appraised value; `pledge_loans_unvalued` says how many new loans were left out for lack of a value.
- NPL ratio (不良率) = balance of 次级 + 可疑 + 损失 ÷ total balance (2023 分类办法 Art. 6). The class at the period end
  is the `to_class` of the last `ClassificationChange` on or before that day, else the `from_class` of the first
  later change, else the loan's current class; when the period end is on or after `as_of` the current class is used.
- NPL tolerance (`npl_vs_bank`): per head office, the IP-pledge NPL ratio against the bank-wide ratio the bank
  reported (`BankNplReport`, latest on or before the period end); within tolerance when
  IP NPL − bank-wide NPL ≤ 3 percentage points, inclusive (银保监发〔2019〕34号), compared exactly in integers.
- separate credit plan (单列信贷计划, 34号) vs fulfilment: per plan, the amount disbursed and the distinct borrowers
  in the plan year (1 Jan up to the period end, if earlier than 31 Dec) by the plan's bank and every branch under it.
- 普惠 share: a disbursement is inclusive when its loan's approved principal is below the threshold in force on the
  disbursement date (`PUHUI_THRESHOLDS`: < ¥10 m up to 2023-12-31, < ¥20 m from 2024-01-01; CNIPA releases 2021–
  H1 2024, domain.md §5.1); shares by count (new loans, threshold at the first disbursement) and by amount.
- T2 (requirements T2): enterprises whose first IP-backed financing on the platform (first disbursement of any of
  their IP-pledge loans; `loans.first_financed_on` when the loader supplies the platform-wide date) falls in the
  period, by size class (大/中/小/微).
- T3 (requirements T3): implementation rate of pledged patents at a day = patents in the collateral of a loan active
  that day (money lent to it on or before that day, not closed or written off by then) whose latest implementation report on
  or before the day (of one day's reports, the last recorded) says self-use, licensed or transferred ÷ such patents
  with a report; quarter ends of the period.

Registration basis (CNIPA statistics, domain.md §5.1) from pledge registrations: registered pledge amount
(质押登记金额: claim amounts of registrations registered in the period), pledge projects (质押项目数: registrations)
and enterprises served (惠及企业数: distinct pledgors); 普惠 projects by the same dated threshold on the claim amount.

Slices: handling bank, head office (root of `bank_path`, "/<root id>/…/<own id>/"), park (the loan's; a
registration's pledgor's), province and city (region code prefixes), IP kind of the collateral (the first
collateral item, or of the first pledged right), size class, and the period series by month, quarter or year.
Money is integer fen throughout; ratios are floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

# Threshold of an inclusive (普惠) loan or pledge: amount strictly below `fen`, for disbursements/registrations on or
# after `since`. Rows ascending by date; a new threshold is one more row, never an edit of history.
PUHUI_THRESHOLDS: tuple[tuple[dt.date, int], ...] = (
    (dt.date(1900, 1, 1), 1_000_000_000),  # ¥10 m: CNIPA 2021 and H1 2023 releases
    (dt.date(2024, 1, 1), 2_000_000_000),  # ¥20 m: CNIPA H1 2024 release
)
NPL_TOLERANCE_PPM = 30_000  # 3 percentage points, in millionths (银保监发〔2019〕34号)
NON_PERFORMING = ("substandard", "doubtful", "loss")
IMPLEMENTED = ("self_use", "licensed", "transferred")
SIZE_CLASSES = ("large", "medium", "small", "micro", "")
SLICES = ("bank", "head_office", "park", "province", "city", "ip_kind", "size_class")
GRANULARITIES = {"month": "1mo", "quarter": "1q", "year": "1y"}

DISBURSEMENT = "disbursement"
REPAYMENT = "repayment"
PRINCIPAL_REDUCING = ("write_off", "renewal_rollover")

SCHEMAS: dict[str, dict[str, Any]] = {
    "loans": {
        "loan_id": pl.Int64,
        "borrower_id": pl.Int64,
        "bank_id": pl.Int64,
        "bank_path": pl.String,
        "park_id": pl.Int64,
        "region_code": pl.String,
        "size_class": pl.String,
        "principal_fen": pl.Int64,
        "is_ip_pledge": pl.Boolean,
        "classification": pl.String,
        "closed_on": pl.Date,
        "written_off_on": pl.Date,
        "first_financed_on": pl.Date,
        "renewal_of_id": pl.Int64,
    },
    "transactions": {
        "loan_id": pl.Int64,
        "kind": pl.String,
        "value_date": pl.Date,
        "amount_fen": pl.Int64,
        "principal_fen": pl.Int64,
        "reversed": pl.Boolean,
    },
    "collateral": {
        "collateral_id": pl.Int64,
        "loan_id": pl.Int64,
        "ip_right_id": pl.Int64,
        "ip_kind": pl.String,
        "appraised_value_fen": pl.Int64,
    },
    "implementation_reports": {"collateral_id": pl.Int64, "reported_on": pl.Date, "status": pl.String, "seq": pl.Int64},
    "classification_changes": {
        "loan_id": pl.Int64,
        "business_day": pl.Date,
        "from_class": pl.String,
        "to_class": pl.String,
        "seq": pl.Int64,
    },
    "registrations": {
        "registration_id": pl.Int64,
        "registered_on": pl.Date,
        "claim_amount_fen": pl.Int64,
        "pledgor_id": pl.Int64,
        "pledgee_id": pl.Int64,
        "pledgee_path": pl.String,
        "park_id": pl.Int64,
        "region_code": pl.String,
        "size_class": pl.String,
        "ip_kind": pl.String,
    },
    "credit_plans": {
        "bank_id": pl.Int64,
        "bank_path": pl.String,
        "year": pl.Int32,
        "planned_amount_fen": pl.Int64,
        "planned_clients": pl.Int64,
    },
    "npl_reports": {"bank_id": pl.Int64, "bank_path": pl.String, "as_of": pl.Date, "npl_ratio_ppm": pl.Int64},
}
# Values for columns a caller leaves out (hand-built frames); everything else defaults to null.
DEFAULTS: dict[str, dict[str, Any]] = {
    "loans": {"is_ip_pledge": True, "classification": "normal", "size_class": "", "region_code": "", "bank_path": ""},
    "transactions": {"reversed": False, "principal_fen": 0},
    "registrations": {"size_class": "", "region_code": "", "pledgee_path": "", "ip_kind": ""},
}


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the columns of `SCHEMAS[name]`, in order and type; missing ones take their default."""
    schema = SCHEMAS[name]
    defaults = DEFAULTS.get(name, {})
    columns = []
    for column, dtype in schema.items():
        if column in frame.columns:
            value = pl.col(column).cast(dtype)
            columns.append(value.fill_null(defaults[column]) if column in defaults else value)
        else:
            columns.append(pl.lit(defaults.get(column), dtype=dtype).alias(column))
    if name in ("classification_changes", "implementation_reports") and "seq" not in frame.columns:
        columns[-1] = pl.int_range(pl.len(), dtype=pl.Int64).alias("seq")  # recorded order: the rows' own
    return frame.select(columns)


@dataclass(frozen=True)
class LendingFrames:
    """Everything the indicators read, already restricted to what the viewer may see (see `SCHEMAS`)."""

    loans: pl.DataFrame
    transactions: pl.DataFrame
    collateral: pl.DataFrame
    implementation_reports: pl.DataFrame
    classification_changes: pl.DataFrame
    registrations: pl.DataFrame
    credit_plans: pl.DataFrame
    npl_reports: pl.DataFrame
    as_of: dt.date  # "today" of the data: the current classification holds from here on
    # Repayments dated before this day may come summed, one row per loan dated the day before (the loader does so
    # to keep millions of rows in the database): only the opening balance needs them, so the figures are exact for
    # any period starting on or after it, and `indicator_set` refuses an earlier period. None: every row is there.
    summed_before: dt.date | None = None

    @classmethod
    def from_rows(cls, *, as_of: dt.date, **rows: Sequence[Mapping[str, Any]] | pl.DataFrame) -> LendingFrames:
        """Frames from lists of dicts (or frames) keyed like the fields; missing tables are empty."""
        unknown = set(rows) - set(SCHEMAS)
        if unknown:
            raise TypeError(f"unknown tables: {sorted(unknown)}")
        built: dict[str, pl.DataFrame] = {}
        for name, schema in SCHEMAS.items():
            given = rows.get(name)
            if given is None:
                built[name] = pl.DataFrame(schema=schema)
            elif isinstance(given, pl.DataFrame):
                built[name] = conform(name, given)
            else:
                built[name] = conform(name, pl.DataFrame(list(given), infer_schema_length=None))
        return cls(as_of=as_of, **built)  # type: ignore[arg-type]  # one frame per table name


# ---------------------------------------------------------------------------
# Small expressions
# ---------------------------------------------------------------------------


def puhui_threshold(day: pl.Expr) -> pl.Expr:
    """The inclusive-finance threshold (fen) in force on `day`, from the dated table."""
    expr: pl.Expr = pl.lit(None, dtype=pl.Int64)
    for since, fen in PUHUI_THRESHOLDS:
        expr = pl.when(day >= since).then(pl.lit(fen, dtype=pl.Int64)).otherwise(expr)
    return expr


def puhui_threshold_on(day: dt.date) -> int:
    return [fen for since, fen in PUHUI_THRESHOLDS if since <= day][-1]


def _root_id(path: str) -> pl.Expr:
    return pl.col(path).str.split("/").list.get(1, null_on_oob=True).cast(pl.Int64, strict=False)


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def _region_dims(code: str = "region_code") -> list[pl.Expr]:
    col = pl.col(code).fill_null("")
    return [
        pl.when(col.str.len_chars() >= 2).then(col.str.slice(0, 2) + "0000").otherwise(None).alias("province"),
        pl.when(col.str.len_chars() >= 4).then(col.str.slice(0, 4) + "00").otherwise(None).alias("city"),
    ]


def _principal_flow() -> pl.Expr:
    """Effect of a transaction on outstanding principal (fen)."""
    kind = pl.col("kind")
    reducing = pl.when(pl.col("principal_fen") > 0).then(pl.col("principal_fen")).otherwise(pl.col("amount_fen"))
    return (
        pl.when(kind == DISBURSEMENT)
        .then(pl.col("amount_fen"))
        .when(kind == REPAYMENT)
        .then(-pl.col("principal_fen"))
        .when(kind.is_in(PRINCIPAL_REDUCING))
        .then(-reducing)
        .otherwise(0)
    )


def _check_period(period_start: dt.date, period_end: dt.date, granularity: str) -> None:
    if period_end < period_start:
        raise ValueError("period_end must not be before period_start")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {sorted(GRANULARITIES)}")


def buckets(period_start: dt.date, period_end: dt.date, granularity: str) -> pl.DataFrame:
    """The series buckets of the period: `bucket` (first day, clipped to the period) and `bucket_end`."""
    every = GRANULARITIES[granularity]
    first = pl.select(pl.lit(period_start).dt.truncate(every)).item()
    starts = pl.date_range(first, period_end, every, eager=True).alias("bucket")
    frame = pl.DataFrame(starts).with_columns(
        bucket_end=pl.min_horizontal(pl.col("bucket").dt.offset_by(every).dt.offset_by("-1d"), pl.lit(period_end)),
        bucket=pl.max_horizontal(pl.col("bucket"), pl.lit(period_start)),
    )
    return frame


def _bucket_index(day: pl.Expr, period_start: dt.date, granularity: str) -> pl.Expr:
    """Number of the bucket of a date inside the period (0 = the first, as in `buckets`); -1 before the period."""
    year, month = day.dt.year().cast(pl.Int64), day.dt.month().cast(pl.Int64)
    if granularity == "month":
        index = year * 12 + month - (period_start.year * 12 + period_start.month)
    elif granularity == "quarter":
        index = year * 4 + (month - 1) // 3 - (period_start.year * 4 + (period_start.month - 1) // 3)
    else:
        index = year - period_start.year
    return pl.when(day < period_start).then(-1).otherwise(index)


def _bucket_of(day: pl.Expr, period_start: dt.date, granularity: str) -> pl.Expr:
    """Bucket key of a date inside the period (dates before the period map to null: the opening position)."""
    truncated = pl.max_horizontal(day.dt.truncate(GRANULARITIES[granularity]), pl.lit(period_start))
    return pl.when(day < period_start).then(None).otherwise(truncated)


# ---------------------------------------------------------------------------
# Per-loan facts
# ---------------------------------------------------------------------------


def _ip_loans(frames: LendingFrames) -> pl.DataFrame:
    """IP-pledge loans with their slice keys (head office, province, city, collateral IP kind)."""
    first_kind = (
        frames.collateral.sort("collateral_id")
        .group_by("loan_id")
        .agg(pl.col("ip_kind").first())
        .with_columns(pl.col("ip_kind").fill_null(""))
    )
    loans = frames.loans.filter(pl.col("is_ip_pledge"))
    return loans.join(first_kind, on="loan_id", how="left").with_columns(
        pl.col("ip_kind").fill_null(""),
        pl.col("size_class").fill_null(""),
        _root_id("bank_path").alias("head_office"),
        pl.col("bank_id").alias("bank"),
        pl.col("park_id").alias("park"),
        *_region_dims(),
        pl.min_horizontal("closed_on", "written_off_on").alias("ended_on"),
    )


def _transactions(frames: LendingFrames, loans: pl.DataFrame, period_end: dt.date) -> pl.DataFrame:
    """Non-reversed transactions up to the period end, with their effect on principal (`flow`).

    A renewal without repayment of principal (无还本续贷) posts RENEWAL_ROLLOVER on both loans: on the old one it
    settles the balance, on the renewal it is the opening principal (its first rollover). Transactions of loans
    outside the IP-pledge set need no filtering here: every later use joins them to those loans.
    """
    tx = frames.transactions.filter(~pl.col("reversed") & (pl.col("value_date") <= period_end))
    flow = tx.select(_principal_flow()).to_series()
    renewals = loans.filter(pl.col("renewal_of_id").is_not_null()).get_column("loan_id").implode()
    of_renewals = (
        tx.select("loan_id", "kind", "value_date")
        .with_row_index("_row")
        .filter(pl.col("loan_id").is_in(renewals) & pl.col("kind").is_in(["renewal_rollover", DISBURSEMENT]))
    )
    if of_renewals.height:
        # The opening rollover is the renewal's first rollover, unless cash was disbursed to it before (then a
        # rollover can only be this loan being renewed in turn).
        firsts = of_renewals.group_by("loan_id").agg(
            pl.col("value_date").filter(pl.col("kind") == DISBURSEMENT).min().alias("_disbursed"),
            pl.col("value_date").filter(pl.col("kind") != DISBURSEMENT).min().alias("_rolled"),
        )
        opening = of_renewals.join(firsts, on="loan_id").filter(
            (pl.col("kind") != DISBURSEMENT)
            & (pl.col("value_date") == pl.col("_rolled"))
            & (pl.col("_disbursed").is_null() | (pl.col("_disbursed") > pl.col("_rolled")))
        )
        rows = opening.get_column("_row")
        flow = flow.scatter(rows, -flow.gather(rows))
    return tx.with_columns(flow.alias("flow"))


def _non_performing_at(grid: pl.DataFrame, current: pl.Series, changes: pl.DataFrame, as_of: dt.date) -> pl.Series:
    """Whether each `grid` row's loan (loan_id, day) was classed 次级/可疑/损失 on its day; `current` is that flag
    for the loan's current class, row by row.

    Only loans with a recorded change need the history (and only for days before `as_of`): the class on the day is
    the last change's `to_class`, else the first later change's `from_class`. Those rows are computed apart and
    scattered back by row number; every other row keeps the current class.
    """
    if changes.is_empty():
        return current
    ordered = changes.sort(["business_day", "seq"])
    initial = ordered.group_by("loan_id", maintain_order=True).agg(pl.col("from_class").first().alias("_initial"))
    history = (
        grid.select("loan_id", "day")
        .with_row_index("_row")
        .filter(pl.col("loan_id").is_in(initial.get_column("loan_id").implode()) & (pl.col("day") < as_of))
        .sort("day")
        .join_asof(
            ordered.select("loan_id", "business_day", pl.col("to_class").alias("_before")),
            left_on="day",
            right_on="business_day",
            by="loan_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join(initial, on="loan_id", how="left")
        .select("_row", npl=pl.coalesce("_before", "_initial").is_in(NON_PERFORMING))
    )
    return current.scatter(history.get_column("_row"), history.get_column("npl"))


@dataclass(frozen=True)
class _Facts:
    loans: pl.DataFrame  # one row per IP-pledge loan: slice keys and period facts
    positions: pl.DataFrame  # loan × bucket: balance and class at each bucket end
    disbursements: pl.DataFrame  # disbursements in the period with the borrower and the 普惠 flag
    transactions: pl.DataFrame  # non-reversed transactions up to the period end, with `flow`


def _facts(frames: LendingFrames, period_start: dt.date, period_end: dt.date, granularity: str) -> _Facts:
    loans = _ip_loans(frames)
    tx = _transactions(frames, loans, period_end)
    is_disb = pl.col("kind") == DISBURSEMENT
    # Principal moved per loan and bucket (-1 = before the period), grouped on one integer key: much cheaper than
    # two keys over millions of rows. First disbursement and first money lent come from the inflows only.
    width = buckets(period_start, period_end, granularity).height + 2
    key = pl.col("loan_id") * width + _bucket_index(pl.col("value_date"), period_start, granularity) + 1
    moved = (
        tx.lazy()
        .group_by(key.alias("_key"))
        .agg(pl.col("flow").sum())
        .select((pl.col("_key") // width).alias("loan_id"), (pl.col("_key") % width - 1).alias("_b"), "flow")
        .collect()
    )
    per_loan = (
        tx.lazy()
        .filter(pl.col("flow") > 0)
        .group_by("loan_id")
        .agg(
            pl.col("value_date").filter(is_disb).min().alias("first_disbursed"),
            pl.col("value_date").min().alias("first_funded"),
        )
        .join(
            moved.lazy().filter(pl.col("_b") < 0).select("loan_id", pl.col("flow").alias("opening")),
            on="loan_id",
            how="full",
            coalesce=True,
        )
        .collect()
    )
    loans = loans.join(per_loan, on="loan_id", how="left")
    platform_first = loans.group_by("borrower_id").agg(pl.col("first_disbursed").min().alias("_first_fin"))
    loans = (
        loans.join(platform_first, on="borrower_id", how="left")
        .with_columns(pl.coalesce("first_financed_on", "_first_fin").alias("first_financed_on"))
        .drop("_first_fin")
    )
    in_period = pl.col("first_disbursed").is_between(period_start, period_end)
    collateral = frames.collateral.group_by("loan_id").agg(
        pl.len().alias("_items"),
        pl.col("appraised_value_fen").count().alias("_valued_items"),
        pl.col("appraised_value_fen").sum().alias("appraised_fen"),
    )
    loans = loans.join(collateral, on="loan_id", how="left").with_columns(
        is_new=in_period.fill_null(False),
        valued=((pl.col("_items") > 0) & (pl.col("_items") == pl.col("_valued_items"))).fill_null(False),
        is_puhui_new=(in_period & (pl.col("principal_fen") < puhui_threshold(pl.col("first_disbursed")))).fill_null(
            False
        ),
        first_fin_loan=(
            pl.col("first_financed_on").is_between(period_start, period_end)
            & (pl.col("first_disbursed") == pl.col("first_financed_on"))
        ).fill_null(False),
    )
    disb = (
        tx.filter(is_disb & (pl.col("value_date") >= period_start))
        .select("loan_id", "value_date", "amount_fen")
        .join(loans.select("loan_id", "borrower_id", "principal_fen"), on="loan_id", how="inner")
        .with_columns(
            puhui=(pl.col("principal_fen") < puhui_threshold(pl.col("value_date"))).fill_null(False),
            bucket=_bucket_of(pl.col("value_date"), period_start, granularity),
        )
    )
    disbursed = disb.group_by("loan_id").agg(
        pl.col("amount_fen").sum().alias("disbursed_in_period"),
        pl.col("amount_fen").filter(pl.col("puhui")).sum().alias("puhui_disbursed"),
    )
    loans = loans.join(disbursed, on="loan_id", how="left").with_columns(
        pl.col("disbursed_in_period").fill_null(0), pl.col("puhui_disbursed").fill_null(0)
    )
    positions = _positions(frames, loans, moved.filter(pl.col("_b") >= 0), period_start, period_end, granularity)
    at_end = positions.filter(pl.col("bucket_end") == period_end).select("loan_id", "balance", "npl")
    loans = loans.join(at_end, on="loan_id", how="left").with_columns(
        pl.col("balance").fill_null(0).alias("balance_end"), pl.col("npl").fill_null(False).alias("npl_end")
    )
    return _Facts(loans=loans, positions=positions, disbursements=disb, transactions=tx)


def _positions(
    frames: LendingFrames,
    loans: pl.DataFrame,
    moved: pl.DataFrame,
    period_start: dt.date,
    period_end: dt.date,
    granularity: str,
) -> pl.DataFrame:
    """Loan × bucket end: outstanding principal and class, for loans holding money at some point of the period."""
    live = (
        loans.filter(
            (pl.col("first_funded") <= period_end)
            & ((pl.col("opening").fill_null(0) != 0) | pl.col("loan_id").is_in(moved.get_column("loan_id").implode()))
        )
        .select(
            "loan_id",
            "borrower_id",
            pl.col("opening").fill_null(0),
            pl.col("classification").is_in(NON_PERFORMING).alias("_npl_now"),
        )
        .sort("loan_id")
        .with_row_index("_pos")
    )
    periods = buckets(period_start, period_end, granularity).with_row_index("_b")
    n = periods.height
    # The grid is loan-major with exactly n buckets per loan, so a movement lands at row pos × n + bucket number and
    # the running balance is a block-wise cumulative sum: no per-group window, no two-key join on millions of rows.
    placed = moved.join(live.select("loan_id", "_pos"), on="loan_id")
    rows = (placed.get_column("_pos").cast(pl.Int64) * n + placed.get_column("_b").cast(pl.Int64)).alias("row")
    flow = pl.zeros(live.height * n, dtype=pl.Int64, eager=True).scatter(rows, placed.get_column("flow"))
    running = flow.cum_sum()
    block_start = (pl.int_range(0, live.height * n, eager=True) // n) * n
    before_block = (running - flow).gather(block_start)
    grid = live.join(periods, how="cross", maintain_order="left_right").select(
        "loan_id",
        "borrower_id",
        "bucket",
        "bucket_end",
        "_npl_now",
        balance=pl.col("opening") + (running - before_block),
        day=pl.col("bucket_end"),
    )
    npl = _non_performing_at(grid, grid.get_column("_npl_now"), frames.classification_changes, frames.as_of)
    return grid.select(
        "loan_id",
        "borrower_id",
        "bucket",
        "bucket_end",
        "balance",
        npl=npl & (pl.col("balance") > 0),
    )


# ---------------------------------------------------------------------------
# Lending tables
# ---------------------------------------------------------------------------


def _lending_aggs() -> list[pl.Expr]:
    positive = pl.col("balance_end") > 0
    new_valued = pl.col("is_new") & pl.col("valued")
    return [
        pl.col("disbursed_in_period").sum().alias("new_amount_fen"),
        pl.col("is_new").sum().cast(pl.Int64).alias("new_loans"),
        pl.col("borrower_id").filter(pl.col("disbursed_in_period") > 0).n_unique().cast(pl.Int64).alias("borrowers"),
        pl.col("balance_end").filter(positive).sum().alias("balance_fen"),
        positive.sum().cast(pl.Int64).alias("loans_with_balance"),
        pl.col("borrower_id").filter(positive).n_unique().cast(pl.Int64).alias("clients_with_balance"),
        pl.col("balance_end").filter(pl.col("npl_end")).sum().alias("npl_balance_fen"),
        pl.col("principal_fen").filter(new_valued).sum().alias("pledge_principal_fen"),
        pl.col("appraised_fen").filter(new_valued).sum().alias("pledge_appraised_fen"),
        new_valued.sum().cast(pl.Int64).alias("pledge_loans_valued"),
        (pl.col("is_new") & ~pl.col("valued")).sum().cast(pl.Int64).alias("pledge_loans_unvalued"),
        pl.col("is_puhui_new").sum().cast(pl.Int64).alias("puhui_loans"),
        pl.col("puhui_disbursed").sum().alias("puhui_amount_fen"),
        pl.col("borrower_id").filter(pl.col("first_fin_loan")).n_unique().cast(pl.Int64).alias("first_financed"),
    ]


LENDING_COLUMNS = (
    "new_amount_fen",
    "new_loans",
    "borrowers",
    "balance_fen",
    "loans_with_balance",
    "clients_with_balance",
    "npl_balance_fen",
    "npl_ratio",
    "pledge_rate",
    "pledge_principal_fen",
    "pledge_appraised_fen",
    "pledge_loans_valued",
    "pledge_loans_unvalued",
    "puhui_loans",
    "puhui_amount_fen",
    "puhui_share_loans",
    "puhui_share_amount",
    "first_financed",
)


def _lending_ratios(frame: pl.DataFrame) -> pl.DataFrame:
    keys = [c for c in frame.columns if c in SLICES]
    return frame.with_columns(
        npl_ratio=_ratio("npl_balance_fen", "balance_fen"),
        pledge_rate=_ratio("pledge_principal_fen", "pledge_appraised_fen"),
        puhui_share_loans=_ratio("puhui_loans", "new_loans"),
        puhui_share_amount=_ratio("puhui_amount_fen", "new_amount_fen"),
    ).select(*keys, *LENDING_COLUMNS)


def _by(frame: pl.DataFrame, key: str, aggs: list[pl.Expr]) -> pl.DataFrame:
    return frame.group_by(key).agg(aggs).sort(key, nulls_last=True)


def _lending_series(facts: _Facts, period_start: dt.date, period_end: dt.date, granularity: str) -> pl.DataFrame:
    grid = buckets(period_start, period_end, granularity)
    disbursed = facts.disbursements.group_by("bucket").agg(
        pl.col("amount_fen").sum().alias("new_amount_fen"),
        pl.col("borrower_id").n_unique().cast(pl.Int64).alias("borrowers"),
        pl.col("amount_fen").filter(pl.col("puhui")).sum().alias("puhui_amount_fen"),
    )
    new = (
        facts.loans.filter(pl.col("is_new"))
        .with_columns(bucket=_bucket_of(pl.col("first_disbursed"), period_start, granularity))
        .group_by("bucket")
        .agg(
            pl.len().cast(pl.Int64).alias("new_loans"), pl.col("is_puhui_new").sum().cast(pl.Int64).alias("puhui_loans")
        )
    )
    positive = pl.col("balance") > 0
    held = facts.positions.group_by("bucket").agg(
        pl.col("balance").filter(positive).sum().alias("balance_fen"),
        pl.col("borrower_id").filter(positive).n_unique().cast(pl.Int64).alias("clients_with_balance"),
        pl.col("balance").filter(pl.col("npl")).sum().alias("npl_balance_fen"),
    )
    series = grid.join(disbursed, on="bucket", how="left").join(new, on="bucket", how="left")
    series = series.join(held, on="bucket", how="left").with_columns(
        pl.col(c).fill_null(0)
        for c in (
            "new_amount_fen",
            "borrowers",
            "puhui_amount_fen",
            "new_loans",
            "puhui_loans",
            "balance_fen",
            "clients_with_balance",
            "npl_balance_fen",
        )
    )
    return (
        series.with_columns(
            npl_ratio=_ratio("npl_balance_fen", "balance_fen"),
            puhui_share_loans=_ratio("puhui_loans", "new_loans"),
            puhui_share_amount=_ratio("puhui_amount_fen", "new_amount_fen"),
        )
        .select(
            "bucket",
            "bucket_end",
            "new_amount_fen",
            "new_loans",
            "borrowers",
            "balance_fen",
            "clients_with_balance",
            "npl_balance_fen",
            "npl_ratio",
            "puhui_loans",
            "puhui_amount_fen",
            "puhui_share_loans",
            "puhui_share_amount",
        )
        .sort("bucket")
    )


def _npl_vs_bank(facts: _Facts, frames: LendingFrames, period_end: dt.date) -> pl.DataFrame:
    loans = facts.loans.group_by("head_office").agg(
        pl.col("balance_end").filter(pl.col("balance_end") > 0).sum().alias("balance_fen"),
        pl.col("balance_end").filter(pl.col("npl_end")).sum().alias("npl_balance_fen"),
    )
    reports = (
        frames.npl_reports.filter(pl.col("as_of") <= period_end)
        .with_columns(head_office=_root_id("bank_path"))
        .sort("as_of")
        .group_by("head_office")
        .agg(pl.col("as_of").last().alias("bank_npl_as_of"), pl.col("npl_ratio_ppm").last().alias("bank_npl_ppm"))
    )
    joined = loans.join(reports, on="head_office", how="full", coalesce=True).with_columns(
        pl.col("balance_fen").fill_null(0), pl.col("npl_balance_fen").fill_null(0)
    )
    wide = pl.Int128
    # IP NPL − bank NPL ≤ 3 pp  ⇔  npl × 10⁶ ≤ (bank ppm + 30 000) × balance: exact, no float at the boundary.
    within = pl.col("npl_balance_fen").cast(wide) * 1_000_000 <= (
        pl.col("bank_npl_ppm").cast(wide) + NPL_TOLERANCE_PPM
    ) * pl.col("balance_fen").cast(wide)
    return (
        joined.with_columns(
            npl_ratio=_ratio("npl_balance_fen", "balance_fen"),
            bank_npl_ratio=pl.col("bank_npl_ppm") / 1_000_000,
            tolerance_ratio=(pl.col("bank_npl_ppm") + NPL_TOLERANCE_PPM) / 1_000_000,
        )
        .with_columns(
            excess_pp=(pl.col("npl_ratio") - pl.col("bank_npl_ratio")) * 100,
            within_tolerance=pl.when((pl.col("balance_fen") > 0) & pl.col("bank_npl_ppm").is_not_null())
            .then(within)
            .otherwise(None),
        )
        .drop("bank_npl_ppm")
        .sort("head_office", nulls_last=True)
    )


def _credit_plan(frames: LendingFrames, facts: _Facts, period_start: dt.date, period_end: dt.date) -> pl.DataFrame:
    """单列信贷计划 vs fulfilment for the plans of the years the period touches."""
    loans, tx = facts.loans, facts.transactions
    plans = frames.credit_plans.filter(pl.col("year").is_between(period_start.year, period_end.year))
    out_schema = {
        "bank_id": pl.Int64,
        "year": pl.Int32,
        "planned_amount_fen": pl.Int64,
        "planned_clients": pl.Int64,
        "through": pl.Date,
        "disbursed_fen": pl.Int64,
        "clients": pl.Int64,
        "amount_fulfilment": pl.Float64,
        "clients_fulfilment": pl.Float64,
    }
    if plans.is_empty():
        return pl.DataFrame(schema=out_schema)
    first_year = int(plans.get_column("year").min())  # type: ignore[arg-type]
    disb = (
        tx.filter(
            (pl.col("kind") == DISBURSEMENT) & pl.col("value_date").is_between(dt.date(first_year, 1, 1), period_end)
        )
        .select("loan_id", "value_date", "amount_fen")
        .join(loans.select("loan_id", "borrower_id", "bank_path"), on="loan_id", how="inner")
        .with_columns(
            year=pl.col("value_date").dt.year().cast(pl.Int32),
            # every organisation above the handling bank, itself included: a plan covers its whole tree
            bank_id=pl.col("bank_path").str.strip_chars("/").str.split("/").cast(pl.List(pl.Int64), strict=False),
        )
        .explode("bank_id")
    )
    done = disb.group_by("bank_id", "year").agg(
        pl.col("amount_fen").sum().alias("disbursed_fen"),
        pl.col("borrower_id").n_unique().cast(pl.Int64).alias("clients"),
    )
    return (
        plans.select("bank_id", "year", "planned_amount_fen", "planned_clients")
        .join(done, on=["bank_id", "year"], how="left")
        .with_columns(
            pl.col("disbursed_fen").fill_null(0),
            pl.col("clients").fill_null(0),
            through=pl.min_horizontal(pl.date(pl.col("year"), 12, 31), pl.lit(period_end)),
        )
        .with_columns(
            amount_fulfilment=_ratio("disbursed_fen", "planned_amount_fen"),
            clients_fulfilment=_ratio("clients", "planned_clients"),
        )
        .select(list(out_schema))
        .sort("year", "bank_id")
    )


def _first_financing(facts: _Facts) -> pl.DataFrame:
    """T2: enterprises first financed in the period, by size class (every class listed, zeros included)."""
    counted = (
        facts.loans.filter(pl.col("first_fin_loan"))
        .group_by("size_class")
        .agg(pl.col("borrower_id").n_unique().cast(pl.Int64).alias("enterprises"))
    )
    classes = pl.DataFrame({"size_class": list(SIZE_CLASSES)})
    return classes.join(counted, on="size_class", how="left").with_columns(pl.col("enterprises").fill_null(0))


def quarter_ends(period_start: dt.date, period_end: dt.date) -> list[dt.date]:
    """Ends of the quarters that overlap the period (the last one clipped to the period end)."""
    frame = buckets(period_start, period_end, "quarter")
    return list(frame.get_column("bucket_end"))


def _implementation(frames: LendingFrames, facts: _Facts, period_start: dt.date, period_end: dt.date) -> pl.DataFrame:
    """T3: implementation rate of pledged patents at each quarter end of the period."""
    days = pl.DataFrame({"day": quarter_ends(period_start, period_end)})
    patents = frames.collateral.filter(pl.col("ip_kind") == "patent").join(
        facts.loans.select("loan_id", "first_funded", "ended_on"), on="loan_id", how="inner"
    )
    # Day-major, so the rows come out sorted by day as the as-of join needs.
    pledged = days.join(patents, how="cross", maintain_order="left_right").filter(
        (pl.col("first_funded") <= pl.col("day"))
        & (pl.col("ended_on").is_null() | (pl.col("ended_on") > pl.col("day")))
    )
    # Two reports of one day: the later recorded (`seq`) stands, so the figure does not depend on row order (the
    # backward as-of join takes the last right row whose date is on or before the day).
    reports = frames.implementation_reports.sort("reported_on", "seq")
    with_report = pledged.join_asof(
        reports, left_on="day", right_on="reported_on", by="collateral_id", strategy="backward", check_sortedness=False
    )
    # A patent could sit in two loans' collateral (a renewal): count it once, by its latest report.
    per_patent = with_report.group_by("day", "ip_right_id").agg(
        pl.col("reported_on").max(), pl.col("status").sort_by("reported_on", "seq", nulls_last=False).last()
    )
    counted = per_patent.group_by("day").agg(
        pl.len().cast(pl.Int64).alias("patents"),
        pl.col("reported_on").is_not_null().sum().cast(pl.Int64).alias("with_report"),
        pl.col("status").is_in(IMPLEMENTED).sum().cast(pl.Int64).alias("implemented"),
    )
    return (
        days.join(counted, on="day", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in ("patents", "with_report", "implemented"))
        .with_columns(implementation_rate=_ratio("implemented", "with_report"))
        .sort("day")
    )


def pledge_rates(frames: LendingFrames) -> pl.DataFrame:
    """Per-loan pledge rate (质押率): approved principal ÷ appraised value, for loans whose collateral is all valued."""
    collateral = frames.collateral.group_by("loan_id").agg(
        pl.len().alias("_items"),
        pl.col("appraised_value_fen").count().alias("_valued"),
        pl.col("appraised_value_fen").sum().alias("appraised_fen"),
    )
    return (
        frames.loans.filter(pl.col("is_ip_pledge"))
        .select("loan_id", "principal_fen")
        .join(collateral, on="loan_id", how="inner")
        .filter((pl.col("_items") == pl.col("_valued")) & pl.col("principal_fen").is_not_null())
        .with_columns(pledge_rate=_ratio("principal_fen", "appraised_fen"))
        .drop("_items", "_valued")
        .sort("loan_id")
    )


# ---------------------------------------------------------------------------
# Registration tables (CNIPA basis: never added to the lending figures)
# ---------------------------------------------------------------------------


def _registration_aggs() -> list[pl.Expr]:
    return [
        pl.col("claim_amount_fen").sum().alias("registered_amount_fen"),
        pl.len().cast(pl.Int64).alias("projects"),
        pl.col("pledgor_id").n_unique().cast(pl.Int64).alias("enterprises"),
        pl.col("claim_amount_fen").is_null().sum().cast(pl.Int64).alias("projects_without_amount"),
        pl.col("puhui").sum().cast(pl.Int64).alias("puhui_projects"),
    ]


def _registrations(frames: LendingFrames, period_start: dt.date, period_end: dt.date, granularity: str) -> pl.DataFrame:
    return frames.registrations.filter(pl.col("registered_on").is_between(period_start, period_end)).with_columns(
        pl.col("pledgee_id").alias("bank"),
        _root_id("pledgee_path").alias("head_office"),
        pl.col("park_id").alias("park"),
        pl.col("ip_kind").fill_null(""),
        pl.col("size_class").fill_null(""),
        *_region_dims(),
        puhui=(pl.col("claim_amount_fen") < puhui_threshold(pl.col("registered_on"))).fill_null(False),
        bucket=_bucket_of(pl.col("registered_on"), period_start, granularity),
    )


def _registration_ratios(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(puhui_share=_ratio("puhui_projects", "projects"))


def thresholds_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "since": [since for since, _ in PUHUI_THRESHOLDS],
            "until": [*(since - dt.timedelta(days=1) for since, _ in PUHUI_THRESHOLDS[1:]), None],
            "below_fen": [fen for _, fen in PUHUI_THRESHOLDS],
        },
        schema={"since": pl.Date, "until": pl.Date, "below_fen": pl.Int64},
    )


# ---------------------------------------------------------------------------
# The set
# ---------------------------------------------------------------------------


def indicator_set(
    frames: LendingFrames,
    *,
    period_start: dt.date,
    period_end: dt.date,
    slices: Sequence[str] = SLICES,
    granularity: str = "month",
) -> dict[str, pl.DataFrame]:
    """Every indicator table for the period; see the module docstring for the definitions.

    Tables: `lending_summary`, `lending_by_<slice>` for each slice, `lending_series`, `npl_vs_bank`, `credit_plan`,
    `t2_first_financing`, `t3_implementation`, `registration_summary`, `registration_by_<slice>`,
    `registration_series`, `puhui_thresholds`. Slice key columns are ids or codes (`bank`, `head_office`, `park`
    organisation/park ids; `province`, `city` region codes; `ip_kind`, `size_class` choice values).
    """
    _check_period(period_start, period_end, granularity)
    if frames.summed_before is not None and period_start < frames.summed_before:
        raise ValueError(
            f"the frames sum repayments before {frames.summed_before}: load them with since={period_start} or earlier"
        )
    unknown = set(slices) - set(SLICES)
    if unknown:
        raise ValueError(f"unknown slices: {sorted(unknown)}")
    facts = _facts(frames, period_start, period_end, granularity)
    aggs = _lending_aggs()
    tables: dict[str, pl.DataFrame] = {"lending_summary": _lending_ratios(facts.loans.select(aggs))}
    for key in slices:
        tables[f"lending_by_{key}"] = _lending_ratios(_by(facts.loans, key, aggs))
    tables["lending_series"] = _lending_series(facts, period_start, period_end, granularity)
    tables["npl_vs_bank"] = _npl_vs_bank(facts, frames, period_end)
    tables["credit_plan"] = _credit_plan(frames, facts, period_start, period_end)
    tables["t2_first_financing"] = _first_financing(facts)
    tables["t3_implementation"] = _implementation(frames, facts, period_start, period_end)

    registrations = _registrations(frames, period_start, period_end, granularity)
    raggs = _registration_aggs()
    tables["registration_summary"] = _registration_ratios(registrations.select(raggs))
    for key in slices:
        tables[f"registration_by_{key}"] = _registration_ratios(_by(registrations, key, raggs))
    series = buckets(period_start, period_end, granularity).join(
        registrations.group_by("bucket").agg(raggs), on="bucket", how="left"
    )
    counts = ("registered_amount_fen", "projects", "enterprises", "projects_without_amount", "puhui_projects")
    tables["registration_series"] = _registration_ratios(series.with_columns(pl.col(c).fill_null(0) for c in counts))
    tables["puhui_thresholds"] = thresholds_table()
    return tables
