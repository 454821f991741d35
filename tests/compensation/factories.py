"""A risk-compensation world on top of `tests.world`: a Beijing fund with two schemes, and loans turned bad.

`add_fund(w)` gives the fund `BJ-IPF` managed by `fund`, sponsored by `ipo_bj`, ¥30 m capital paid in, leverage
10×, with two published schemes:
- `JS`: the Jiangsu 苏知贷 tiers (balance ≤ ¥10 m fund 80 : bank 20; ¥10–30 m 50 : 50), principal only;
- `ZS`: the Zhongshan four-party split fund 54 : bank 26 : insurer 16 : valuer 4.
`enrolled_loan` and `turn_bad` make a disbursed IP-pledge loan of bank1_sub to e1, enrolled, with its outstanding principal
brought down by scheduled repayments and then classified 次级 by the bank's reviewer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ipledge.compensation import services
from ipledge.compensation.models import Enrolment, Fund, Scheme
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import Region
from ipledge.core.money import Money
from ipledge.lending import services as lending
from ipledge.lending.classification import loan_classification_override
from ipledge.lending.models import Loan
from tests.lending.factories import contracted_loan, pledge_registration
from tests.world import World

FUND_DAY = date(2024, 1, 2)
JIANGSU_TIERS = [
    {"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}},
    {"up_to": "30000000.00", "shares": {"fund": "0.5", "bank": "0.5"}},
]
ZHONGSHAN_TIERS = [{"up_to": None, "shares": {"fund": "0.54", "bank": "0.26", "insurer": "0.16", "valuer": "0.04"}}]


def publish_scheme(w: World, fund: Fund, code: str, name: str, tiers: list[dict[str, Any]], **rules: Any) -> Scheme:
    """Draft by the fund's operator, published by its reviewer (maker-checker)."""
    operator, reviewer = w.user("fund"), w.user("fund", Role.REVIEWER)
    scheme = services.scheme_create(fund=fund, code=code, name=name, acting_user=operator)
    version = services.scheme_version_draft(
        scheme=scheme,
        rules={"effective_from": FUND_DAY, "sharing_tiers": tiers, "claim_window_days": 180, **rules},
        acting_user=operator,
    )
    version = services.scheme_version_submit(version=version, acting_user=operator)
    services.scheme_version_approve(version=version, acting_user=reviewer)
    return scheme


def add_fund(
    w: World,
    *,
    capital: str = "30000000.00",
    code: str = "BJ-IPF",
    name: str = "北京市知识产权质押融资风险补偿资金",
    region: str = "110000",
    sponsor: str = "ipo_bj",
) -> Fund:
    with as_of(FUND_DAY):
        fund = services.fund_create(
            code=code,
            name=name,
            manager=w.orgs["fund"],
            region=Region.objects.get(code=region),
            capital=Money(capital),
            leverage_cap=Decimal("10"),
            established_on=FUND_DAY,
            sponsors=[w.orgs[sponsor]],
            acting_user=w.user("fund", Role.ADMIN),
        )
        services.contribution_record(
            fund=fund,
            sponsor=w.orgs[sponsor],
            amount=Money(capital),
            paid_on=FUND_DAY,
            idempotency_key="capital-1",
            acting_user=w.user("fund"),
        )
        publish_scheme(w, fund, "JS", "苏知贷分档分担", JIANGSU_TIERS)
        publish_scheme(w, fund, "ZS", "中山四方分担", ZHONGSHAN_TIERS)
    return fund


def enrolled_loan(
    w: World,
    fund: Fund,
    *,
    scheme: str = "JS",
    principal: str = "8000000.00",
    start: date = date(2025, 1, 15),
    borrower: str = "e1",
    bank: str = "bank1_sub",
    **parties: Any,
) -> tuple[Loan, Enrolment]:
    """An 8 m loan repaid quarterly in equal principal (2 m a quarter), disbursed on `start` and enrolled."""
    loan = contracted_loan(
        w,
        principal=principal,
        term_months=12,
        method="equal_principal",
        repayment_interval_months=3,
        start=start,
        with_pledge=False,
        borrower=borrower,
        bank=bank,
    )
    with as_of(start):
        # A registration of its own, dated `start`: the scheme requires the pledge to predate the loan's default.
        registration = pledge_registration(w, borrower=borrower, bank=bank, reuse=False)
        loan = lending.loan_pledge_link(loan=loan, registration=registration, acting_user=w.user(bank))
        lending.loan_disburse(
            loan=loan, amount=Money(principal), value_date=start, acting_user=w.user(bank), idempotency_key="d1"
        )
        loan.refresh_from_db()
        enrolment = services.enrolment_create(
            loan=loan,
            scheme=fund.schemes.get(code=scheme),
            acting_user=w.user(bank),
            insurer=parties.get("insurer"),
            valuer=parties.get("valuer"),
            guarantor=parties.get("guarantor"),
        )
    return loan, enrolment


