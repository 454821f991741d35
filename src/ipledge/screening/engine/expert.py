"""The expert scorecard (专家权重评分卡): the documented weights used until the platform's own loan outcomes are
enough to fit a card (`scorecard.fit_logistic`; the minimum is in `services.scorecards`).

Scale. Base 40 points; a characteristic adds −20 … +10. An enterprise with nothing known about it beyond its basic
registration (no valuation, no patents, no ratings, micro, young, outside the target industries) gets about 40; a
typical park SME (one or two invention patents, an innovation score of 40–60, a clean record, tax rating B, small,
5–10 years old, manufacturing) about 62; a strong one 90–105; a bad credit history can take a score below 0. The
intended reading is the trained cards' scale (`scorecard` module docstring): 60 ≈ 20:1 good:bad odds, ten points
doubling the odds. This card is *not* calibrated on outcomes: that reading is a design intention until a trained
card measures it.

Missing values score 0 everywhere (the "未提供" / not supplied bins): an enterprise is neither punished nor rewarded
for data the platform does not have (valuation.md §5.7: keep unknown separate from zero). This matters most for the
financial ratio, which only some enterprises supply.

Characteristics, bins → points, and why:

valuation_grade (best grade of its currently valued rights)
    AAA/AA/A +10 · BBB/BB +6 · B +2 · CCC/CC/C −4 · not valued 0.
    The pledge-rate policy takes the full cap at A and above, 0.9 at BBB, 0.75 at BB, 0.5 at B and lends nothing
    at CCC and below (valuation engine `pledge_rate_defaults.csv`; valuation.md §5.5 "base cap × score-band
    adjustment"): points follow what the collateral is worth to a lender.
invention_patents (valid invention patents held)
    0 → 0 · 1–2 +4 · 3–9 +7 · ≥10 +10.
    The action plan asks banks to use IP as the core indicator of innovation capability (valuation.md §0.7, §1.4);
    invention patents are the pledgeable core (the highest cap, 25 %: valuation.md §1.4) and CNIPA's high-value
    patents are inventions (§1.2). Diminishing steps: value is skewed and a count is a weak proxy (§0.4–0.5).
innovation_score (the platform's enterprise innovation score, 0–100)
    <40 −2 · 40–60 +2 · 60–80 +5 · ≥80 +8 · none 0.
    The 以知识产权为核心指标 innovation evaluation (valuation.md §5.6); a smaller weight than the patents it
    partly repeats.
penalties_3y (administrative penalties in force, listed in the last 3 years)
    0 +4 · 1 0 · 2 −5 · ≥3 −10.
    Funds ask for a clean record over 3 years (Guangzhou fund: "no bad credit record in PBoC credit reporting for
    3 yrs", domain.md §4.1 table); a single penalty is common and minor, repeated ones show a pattern.
tax_rating (latest tax credit rating in force)
    A +6 · B +3 · M +1 · C −6 · D −15 · not rated 0.
    The tax rating is the credit datum the 信易贷 platforms share first (domain.md §7.3: tax, social insurance …);
    D is usually a hard exclusion and weighs heavily here for cards used without it. M rates new taxpayers.
prior_bad_loans (its loans classified substandard or worse, or defaulted)
    0 → 0 · 1 −12 · ≥2 −20.
    Non-performing history is the strongest credit signal there is: the 2023 classification rules make one
    non-performing claim contaminate the debtor's others (cross-default, domain.md fact 6).
size_class
    medium +4 · small +2 · large +2 · micro 0 · unknown 0.
    Size stands for repayment capacity; the plan serves SMEs (入园惠企; Guangzhou: an SME under
    工信部联企业〔2011〕300号, domain.md §4.1), so a large firm earns no more than a small one.
age_years (years since establishment)
    <2 −6 · 2–5 0 · 5–10 +3 · ≥10 +5 · unknown 0.
    Funds require a track record (Guangzhou: registered ≥ 1 year, domain.md §4.1); young firms default more
    (platform default, general credit practice).
industry_section (GB/T 4754 section)
    C manufacturing, I information technology, M science & technical services +4 · other 0 · unknown 0.
    The plan targets high-tech and tech SMEs (domain.md §0: the 2.5 % baseline is of high-tech and tech-SME
    firms); these sections hold the patent-intensive firms, and CNIPA's high-value patents are tied to strategic
    emerging industries (valuation.md §1.2).
is_high_tech (高新技术企业)
    yes +5 · no 0. The certification itself requires owned core IP and R&D spending; the plan names these firms
    (domain.md §0).
is_specialised (专精特新)
    yes +5 · no 0. Likewise a certified niche-technology SME the plan's parks aim at.
asset_turnover (revenue / total assets)
    <0.3 −3 · 0.3–0.8 0 · 0.8–1.5 +3 · ≥1.5 +4 · not supplied 0.
    Revenue earned on its assets is the repayment source the income approach values (valuation.md §1.3); a small
    weight, as only some enterprises supply financials.

Pure: no Django imports.
"""

from __future__ import annotations

from .spec import Bin, Characteristic, ScorecardSpec

BASE_POINTS = 40.0
NOT_SUPPLIED = "未提供"
NOT_VALUED = "未评估"
NOT_RATED = "未评级"
OTHER = "其他"

GRADE_BANDS = (
    ("AAA–A", 10.0, ("AAA", "AA", "A")),
    ("BBB–BB", 6.0, ("BBB", "BB")),
    ("B", 2.0, ("B",)),
    ("CCC–C", -4.0, ("CCC", "CC", "C")),
)

