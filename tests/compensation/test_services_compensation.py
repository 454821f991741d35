"""Services of risk compensation: scheme versions, enrolment rules, claim preconditions, four-party sharing, caps,
reversal, idle-fund alerts and stress runs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.compensation import ledger, selectors, services
from ipledge.compensation.choices import (
    ClaimStatus,
    EnrolmentStatus,
    EntryKind,
    FundAlertKind,
    PaymentStatus,
    SchemeStatus,
    StressRunStatus,
)
from ipledge.compensation.models import FundAlert, JournalEntry, JournalLine, Payment
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.lending.models import LoanCover
from tests.compensation.factories import FUND_DAY, JIANGSU_TIERS, add_fund, enrolled_loan, publish_scheme, turn_bad
from tests.world import build_world

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict[str, str]:
    return {field: errors[0].code or "" for field, errors in exc.error_dict.items()}


@pytest.fixture
def funded():  # type: ignore[no-untyped-def]
    w = build_world()
    return w, add_fund(w)


def _approved(w, fund, loan, enrolment, **kw):  # type: ignore[no-untyped-def]
    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(
            enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉", **kw
        )
        claim = services.claim_review(claim=claim, acting_user=w.user("fund"))
        return services.claim_approve(claim=claim, acting_user=w.user("fund", Role.REVIEWER))


def test_scheme_versions_need_a_second_person_and_supersede_the_previous(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    scheme = fund.schemes.get(code="JS")
    operator = w.user("fund")
    with pytest.raises(ValidationError) as bad:
        services.scheme_version_draft(
            scheme=scheme,
            rules={"effective_from": date(2025, 6, 1), "sharing_tiers": [{"up_to": None, "shares": {"fund": "0.5"}}]},
            acting_user=operator,
        )
    assert "sharing_tiers" in bad.value.error_dict
    v2 = services.scheme_version_draft(
        scheme=scheme,
        rules={
            "effective_from": date(2025, 6, 1),
            "sharing_tiers": [{"up_to": None, "shares": {"fund": "0.6", "bank": "0.4"}}],
        },
        acting_user=operator,
    )
    v2 = services.scheme_version_submit(version=v2, acting_user=operator)
    admin = w.user("fund", Role.ADMIN)
    with pytest.raises(PermissionDenied):  # an operator drafts; approving needs the approving role
        services.scheme_version_approve(version=v2, acting_user=operator)
    v2 = services.scheme_version_approve(version=v2, acting_user=admin)
    assert v2.status == SchemeStatus.PUBLISHED
    v1 = scheme.versions.get(number=1)
    assert v1.effective_to == date(2025, 5, 31)
    # A loan disbursed before v2 is enrolled under v1, one after under v2.
    assert services.version_in_force(scheme, date(2025, 1, 15)) == v1
    assert services.version_in_force(scheme, date(2025, 7, 1)) == v2
    assert services.version_in_force(scheme, date(2023, 12, 31)) is None


def test_maker_cannot_publish_own_version(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    admin = w.user("fund", Role.ADMIN)
    scheme = services.scheme_create(fund=fund, code="ZH", name="珠海", acting_user=admin)
    version = services.scheme_version_draft(
        scheme=scheme,
        rules={
            "effective_from": FUND_DAY,
            "sharing_tiers": [{"up_to": None, "shares": {"fund": "0.4", "bank": "0.6"}}],
        },
        acting_user=admin,
    )
    version = services.scheme_version_submit(version=version, acting_user=admin)
    with pytest.raises(ValidationError) as exc:
        services.scheme_version_approve(version=version, acting_user=admin)
    assert _codes(exc.value) == {"approved_by": "maker_is_checker"}
    with pytest.raises(PermissionDenied):
        services.scheme_version_approve(version=version, acting_user=w.user("bank1", Role.ADMIN))


def test_enrolment_takes_the_version_of_the_loan_date_and_creates_a_cover(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund)
    assert enrolment.scheme_version.scheme.code == "JS"
    assert enrolment.covered_amount == Money("8000000.00")
    cover = LoanCover.objects.get(pk=enrolment.cover_id)
    assert (cover.kind, cover.cover_ratio, cover.provider_id) == (
        "risk_compensation",
        Decimal("0.8000"),
        w.orgs["fund"].pk,
    )
    with pytest.raises(ValidationError) as twice, as_of(date(2025, 1, 16)):
        services.enrolment_create(loan=loan, scheme=fund.schemes.get(code="JS"), acting_user=w.user("bank1_sub"))
    assert "loan" in twice.value.error_dict or "__all__" in twice.value.error_dict
    # Another bank cannot enrol the loan at all.
    with pytest.raises(PermissionDenied):
        services.enrolment_create(loan=loan, scheme=fund.schemes.get(code="JS"), acting_user=w.user("bank2"))


def test_enrolment_rules_name_the_field(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    scheme = publish_scheme(w, fund, "HK", "海口纯知识产权", JIANGSU_TIERS, ip_only=True, min_ip_share="0.5")
    from tests.lending.factories import contracted_loan

    loan = contracted_loan(w, principal="2000000.00", start=date(2025, 1, 15))
    with as_of(date(2025, 1, 15)), pytest.raises(ValidationError) as exc:
        services.enrolment_create(loan=loan, scheme=scheme, acting_user=w.user("bank1_sub"), ip_share=Decimal("0.6"))
    assert _codes(exc.value) == {"ip_share": "ip_only"}
    zs = fund.schemes.get(code="ZS")
    with as_of(date(2025, 1, 15)), pytest.raises(ValidationError) as party:
        services.enrolment_create(loan=loan, scheme=zs, acting_user=w.user("bank1_sub"))
    assert _codes(party.value) == {"insurer": "required"}
    # Enrolment is refused once the window after disbursement has passed.
    loan2, _ = enrolled_loan(w, fund, principal="1000000.00")
    services.enrolment_release(enrolment=loan2.fund_enrolments.get(), acting_user=w.user("bank1_sub"), reason="测试")
    with as_of(date(2025, 6, 1)), pytest.raises(ValidationError) as late:
        services.enrolment_create(loan=loan2, scheme=fund.schemes.get(code="JS"), acting_user=w.user("bank1_sub"))
    assert _codes(late.value) == {"loan": "enrol_window"}


def test_leverage_cap_refuses_the_enrolment_that_overshoots(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    services.fund_update(fund=fund, data={"leverage_cap": Decimal("1.00")}, acting_user=w.user("fund", Role.ADMIN))
    enrolled_loan(w, fund, principal="25000000.00")  # the 10–30 m tier; 25 m of 30 m capacity
    with pytest.raises(ValidationError) as exc:
        enrolled_loan(w, fund, principal="8000000.00")
    assert _codes(exc.value) == {"loan": "leverage_cap"}
    with pytest.raises(ValidationError) as below:
        services.fund_update(fund=fund, data={"capital": Money("20000000.00")}, acting_user=w.user("fund", Role.ADMIN))
    assert _codes(below.value) == {"leverage_cap": "below_covered"}


def test_claim_preconditions(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund)
    with as_of(date(2025, 5, 1)), pytest.raises(ValidationError) as performing:
        services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="催收")
    assert _codes(performing.value) == {"enrolment": "not_non_performing"}
    loan = turn_bad(w, loan)
    with as_of(date(2025, 8, 10)), pytest.raises(ValidationError) as evidence:
        services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"))
    assert _codes(evidence.value) == {"collection_efforts": "required"}
    with as_of(date(2026, 3, 1)), pytest.raises(ValidationError) as late:  # 180-day window after 2025-08-01
        services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉")
    assert _codes(late.value) == {"enrolment": "claim_window"}
    with as_of(date(2025, 8, 10)):
        claim = services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉")
    with as_of(date(2025, 8, 10)), pytest.raises(ValidationError):
        services.claim_file(enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉")
    # The reviewer may not approve what they reviewed; a rejected claim reopens the enrolment.
    claim = services.claim_review(claim=claim, acting_user=w.user("fund", Role.ADMIN))
    with pytest.raises(ValidationError) as same:
        services.claim_approve(claim=claim, acting_user=w.user("fund", Role.ADMIN))
    assert _codes(same.value) == {"approved_by": "maker_is_checker"}
    with pytest.raises(PermissionDenied):
        services.claim_approve(claim=claim, acting_user=w.user("bank1_sub", Role.REVIEWER))
    claim = services.claim_reject(claim=claim, acting_user=w.user("fund"), note="材料不全")
    enrolment.refresh_from_db()
    assert (claim.status, enrolment.status) == (ClaimStatus.REJECTED, EnrolmentStatus.ACTIVE)


def test_four_party_zhongshan_claim(funded) -> None:  # type: ignore[no-untyped-def]
    """Fund 54 : bank 26 : insurer 16 : valuer 4 on ¥6 m; recovery ¥1 m; final loss ¥5 m shared the same way."""
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund, scheme="ZS", insurer=w.orgs["insurer"], valuer=w.orgs["valuer"])
    loan = turn_bad(w, loan)
    claim = _approved(w, fund, loan, enrolment)
    advances = {p.payer_role: p for p in claim.payments.all()}
    assert {k: p.amount for k, p in advances.items()} == {
        "fund": Money("3240000.00"),
        "insurer": Money("960000.00"),
        "valuer": Money("240000.00"),
    }
    assert advances["fund"].status == PaymentStatus.PAID and advances["insurer"].status == PaymentStatus.INSTRUCTED
    with pytest.raises(ValidationError) as early:
        services.claim_clear(claim=claim, acting_user=w.user("fund"))
    assert _codes(early.value) == {"status": "advance_unpaid"}
    # Another party cannot confirm the insurer's payment; the insurer can.
    with pytest.raises(PermissionDenied):
        services.payment_mark_paid(payment=advances["insurer"], acting_user=w.user("valuer"))
    with as_of(date(2025, 8, 20)):
        services.payment_mark_paid(payment=advances["insurer"], acting_user=w.user("insurer"), reference="INS-1")
        services.payment_mark_paid(payment=advances["valuer"], acting_user=w.user("valuer"))
    with as_of(date(2025, 11, 1)):
        services.recovery_record(
            claim=claim,
            kind="disposal",
            value_date=date(2025, 11, 1),
            gross_amount=Money("1100000.00"),
            costs=Money("100000.00"),
            idempotency_key="r1",
            acting_user=w.user("bank1_sub"),
        )
        claim = services.claim_clear(claim=claim, acting_user=w.user("fund"))
    clearing = claim.terms["clearing"]
    assert clearing["shares_fen"] == {"fund": 270000000, "bank": 130000000, "insurer": 80000000, "valuer": 20000000}
    transfers = {(t["payer"], t["payee"]): t["fen"] for t in clearing["transfers"]}
    assert transfers == {("bank", "fund"): 54000000, ("bank", "insurer"): 16000000, ("bank", "valuer"): 4000000}
    with as_of(date(2025, 11, 5)):
        for payment in claim.payments.filter(purpose="true_up"):
            services.payment_mark_paid(payment=payment, acting_user=w.user("bank1_sub"))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED
    positions = ledger.claim_positions(claim)
    insurer, valuer = w.orgs["insurer"].pk, w.orgs["valuer"].pk
    assert positions[("settlement", "insurer", insurer)] == -80000000
    assert positions[("settlement", "valuer", valuer)] == -20000000
    assert positions[("cash", "fund", None)] == -270000000


def test_per_loan_cap_leaves_the_excess_with_the_bank(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    publish_scheme(
        w,
        fund,
        "CAP",
        "单笔上限",
        [{"up_to": None, "shares": {"fund": "0.5", "bank": "0.5"}}],
        cap_per_loan="1000000.00",
    )
    loan, enrolment = enrolled_loan(w, fund, scheme="CAP")
    loan = turn_bad(w, loan)
    claim = _approved(w, fund, loan, enrolment)
    assert claim.advance_total == Money("1000000.00")
    assert claim.terms["cap_reason"] == "per_loan"


def test_fund_never_pays_beyond_its_balance(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    w2_fund = add_fund(w, capital="1000000.00", code="SMALL", name="小基金", region="110000", sponsor="ipo_bj")
    loan, enrolment = enrolled_loan(w, w2_fund, principal="8000000.00")
    loan = turn_bad(w, loan)
    claim = _approved(w, w2_fund, loan, enrolment)
    assert claim.advance_total == Money("1000000.00")  # 80% of 6 m is capped at the 1 m balance
    assert claim.terms["cap_reason"] == "fund_balance"
    assert ledger.cash_fen(w2_fund) == 0


def test_reversal_posts_a_mirror_entry_and_reopens_the_instruction(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund, scheme="ZS", insurer=w.orgs["insurer"], valuer=w.orgs["valuer"])
    loan = turn_bad(w, loan)
    claim = _approved(w, fund, loan, enrolment)
    insurer_payment = claim.payments.get(payer_role="insurer")
    with as_of(date(2025, 8, 20)):
        insurer_payment = services.payment_mark_paid(payment=insurer_payment, acting_user=w.user("insurer"))
    entry = insurer_payment.entry
    assert entry is not None
    with pytest.raises(ValidationError) as no_reason:
        services.entry_reverse(entry=entry, reason=" ", acting_user=w.user("fund", Role.REVIEWER))
    assert _codes(no_reason.value) == {"reason": "required"}
    reversal = services.entry_reverse(entry=entry, reason="重复入账", acting_user=w.user("fund", Role.REVIEWER))
    assert reversal.kind == EntryKind.REVERSAL and reversal.reverses_id == entry.pk
    assert JournalEntry.objects.filter(pk=entry.pk).exists()  # never deleted
    insurer_payment.refresh_from_db()
    assert insurer_payment.status == PaymentStatus.INSTRUCTED and insurer_payment.entry_id is None
    with pytest.raises(ValidationError):
        services.entry_reverse(entry=entry, reason="再次", acting_user=w.user("fund", Role.REVIEWER))
    exposure_entry = claim.entries.get(kind=EntryKind.EXPOSURE)
    with pytest.raises(ValidationError) as not_payment:
        services.entry_reverse(entry=exposure_entry, reason="x", acting_user=w.user("fund", Role.REVIEWER))
    assert _codes(not_payment.value) == {"entry": "not_reversible"}
    for each in JournalEntry.objects.all():
        assert sum(line.amount.fen for line in JournalLine.objects.filter(entry=each)) == 0


def test_recovery_is_idempotent_and_surplus_is_not_shared(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund)
    loan = turn_bad(w, loan)
    claim = _approved(w, fund, loan, enrolment)
    kwargs = {
        "claim": claim,
        "kind": "disposal",
        "value_date": date(2025, 9, 1),
        "gross_amount": Money("7000000.00"),
        "idempotency_key": "auction-9",
        "acting_user": w.user("bank1_sub"),
    }
    with as_of(date(2025, 9, 2)):
        first = services.recovery_record(**kwargs)
        again = services.recovery_record(**kwargs)
    assert first.pk == again.pk
    assert first.applied_amount == Money("6000000.00")  # the exposure; the surplus goes to the pledgor
    with as_of(date(2025, 9, 3)):
        claim = services.claim_clear(claim=claim, acting_user=w.user("fund"))
    assert claim.final_loss == Money(0)
    (back,) = claim.payments.filter(purpose="true_up")
    assert (back.payer_role, back.amount) == ("bank", Money("4800000.00"))


def test_idle_fund_alert_is_raised_once_and_resolved(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    assert services.fund_alerts_scan(today=date(2024, 6, 1))["raised"] == 0  # 151 days: not yet idle
    assert services.fund_alerts_scan(today=date(2025, 1, 10))["raised"] == 1
    assert services.fund_alerts_scan(today=date(2025, 1, 11))["raised"] == 0  # not raised twice
    alert = FundAlert.objects.get(fund=fund, kind=FundAlertKind.IDLE, resolved_on__isnull=True)
    assert "闲置" in alert.get_kind_display() and alert.figures["days_since_activity"] >= 365
    # The sponsor (the Beijing IP office) sees it; Jiangsu's does not.
    assert selectors.alert_list(user=w.user("ipo_bj")).filter(pk=alert.pk).exists()
    assert not selectors.alert_list(user=w.user("ipo_js")).filter(pk=alert.pk).exists()
    services.fund_update(fund=fund, data={"idle_days": 9999}, acting_user=w.user("fund", Role.ADMIN))
    assert services.fund_alerts_scan(today=date(2025, 1, 12))["resolved"] == 1
    assert AuditEvent.objects.filter(action="fund_alert.raise").count() == 1


def test_stress_run_is_stored_and_only_books_readers_run_it(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    enrolled_loan(w, fund)
    run = services.stress_run_request(fund=fund, acting_user=w.user("ipo_bj"), simulations=500)
    run = services.stress_run_execute(run.pk)
    assert run.status == StressRunStatus.DONE
    assert run.result["loans"] == 1 and len(run.result["horizons"]) == 2
    with pytest.raises(PermissionDenied):
        services.stress_run_request(fund=fund, acting_user=w.user("bank1"), simulations=500)
    with pytest.raises(ValidationError) as bad:
        services.stress_run_request(fund=fund, acting_user=w.user("fund"), overrides={"correlation": 3})
    assert _codes(bad.value) == {"correlation": "range"}


def test_every_claim_step_is_audited(funded) -> None:  # type: ignore[no-untyped-def]
    w, fund = funded
    loan, enrolment = enrolled_loan(w, fund)
    loan = turn_bad(w, loan)
    claim = _approved(w, fund, loan, enrolment)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    for action in (
        "fund.create",
        "scheme_version.approve",
        "enrolment.create",
        "claim.file",
        "claim.review",
        "claim.approve",
        "payment.instruct",
        "payment.pay",
        "journal_entry.post",
    ):
        assert action in actions, action
    assert Payment.objects.filter(claim=claim).count() == 1
