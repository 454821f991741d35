"""Loans built through the lifecycle services, for the lending tests of every helper.

`active_loan(w)` drives a loan from application to its first disbursement exactly as a bank would: apply → due
diligence (all items) → submit (maker: the branch operator) → approve (checker: the branch reviewer) → contract →
link an active pledge registration → disburse. Everything happens "on" `start` (`as_of`), so the schedule, the
audit trail and the dates agree.
"""

from __future__ import annotations

import datetime
from datetime import date
from decimal import Decimal

from ipledge.core.choices import Role
from ipledge.core.context import as_of, business_date
from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number
from ipledge.lending import services
from ipledge.lending.choices import DueDiligenceItem
from ipledge.lending.models import Loan
from ipledge.registration.choices import RegistrationStatus
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.choices import IPKind
from ipledge.registry.models import Enterprise, IPRight
from ipledge.registry.services import ip_right_create, ip_right_update
from tests.world import PDF_BYTES, World

# Borrowers that can confirm a pledge filing (they have a login organisation in the test world).
CONFIRMING_USER = {"e1": "ent1", "e2": "ent2"}


def pledge_registration(
    w: World, *, borrower: str = "e1", bank: str = "bank1_sub", reuse: bool = True
) -> PledgeRegistration:
    """An active registration of a patent of `borrower` to `bank` (an existing one is reused unless `reuse=False`)."""
    from ipledge.registration.choices import Decision, DocumentType
    from ipledge.registration.services import document_add, filing_confirm, filing_create, filing_decide

    enterprise = w.enterprises[borrower]
    pledgee = w.orgs[bank]
    existing = PledgeRegistration.objects.filter(
        pledgor=enterprise, pledgee=pledgee, status=RegistrationStatus.ACTIVE
    ).first()
    if existing is not None and reuse:
        return existing
    if borrower not in CONFIRMING_USER:
        raise ValueError(f"{borrower} has no login to confirm a pledge filing")
    today = business_date()
    right = _fresh_patent(enterprise, today=today)
    filer = w.user(bank)
    filing = filing_create(
        pledgor=enterprise,
        pledgee=pledgee,
        items=[{"ip_right": right}],
        acting_user=filer,
        claim_amount=Money("5000000"),
        performance_start=today,
        performance_end=today + datetime.timedelta(days=730),
        guarantee_scope="主债权及利息、违约金、实现质权的费用",
    )
    for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY):
        document_add(filing=filing, doc_type=doc_type, filename=f"{doc_type}.pdf", content=PDF_BYTES, acting_user=filer)
    filing_confirm(filing=filing, acting_user=w.user(CONFIRMING_USER[borrower]))
    examiner = "ipo_bj" if enterprise.region_code.startswith("11") else "ipo_js"
    filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=w.user(examiner, Role.REVIEWER))
    filing.refresh_from_db()
    return PledgeRegistration.objects.get(filing=filing)


def _fresh_patent(enterprise: Enterprise, *, today: date) -> IPRight:
    """A new granted invention patent owned by the enterprise alone, annual fees paid."""
    serial = 3_000_000 + IPRight.objects.count() + 1
    right = ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2020, type_digit=1, serial=serial),
        title=f"一种测试用装置{serial}",
        filing_date=date(2020, 3, 1),
        grant_date=date(2022, 5, 10),
        main_ipc="G06F1/00",
        owners=[{"enterprise": enterprise, "share": Decimal(100)}],
        acting_user=None,
    )
    return ip_right_update(
        right=right, data={"annual_fee_paid_until": today + datetime.timedelta(days=365)}, acting_user=None
    )


def approved_loan(
    w: World,
    *,
    principal: str = "1000000.00",
    term_months: int = 12,
    method: str = "equal_instalment",
    start: date = date(2025, 1, 15),
    annual_rate: str = "0.0345",
    borrower: str = "e1",
    bank: str = "bank1_sub",
    **terms: object,
) -> Loan:
    """A loan approved by maker and checker on `start` (status APPROVED)."""
    operator, reviewer = w.user(bank), w.user(bank, Role.REVIEWER)
    with as_of(start):
        loan = services.loan_apply(
            borrower=w.enterprises[borrower],
            bank=w.orgs[bank],
            requested_amount=Money(principal),
            requested_term_months=term_months,
            purpose="研发投入与流动资金",
            acting_user=operator,
        )
        for item in DueDiligenceItem.values:
            loan = services.loan_due_diligence_record(loan=loan, item=item, done=True, acting_user=operator)
        loan = services.loan_submit_for_approval(
            loan=loan,
            principal=Money(principal),
            term_months=term_months,
            repayment_method=method,
            annual_rate=Decimal(annual_rate) if terms.get("rate_type", "fixed") == "fixed" else None,
            acting_user=operator,
            **terms,  # type: ignore[arg-type]
        )
        return services.loan_approve(loan=loan, acting_user=reviewer, note="同意")


def contracted_loan(w: World, *, start: date = date(2025, 1, 15), with_pledge: bool = True, **kwargs: object) -> Loan:
    """An approved loan with its contract signed (and the pledge linked) on `start`, not yet disbursed."""
    bank = str(kwargs.get("bank", "bank1_sub"))
    borrower = str(kwargs.get("borrower", "e1"))
    loan = approved_loan(w, start=start, **kwargs)  # type: ignore[arg-type]
    operator = w.user(bank)
    with as_of(start):
        loan = services.loan_contract_sign(
            loan=loan, contract_no=f"HT-{loan.reference}", signed_on=start, acting_user=operator
        )
        if with_pledge:
            registration = pledge_registration(w, borrower=borrower, bank=bank)
            loan = services.loan_pledge_link(loan=loan, registration=registration, acting_user=operator)
    return loan