TARGET_SECTIONS = ("C", "I", "M")


def _missing(label: str = NOT_SUPPLIED) -> Bin:
    return Bin(label=label, points=0.0, missing=True)


def _flag(name: str, label: str, yes: float) -> Characteristic:
    return Characteristic(
        name=name,
        label=label,
        kind="flag",
        bins=(
            Bin(label="是", points=yes, categories=("true",)),
            Bin(label="否", points=0.0, categories=("false",)),
            _missing(),
        ),
    )


EXPERT_SCORECARD = ScorecardSpec(
    method="expert",
    base_points=BASE_POINTS,
    characteristics=(
        Characteristic(
            name="valuation_grade",
            label="知识产权评估等级",
            kind="categorical",
            bins=(
                *(Bin(label=label, points=points, categories=grades) for label, points, grades in GRADE_BANDS),
                Bin(label=OTHER, points=0.0),
                _missing(NOT_VALUED),
            ),
        ),
        Characteristic(
            name="invention_patents",
            label="有效发明专利",
            kind="numeric",
            bins=(
                Bin(label="0", points=0.0, upper=1.0),
                Bin(label="1–2", points=4.0, lower=1.0, upper=3.0),
                Bin(label="3–9", points=7.0, lower=3.0, upper=10.0),
                Bin(label="≥10", points=10.0, lower=10.0),
                _missing(),
            ),
        ),
        Characteristic(
            name="innovation_score",
            label="企业创新能力评分",
            kind="numeric",
            bins=(
                Bin(label="<40", points=-2.0, upper=40.0),
                Bin(label="40–60", points=2.0, lower=40.0, upper=60.0),
                Bin(label="60–80", points=5.0, lower=60.0, upper=80.0),
                Bin(label="≥80", points=8.0, lower=80.0),
                _missing("未评价"),
            ),
        ),
        Characteristic(
            name="penalties_3y",
            label="近三年行政处罚",
            kind="numeric",
            bins=(
                Bin(label="0", points=4.0, upper=1.0),
                Bin(label="1", points=0.0, lower=1.0, upper=2.0),
                Bin(label="2", points=-5.0, lower=2.0, upper=3.0),
                Bin(label="≥3", points=-10.0, lower=3.0),
                _missing(),
            ),
        ),
        Characteristic(
            name="tax_rating",
            label="纳税信用等级",
            kind="categorical",
            bins=(
                Bin(label="A", points=6.0, categories=("A",)),
                Bin(label="B", points=3.0, categories=("B",)),
                Bin(label="M", points=1.0, categories=("M",)),
                Bin(label="C", points=-6.0, categories=("C",)),
                Bin(label="D", points=-15.0, categories=("D",)),
                Bin(label=OTHER, points=0.0),
                _missing(NOT_RATED),
            ),
        ),
        Characteristic(
            name="prior_bad_loans",
            label="历史不良贷款",
            kind="numeric",
            bins=(
                Bin(label="0", points=0.0, upper=1.0),
                Bin(label="1", points=-12.0, lower=1.0, upper=2.0),
                Bin(label="≥2", points=-20.0, lower=2.0),
                _missing(),
            ),
        ),
        Characteristic(
            name="size_class",
            label="企业规模",
            kind="categorical",
            bins=(
                Bin(label="中型", points=4.0, categories=("medium",)),
                Bin(label="小型", points=2.0, categories=("small",)),
                Bin(label="大型", points=2.0, categories=("large",)),
                Bin(label="微型", points=0.0, categories=("micro",)),
                Bin(label=OTHER, points=0.0),
                _missing(),
            ),
        ),
        Characteristic(
            name="age_years",
            label="成立年限",
            kind="numeric",
            bins=(
                Bin(label="<2年", points=-6.0, upper=2.0),
                Bin(label="2–5年", points=0.0, lower=2.0, upper=5.0),
                Bin(label="5–10年", points=3.0, lower=5.0, upper=10.0),
                Bin(label="≥10年", points=5.0, lower=10.0),
                _missing(),
            ),
        ),
        Characteristic(
            name="industry_section",
            label="行业门类",
            kind="categorical",
            bins=(
                Bin(label="制造业、信息技术、科技服务（C/I/M）", points=4.0, categories=TARGET_SECTIONS),
                Bin(label=OTHER, points=0.0),
                _missing(),
            ),
        ),
        _flag("is_high_tech", "高新技术企业", 5.0),
        _flag("is_specialised", "专精特新企业", 5.0),
        Characteristic(
            name="asset_turnover",
            label="总资产周转率",
            kind="numeric",
            bins=(
                Bin(label="<0.3", points=-3.0, upper=0.3),
                Bin(label="0.3–0.8", points=0.0, lower=0.3, upper=0.8),
                Bin(label="0.8–1.5", points=3.0, lower=0.8, upper=1.5),
                Bin(label="≥1.5", points=4.0, lower=1.5),
                _missing(),
            ),
        ),
    ),
    notes=(
        "Expert weights (see ipledge.screening.engine.expert): base 40; IP strength up to +28, credit history "
        "+10 to −45, size, age, industry, certifications and the asset turnover the rest; missing data scores 0. "
        "Designed to read like the trained cards' scale (60 ≈ 20:1 good:bad odds, +10 points doubles the odds) "
        "but not calibrated on outcomes."
    ),
)

# The characteristics a trained card fits, in the expert card's order, as (name, label, kind).
CHARACTERISTICS: list[tuple[str, str, str]] = [(c.name, c.label, c.kind) for c in EXPERT_SCORECARD.characteristics]
