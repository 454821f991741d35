"""Five-category classification engine (五级分类: 正常 / 关注 / 次级 / 可疑 / 损失), pure and vectorised.

Rules follow 《商业银行金融资产风险分类办法》（银保监会 中国人民银行令〔2023〕第1号, in force 1 Jul 2023) for
non-retail assets, as summarised in `shared/research/domain.md` §6. Article numbers are not cited because the
official text was not retrieved; each rule names its provision by content (the item numbers of the 关注 and 次级
lists are those of domain.md's table). Thresholds marked "[unconfirmed]" in domain.md (可疑 > 270 days, 损失 > 360
days, the expected-credit-loss bands) are implemented as the project brief fixes them and must be checked against
the official text.

How a class is reached, in this order:

1. Floors (触发规则). Every rule in `RULES` whose condition holds sets a minimum class; the loan gets the worst
   of them, or 正常 when none holds. Only the most severe days-past-due band is reported (a loan 100 days past
   due fires `dpd_gt_90`, not also `dpd_gt_7`).
2. Stickiness of non-performing classes (不良资产上调). A loan currently 次级/可疑/损失 moves to a better class
   only when all arrears are repaid, then at least 2 consecutive periods were repaid on time *and* 6 months
   passed (the longer of the two), and no credit-impaired asset of the debtor remains at the bank; otherwise it
   keeps its current class (`npl_upgrade_conditions_unmet`). This holds for moves within the non-performing
   classes too (可疑 → 次级). Six months are calendar months, clamped to a shorter month's end. 关注 has no such
   condition: it returns to 正常 as soon as no trigger holds.
3. Manual override (人工认定). A loan's `manual_class` is a floor like any other rule: it can make the class
   worse than the rules say, never better. In particular it can never lift a loan above its days-past-due
   floor, nor above a non-performing class that the upgrade conditions keep. Clearing the override does not by
   itself upgrade a non-performing loan: step 2 applies.

Cross-default (交叉违约) uses integer fen, weighted by outstanding principal, so the strict "more than 10 %" and
"more than 20 %" boundaries are exact: the debtor's claims at the same bank (one head-office tree) and its debts
at all banks on the platform are passed in as amounts. `portfolio_facts` computes them for a whole portfolio in
two passes: first each loan's own class without cross-default, then the shares from those classes.

`classify` (one loan, plain Python) and `classify_frame` (Polars, for the daily close of business over
hundreds of thousands of loans) implement the same rules; a property test keeps them equal.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

import polars as pl

# --- vocabulary (values of `LoanClass`) -------------------------------------------------------------------------

NORMAL = "normal"
SPECIAL_MENTION = "special_mention"
SUBSTANDARD = "substandard"
DOUBTFUL = "doubtful"
LOSS = "loss"
CLASSES: tuple[str, ...] = (NORMAL, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS)
RANK: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}
NON_PERFORMING = frozenset({SUBSTANDARD, DOUBTFUL, LOSS})

CITATION = "《商业银行金融资产风险分类办法》（银保监会 中国人民银行令〔2023〕第1号）"

# --- rule table -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    floor: str  # the class the loan is at least in when the rule holds ("" for rules that only hold a class)
    zh: str
    en: str
    citation: str


def _rule(code: str, floor: str, zh: str, en: str, provision: str) -> Rule:
    return Rule(code=code, floor=floor, zh=zh, en=en, citation=f"{CITATION} {provision}")


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        _rule(
            "dpd_gt_7",
            SPECIAL_MENTION,
            "本金、利息逾期超过7天（7天以内的技术性逾期除外）",
            "principal or interest more than 7 days past due (technical overdue within 7 days excepted)",
            "非零售资产 关注类情形（1）",
        ),
        _rule(
            "dpd_gt_90",
            SUBSTANDARD,
            "本金、利息逾期超过90天",
            "principal or interest more than 90 days past due",
            "非零售资产 次级类情形（1）",
        ),
        _rule(
            "dpd_gt_270",
            DOUBTFUL,
            "本金、利息逾期超过270天",
            "principal or interest more than 270 days past due",
            "非零售资产 可疑类 [unconfirmed]",
        ),
        _rule(
            "dpd_gt_360",
            LOSS,
            "本金、利息逾期超过360天",
            "principal or interest more than 360 days past due",
            "非零售资产 损失类 [unconfirmed]",
        ),
        _rule(
            "funds_misused",
            SPECIAL_MENTION,
            "未经银行同意擅自改变资金用途（挪用贷款资金）",
            "funds used for another purpose without the bank's consent",
            "非零售资产 关注类情形（2）",
        ),
        _rule(
            "refinanced_by_new_loan",
            SPECIAL_MENTION,
            "通过借新还旧或其他债务融资方式偿还",
            "repaid by new borrowing (借新还旧) or other debt financing",
            "非零售资产 关注类情形（3）",
        ),
        _rule(
            "debtor_npl_elsewhere",
            SPECIAL_MENTION,
            "债务人在本行或其他银行有不良债务",
            "the debtor has a non-performing debt at this or another bank",
            "非零售资产 关注类情形（4）",
        ),
        _rule(
            "restructure_observation",
            SPECIAL_MENTION,
            "重组资产处于观察期内（不少于1年且不少于2个还款期）",
            "restructured asset within its observation period (at least 1 year and 2 repayment periods)",
            "重组资产观察期",
        ),
        _rule(
            "credit_impaired",
            SUBSTANDARD,
            "已发生信用减值",
            "the asset is credit-impaired",
            "非零售资产 次级类情形（2）",
        ),
        _rule(
            "external_rating_downgraded",
            SUBSTANDARD,
            "债务人或金融资产的外部评级大幅下调，导致债务人的履约能力显著下降",
            "external rating sharply downgraded, repayment capacity markedly reduced",
            "非零售资产 次级类情形（3）",
        ),
        _rule(
            "cross_default_bank_10pct",
            SUBSTANDARD,
            "债务人在本行（同一总行）债权超过10%已是不良，其在本行的全部债权均归为不良",
            "more than 10% of the debtor's claims at this bank are non-performing: all its claims are",
            "交叉违约（非零售债务人在本行债权超过10%为不良）",
        ),
        _rule(
            "cross_default_platform_20pct",
            SUBSTANDARD,
            "债务人在所有银行的债务中逾期超过90天的超过20%",
            "more than 20% of the debtor's debts at all banks are more than 90 days past due",
            "非零售资产 次级类情形（4）",
        ),
        _rule(
            "ecl_ge_50pct",
            DOUBTFUL,
            "已发生信用减值，且预期信用损失占账面余额50%以上",
            "credit-impaired with expected credit loss of at least 50% of the book value",
            "非零售资产 可疑类 [unconfirmed]",
        ),
        _rule(
            "ecl_ge_90pct",
            LOSS,
            "已发生信用减值，且预期信用损失占账面余额90%以上",
            "credit-impaired with expected credit loss of at least 90% of the book value",
            "非零售资产 损失类 [unconfirmed]",
        ),
        _rule(
            "manual_override",
            "",  # the floor is the loan's own manual class
            "人工认定分类（只能调低，不能调高）",
            "manual classification by the bank (a floor: it can only make the class worse)",
            "风险分类管理（人工认定须有理由并留痕）",
        ),
        _rule(
            "npl_upgrade_conditions_unmet",
            "",  # keeps the current class
            "不良资产上调条件未满足：逾期款项须全部结清，此后连续正常还款不少于2期且不少于6个月（孰长），且无信用减值资产",
            "non-performing upgrade conditions unmet: arrears fully repaid, then at least 2 periods repaid on time "
            "and 6 months, whichever is longer, and no credit-impaired asset left",
            "不良资产上调条件",
        ),
    )
}

# Days-past-due bands, worst first: (more than this many days, rule code).
DPD_BANDS: tuple[tuple[int, str], ...] = ((360, "dpd_gt_360"), (270, "dpd_gt_270"), (90, "dpd_gt_90"), (7, "dpd_gt_7"))
# Event flags read straight from the loan: (fact field, rule code).
FLAG_RULES: tuple[tuple[str, str], ...] = (
    ("funds_misused", "funds_misused"),
    ("refinanced_by_new_loan", "refinanced_by_new_loan"),
    ("debtor_npl_elsewhere", "debtor_npl_elsewhere"),
    ("credit_impaired", "credit_impaired"),
    ("external_rating_downgraded", "external_rating_downgraded"),
)
# Expected-credit-loss bands, worst first; they apply only to credit-impaired assets.
ECL_BANDS: tuple[tuple[Decimal, str], ...] = ((Decimal("0.9"), "ecl_ge_90pct"), (Decimal("0.5"), "ecl_ge_50pct"))
BANK_NPL_THRESHOLD_PCT = 10  # strictly more than 10 % of the debtor's claims at this bank
PLATFORM_OVER90_THRESHOLD_PCT = 20  # strictly more than 20 % of the debtor's debts at all banks
PLATFORM_OVERDUE_DAYS = 90
UPGRADE_MIN_PERIODS = 2
UPGRADE_MIN_MONTHS = 6


# --- facts and decision -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanFacts:
    """What the rules read about one loan on a business day (amounts in fen)."""

    current_class: str = NORMAL
    days_past_due: int = 0
    funds_misused: bool = False
    refinanced_by_new_loan: bool = False
    credit_impaired: bool = False
    external_rating_downgraded: bool = False
    expected_loss_ratio: Decimal | None = None
    # Another live loan of the same debtor (at any bank on the platform) is non-performing.
    debtor_npl_elsewhere: bool = False
    # Another loan of the debtor at the same bank (head-office tree) is credit-impaired: blocks NPL upgrades.
    debtor_impaired_at_bank: bool = False
    # Cross-default (交叉违约): the debtor's claims at this bank (this loan included) and the non-performing part
    # of its *other* claims there; its debts at all banks (this loan included) and the part of its other debts
    # more than 90 days past due. Leaving the loan's own amount out of the numerators changes no class (a loan
    # that is itself non-performing or > 90 days past due is 次级 by its own rules) but keeps the reasons honest:
    # cross-default names a loan dragged down by the debtor's other debts.
    bank_claims_fen: int = 0
    bank_npl_fen: int = 0
    platform_claims_fen: int = 0
    platform_over90_fen: int = 0
    restructure_observation_until: date | None = None
    # Upgrade evidence: the day from which the loan has performed (arrears fully repaid, and not before the day
    # it entered its current class), and how many consecutive periods fell due after it and were paid on time.
    arrears_cleared_on: date | None = None
    periods_paid_on_time: int = 0
    manual_class: str = ""


@dataclass(frozen=True)
class Decision:
    to_class: str
    reasons: tuple[str, ...]  # rule codes, in `RULES` order


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LoanFacts))

FRAME_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "current_class": pl.String,
    "days_past_due": pl.Int64,
    "funds_misused": pl.Boolean,
    "refinanced_by_new_loan": pl.Boolean,
    "credit_impaired": pl.Boolean,
    "external_rating_downgraded": pl.Boolean,
    "expected_loss_ratio": pl.Float64,
    "debtor_npl_elsewhere": pl.Boolean,
    "debtor_impaired_at_bank": pl.Boolean,
    "bank_claims_fen": pl.Int64,
    "bank_npl_fen": pl.Int64,
    "platform_claims_fen": pl.Int64,
    "platform_over90_fen": pl.Int64,
    "restructure_observation_until": pl.Date,
    "arrears_cleared_on": pl.Date,
    "periods_paid_on_time": pl.Int64,
    "manual_class": pl.String,
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to a shorter month's end (as Polars' `dt.offset_by("6mo")` does)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _worst(a: str, b: str) -> str:
    return a if RANK[a] >= RANK[b] else b


# --- one loan ---------------------------------------------------------------------------------------------------


def _fired(facts: LoanFacts, business_day: date) -> list[str]:
    """Codes of the floor rules that hold, in `RULES` order."""
    fired: set[str] = set()
    for days, code in DPD_BANDS:
        if facts.days_past_due > days:
            fired.add(code)
            break
    fired.update(code for field, code in FLAG_RULES if getattr(facts, field))
    if facts.credit_impaired and facts.expected_loss_ratio is not None:
        for ratio, code in ECL_BANDS:
            if facts.expected_loss_ratio >= ratio:
                fired.add(code)
                break
    until = facts.restructure_observation_until
    if until is not None and business_day <= until:
        fired.add("restructure_observation")
    if facts.bank_npl_fen * 100 > facts.bank_claims_fen * BANK_NPL_THRESHOLD_PCT and facts.bank_npl_fen > 0:
        fired.add("cross_default_bank_10pct")
    if (
        facts.platform_over90_fen * 100 > facts.platform_claims_fen * PLATFORM_OVER90_THRESHOLD_PCT
        and facts.platform_over90_fen > 0
    ):
        fired.add("cross_default_platform_20pct")
    return [code for code in RULES if code in fired]


def upgrade_allowed(facts: LoanFacts, business_day: date) -> bool:
    """Whether a non-performing loan may move to a better class (arrears repaid, performing long enough)."""
    cleared = facts.arrears_cleared_on
    return (
        facts.days_past_due == 0
        and cleared is not None
        and facts.periods_paid_on_time >= UPGRADE_MIN_PERIODS
        and business_day >= add_months(cleared, UPGRADE_MIN_MONTHS)
        and not facts.credit_impaired
        and not facts.debtor_impaired_at_bank
    )


def classify(facts: LoanFacts, *, business_day: date) -> Decision:
    """The class of one loan on `business_day` and every rule that put it there."""
    reasons = _fired(facts, business_day)
    to_class = NORMAL
    for code in reasons:
        to_class = _worst(to_class, RULES[code].floor)
    current = facts.current_class
    if current in NON_PERFORMING and RANK[to_class] < RANK[current] and not upgrade_allowed(facts, business_day):
        to_class = current
        reasons.append("npl_upgrade_conditions_unmet")
    if facts.manual_class:
        to_class = _worst(to_class, facts.manual_class)
        reasons.append("manual_override")
    return Decision(to_class=to_class, reasons=tuple(code for code in RULES if code in reasons))


# --- many loans -------------------------------------------------------------------------------------------------


def _floor_exprs(business_day: date) -> dict[str, pl.Expr]:
    """Boolean expression per floor rule, mirroring `_fired`."""
    dpd = pl.col("days_past_due")
    exprs: dict[str, pl.Expr] = {}
    worse_band: pl.Expr = pl.lit(False)
    for days, code in DPD_BANDS:
        exprs[code] = (dpd > days) & ~worse_band
        worse_band = worse_band | (dpd > days)
    for field, code in FLAG_RULES:
        exprs[code] = pl.col(field).fill_null(False)
    ratio = pl.col("expected_loss_ratio")
    impaired = pl.col("credit_impaired").fill_null(False) & ratio.is_not_null()
    worse_ecl: pl.Expr = pl.lit(False)
    for threshold, code in ECL_BANDS:
        hit = impaired & (ratio >= float(threshold))
        exprs[code] = hit & ~worse_ecl
        worse_ecl = worse_ecl | hit
    exprs["restructure_observation"] = (pl.col("restructure_observation_until") >= pl.lit(business_day)).fill_null(
        False
    )
    npl, claims = pl.col("bank_npl_fen"), pl.col("bank_claims_fen")
    exprs["cross_default_bank_10pct"] = (npl * 100 > claims * BANK_NPL_THRESHOLD_PCT) & (npl > 0)
    over90, debts = pl.col("platform_over90_fen"), pl.col("platform_claims_fen")
    exprs["cross_default_platform_20pct"] = (over90 * 100 > debts * PLATFORM_OVER90_THRESHOLD_PCT) & (over90 > 0)
    return exprs


def _rank_expr(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(RANK, default=None, return_dtype=pl.Int64)


def classify_frame(frame: pl.DataFrame, *, business_day: date) -> pl.DataFrame:
    """`classify` over a frame with the `LoanFacts` columns (see `FRAME_SCHEMA`); adds `to_class` and `reasons`.

    Missing fact columns take the `LoanFacts` defaults, so callers only pass what they know.
    """
    defaults = LoanFacts()
    missing = [
        pl.lit(getattr(defaults, name), dtype=dtype).alias(name)
        for name, dtype in FRAME_SCHEMA.items()
        if name not in frame.columns
    ]
    lf = frame.lazy().with_columns(missing) if missing else frame.lazy()
    lf = lf.with_columns(pl.col("manual_class").fill_null(""), pl.col("periods_paid_on_time").fill_null(0))
    floors = _floor_exprs(business_day)
    rule_rank = pl.max_horizontal(
        pl.lit(RANK[NORMAL], dtype=pl.Int64),
        *(pl.when(hit).then(RANK[RULES[code].floor]).otherwise(RANK[NORMAL]) for code, hit in floors.items()),
    )
    current_rank = _rank_expr("current_class")
    cleared = pl.col("arrears_cleared_on")
    upgrade_ok = (
        (pl.col("days_past_due") == 0)
        & cleared.is_not_null()
        & (pl.col("periods_paid_on_time") >= UPGRADE_MIN_PERIODS)
        & (cleared.dt.offset_by(f"{UPGRADE_MIN_MONTHS}mo") <= pl.lit(business_day))
        & ~pl.col("credit_impaired").fill_null(False)
        & ~pl.col("debtor_impaired_at_bank").fill_null(False)
    ).fill_null(False)
    held = (current_rank >= RANK[SUBSTANDARD]) & (pl.col("_rule_rank") < current_rank) & ~upgrade_ok
    manual = pl.col("manual_class") != ""
    manual_rank = pl.when(manual).then(_rank_expr("manual_class")).otherwise(pl.lit(0, dtype=pl.Int64))
    hits = {**floors, "npl_upgrade_conditions_unmet": pl.col("_held"), "manual_override": manual}
    reasons = pl.concat_list(
        [pl.when(hits[code]).then(pl.lit(code)).otherwise(pl.lit(None, dtype=pl.String)) for code in RULES]
    ).list.drop_nulls()
    out = (
        lf.with_columns(rule_rank.alias("_rule_rank"))
        .with_columns(held.fill_null(False).alias("_held"))
        .with_columns(
            pl.max_horizontal(
                pl.when(pl.col("_held")).then(current_rank).otherwise(pl.col("_rule_rank")), manual_rank
            ).alias("_rank")
        )
        .with_columns(
            pl.col("_rank").replace_strict(dict(enumerate(CLASSES)), return_dtype=pl.String).alias("to_class"),
            reasons.alias("reasons"),
        )
        .drop("_rule_rank", "_held", "_rank")
    )
    return out.collect()


# --- portfolio: cross-default shares from a first pass ------------------------------------------------------------


def portfolio_facts(frame: pl.DataFrame, *, business_day: date) -> pl.DataFrame:
    """Fill the debtor-level facts of a whole portfolio, then they can go to `classify_frame`.

    Needs per loan: `borrower_id`, `head_office_id`, `outstanding_fen` and the loan's own facts. A first pass
    classifies each loan on its own rules (no debtor-level facts); the debtor-level columns then follow from those
    classes: `bank_claims_fen` / `bank_npl_fen` per (debtor, head office), `platform_claims_fen` /
    `platform_over90_fen` per debtor (numerators without the loan's own amount), `debtor_npl_elsewhere` (another
    of its loans is non-performing) and `debtor_impaired_at_bank` (another of its loans at the same bank is
    credit-impaired).
    """
    debtor_cols = (
        "bank_claims_fen",
        "bank_npl_fen",
        "platform_claims_fen",
        "platform_over90_fen",
        "debtor_npl_elsewhere",
        "debtor_impaired_at_bank",
    )
    own = classify_frame(frame.drop([c for c in debtor_cols if c in frame.columns]), business_day=business_day)
    amount = pl.col("outstanding_fen")
    npl = pl.col("to_class").is_in(list(NON_PERFORMING))
    impaired = pl.col("credit_impaired").fill_null(False)
    bank = ["borrower_id", "head_office_id"]
    own_npl = pl.when(npl).then(amount).otherwise(0)
    own_over90 = pl.when(pl.col("days_past_due") > PLATFORM_OVERDUE_DAYS).then(amount).otherwise(0)
    return (
        own.lazy()
        .with_columns(
            amount.sum().over(bank).alias("bank_claims_fen"),
            (own_npl.sum().over(bank) - own_npl).alias("bank_npl_fen"),
            amount.sum().over("borrower_id").alias("platform_claims_fen"),
            (own_over90.sum().over("borrower_id") - own_over90).alias("platform_over90_fen"),
            ((npl.cast(pl.Int64).sum().over("borrower_id") - npl.cast(pl.Int64)) > 0).alias("debtor_npl_elsewhere"),
            ((impaired.cast(pl.Int64).sum().over(bank) - impaired.cast(pl.Int64)) > 0).alias("debtor_impaired_at_bank"),
        )
        .drop("to_class", "reasons")
        .collect()
    )


def facts_row(facts: LoanFacts) -> dict[str, object]:
    """One `LoanFacts` as a frame row (ratios as float: they are not money and the bands are two decimals)."""
    row: dict[str, object] = {name: getattr(facts, name) for name in FACT_FIELDS}
    ratio = facts.expected_loss_ratio
    row["expected_loss_ratio"] = None if ratio is None else float(ratio)
    return row