def turn_bad(
    w: World, loan: Loan, *, instalments_paid: int = 1, npl_day: date = date(2025, 8, 1), bank: str = "bank1_sub"
) -> Loan:
    """Pay the first instalments on their due dates, then the bank's reviewer classifies the loan 次级."""
    for instalment in loan.instalments.order_by("number")[:instalments_paid]:
        with as_of(instalment.due_date):
            lending.loan_repay(
                loan=loan,
                amount=instalment.principal_due + instalment.interest_due,
                value_date=instalment.due_date,
                acting_user=w.user(bank),
                idempotency_key=f"r{instalment.number}",
            )
    loan.refresh_from_db()
    with as_of(npl_day):
        loan_classification_override(
            loan=loan,
            to_class="substandard",
            reason="借款人经营恶化，逾期",
            acting_user=w.user(bank, Role.REVIEWER),
        )
    loan.refresh_from_db()
    return loan


def add_compensation(w: World) -> dict[str, Any]:
    """One of every compensation row for the permission matrices: the fund and its schemes, a four-party (ZS)
    loan whose claim is advance-paid (the insurer's and valuer's instructions still open), a recovery, an alert
    and a finished stress run."""
    fund = add_fund(w)
    loan, enrolment = enrolled_loan(w, fund, scheme="ZS", insurer=w.orgs["insurer"], valuer=w.orgs["valuer"])
    loan = turn_bad(w, loan)
    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉")
        claim = services.claim_review(claim=claim, acting_user=w.user("fund"))
        claim = services.claim_approve(claim=claim, acting_user=w.user("fund", Role.REVIEWER))
    with as_of(date(2025, 9, 1)):
        services.recovery_record(
            claim=claim,
            kind="repayment",
            value_date=date(2025, 9, 1),
            gross_amount=Money("100000.00"),
            idempotency_key="rec-1",
            acting_user=w.user("bank1_sub"),
        )
    # A Jiangsu fund beside it, with a bank2 loan whose claim is only filed: rows on both sides of every wall.
    fund_js = add_fund(w, code="JS-IPF", name="江苏省知识产权质押融资风险补偿资金", region="320000", sponsor="ipo_js")
    loan_js, enrolment_js = enrolled_loan(w, fund_js, borrower="e2", bank="bank2")
    loan_js = turn_bad(w, loan_js, bank="bank2")
    with as_of(date(2025, 8, 10)):
        claim_js = services.claim_file(enrolment=enrolment_js, acting_user=w.user("bank2"), collection_efforts="已起诉")
    with as_of(date(2025, 9, 1)):
        services.claim_review(claim=claim_js, acting_user=w.user("fund"))
        claim_js = services.claim_approve(claim=claim_js, acting_user=w.user("fund", Role.REVIEWER))
        services.recovery_record(
            claim=claim_js,
            kind="disposal",
            value_date=date(2025, 9, 1),
            gross_amount=Money("50000.00"),
            idempotency_key="rec-js-1",
            acting_user=w.user("bank2"),
        )
    services.fund_alerts_scan(today=date(2026, 12, 1))
    runs = []
    for each in (fund, fund_js):
        run = services.stress_run_request(fund=each, acting_user=w.user("fund"), simulations=200)
        runs.append(services.stress_run_execute(run.pk))
    return {
        "fund": fund,
        "loan": loan,
        "enrolment": enrolment,
        "claim": claim,
        "stress_run": runs[0],
        "fund_js": fund_js,
        "claim_js": claim_js,
    }