def active_loan(
    w: World,
    *,
    principal: str = "1000000.00",
    term_months: int = 12,
    method: str = "equal_instalment",
    start: date = date(2025, 1, 15),
    annual_rate: str = "0.0345",
    borrower: str = "e1",
    bank: str = "bank1_sub",
    with_pledge: bool = True,
) -> Loan:
    """A loan disbursed in full on `start` (status ACTIVE) with its schedule. Without a pledge the loan is marked
    as not an IP-pledge loan, since an IP-pledge loan cannot be disbursed before its pledge is registered."""
    loan = contracted_loan(
        w,
        principal=principal,
        term_months=term_months,
        method=method,
        start=start,
        annual_rate=annual_rate,
        borrower=borrower,
        bank=bank,
        with_pledge=with_pledge,
    )
    if not with_pledge:
        Loan.objects.filter(pk=loan.pk).update(is_ip_pledge=False)
        loan.refresh_from_db()
    with as_of(start):
        services.loan_disburse(
            loan=loan, amount=Money(principal), value_date=start, acting_user=w.user(bank), idempotency_key="first"
        )
    loan.refresh_from_db()
    return loan


def add_loans(w: World) -> dict[str, Loan]:
    """Loans on both sides of the test world, with a row of every lending model, for the permission matrices.

    `l1`: Beijing, bank1_sub → e1, guaranteed by `guarantor` (so the guarantor sees it), with an investment link,
    an appraised collateral, an implementation report, a repayment and a manual classification.
    `l2`: Jiangsu, bank2 → e2, insured by `insurer`. Credit plans and NPL reports for bank1 and bank2.
    """
    from ipledge.lending.classification import loan_classification_override

    l1 = active_loan(w)
    l2 = active_loan(w, borrower="e2", bank="bank2", principal="600000.00", term_months=6)
    day = date(2025, 1, 20)
    with as_of(day):
        services.cover_add(
            loan=l1,
            kind="guarantee",
            provider=w.orgs["guarantor"],
            provider_name=w.orgs["guarantor"].name,
            cover_ratio=Decimal("0.8"),
            acting_user=w.user("bank1_sub"),
        )
        services.cover_add(
            loan=l2,
            kind="insurance",
            provider=w.orgs["insurer"],
            provider_name=w.orgs["insurer"].name,
            cover_ratio=Decimal("0.5"),
            acting_user=w.user("bank2"),
        )
        services.investment_link_add(
            loan=l1,
            investor_name="中关村创投",
            term_kind="option",
            equity_ratio=Decimal("0.05"),
            exercise_deadline=date(2027, 12, 31),
            acting_user=w.user("bank1_sub"),
        )
        services.investment_link_add(
            loan=l2,
            investor_name="江苏高投",
            term_kind="equity",
            amount=Money("2000000"),
            equity_ratio=Decimal("0.03"),
            acting_user=w.user("bank2"),
        )
        collateral_2 = l2.collateral.first()
        assert collateral_2 is not None
        services.implementation_report_add(
            collateral=collateral_2, status="not_implemented", reported_on=day, acting_user=w.user("bank2")
        )
        loan_classification_override(
            loan=l1, to_class="special_mention", reason="资金用途待核实", acting_user=w.user("bank1_sub", Role.REVIEWER)
        )
        collateral = l1.collateral.first()
        assert collateral is not None
        services.collateral_add(
            loan=l1,
            ip_right=collateral.ip_right,
            appraised_value=Money("4000000"),
            appraised_on=day,
            valuer_name=w.orgs["valuer"].name,
            acting_user=w.user("bank1_sub"),
        )
        services.implementation_report_add(
            collateral=collateral, status="self_use", reported_on=day, acting_user=w.user("bank1_sub")
        )
        loan_classification_override(
            loan=l2, to_class="special_mention", reason="行业下行", acting_user=w.user("bank2", Role.REVIEWER)
        )
        for bank in ("bank1", "bank2"):
            services.credit_plan_set(
                bank=w.orgs[bank],
                year=2025,
                planned_amount=Money("500000000"),
                planned_clients=300,
                acting_user=w.user(bank, Role.ADMIN),
            )
            services.npl_report_set(
                bank=w.orgs[bank], as_of=date(2024, 12, 31), npl_ratio=Decimal("0.0131"), acting_user=w.user(bank)
            )
    with as_of(date(2025, 2, 15)):
        services.loan_repay(
            loan=l1, amount=Money("84898.82"), value_date=date(2025, 2, 15), acting_user=w.user("bank1_sub")
        )
        # Applications not yet lent: one the enterprise made itself (bank2 may now read e1), one bank2 opened by
        # naming an enterprise (which reveals nothing about e1b).
        l3 = services.loan_apply(
            borrower=w.enterprises["e1"],
            bank=w.orgs["bank2"],
            requested_amount=Money("300000"),
            requested_term_months=6,
            acting_user=w.user("ent1"),
        )
        l4 = services.loan_apply(
            borrower=w.enterprises["e1b"],
            bank=w.orgs["bank2"],
            requested_amount=Money("200000"),
            requested_term_months=6,
            acting_user=w.user("bank2"),
        )
    l1.refresh_from_db()
    l2.refresh_from_db()
    return {"l1": l1, "l2": l2, "l3": l3, "l4": l4}
