"""The loan lifecycle through the services: application, due diligence, maker-checker approval, contract, pledge,
withdrawal, rejection, renewal and default, with who may do what."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.lending import selectors, services
from ipledge.lending.choices import DueDiligenceItem, LoanClass, LoanOrigin, LoanStatus, TransactionKind
from ipledge.lending.models import Loan, LoanTransaction
from ipledge.registration.choices import FilingType, RegistrationStatus
from ipledge.registration.models import PledgeFiling
from tests.lending.factories import active_loan, approved_loan, contracted_loan, pledge_registration
from tests.world import World

pytestmark = pytest.mark.django_db

START = date(2025, 1, 15)


def _rule(exc: ValidationError, field: str) -> list[str]:
    return [e.code or "" for e in exc.error_dict[field]]


def _applied(w: World, **kwargs: object) -> Loan:
    with as_of(START):
        return services.loan_apply(
            borrower=w.enterprises["e1"],
            bank=w.orgs["bank1_sub"],
            requested_amount=Money("2000000"),
            requested_term_months=24,
            acting_user=w.user("bank1_sub"),
            **kwargs,  # type: ignore[arg-type]
        )


def _diligent(w: World, loan: Loan) -> Loan:
    with as_of(START):
        for item in DueDiligenceItem.values:
            loan = services.loan_due_diligence_record(loan=loan, item=item, done=True, acting_user=w.user("bank1_sub"))
    return loan


def test_apply_assigns_reference_region_park_and_audits(world: World) -> None:
    first = _applied(world)
    second = _applied(world)
    bank_id = world.orgs["bank1_sub"].pk
    assert first.reference == f"DK2025{bank_id:04d}000001"
    assert second.reference == f"DK2025{bank_id:04d}000002"
    assert first.status == LoanStatus.SUBMITTED
    assert first.region_code == "110108"
    assert first.park == world.parks["p1"]
    event = AuditEvent.objects.get(action="loan.apply", object_id=str(first.pk))
    assert event.actor == world.user("bank1_sub")


def test_borrower_applies_for_itself_but_not_for_others(world: World) -> None:
    with as_of(START):
        own = services.loan_apply(
            borrower=world.enterprises["e1"],
            bank=world.orgs["bank1_sub"],
            requested_amount=Money("500000"),
            requested_term_months=12,
            acting_user=world.user("ent1"),
        )
        assert own.created_by == world.user("ent1")
        with pytest.raises(PermissionDenied):
            services.loan_apply(
                borrower=world.enterprises["e2"],
                bank=world.orgs["bank1_sub"],
                requested_amount=Money("500000"),
                requested_term_months=12,
                acting_user=world.user("ent1"),
            )
        # Another bank's officer cannot record an application for bank1's branch.
        with pytest.raises(PermissionDenied):
            services.loan_apply(
                borrower=world.enterprises["e1"],
                bank=world.orgs["bank1_sub"],
                requested_amount=Money("500000"),
                requested_term_months=12,
                acting_user=world.user("bank2"),
            )


def test_apply_refuses_bad_terms(world: World) -> None:
    with as_of(START), pytest.raises(ValidationError) as exc:
        services.loan_apply(
            borrower=world.enterprises["e1"],
            bank=world.orgs["bank1_sub"],
            requested_amount=Money("1000"),
            requested_term_months=121,
            acting_user=world.user("bank1_sub"),
        )
    assert _rule(exc.value, "requested_term_months") == ["term_range"]


def test_submit_refuses_until_every_item_done_and_names_the_missing(world: World) -> None:
    loan = _applied(world)
    with as_of(START):
        loan = services.loan_due_diligence_start(loan=loan, acting_user=world.user("bank1_sub"))
        assert loan.status == LoanStatus.DUE_DILIGENCE
        assert set(loan.due_diligence) == set(DueDiligenceItem.values)
        loan = services.loan_due_diligence_record(
            loan=loan, item="identity", done=True, note="证照齐全", acting_user=world.user("bank1_sub")
        )
        assert loan.due_diligence["identity"]["by"] == "bank1_sub_operator"
        with pytest.raises(ValidationError) as exc:
            services.loan_submit_for_approval(
                loan=loan,
                principal=Money("1000000"),
                term_months=12,
                repayment_method="equal_instalment",
                annual_rate=Decimal("0.0345"),
                acting_user=world.user("bank1_sub"),
            )
    assert _rule(exc.value, "due_diligence") == ["due_diligence_incomplete"]
    message = exc.value.error_dict["due_diligence"][0].message
    assert "实地走访" in message and "证照" not in message


def test_submit_validates_terms(world: World) -> None:
    loan = _diligent(world, _applied(world))
    op = world.user("bank1_sub")
    base = {"loan": loan, "term_months": 12, "repayment_method": "equal_instalment", "acting_user": op}
    cases = [
        ({"principal": Money("2000000.01"), "annual_rate": Decimal("0.04")}, "principal", "exceeds_requested"),
        ({"principal": Money("1000000"), "annual_rate": None}, "annual_rate", "required"),
        (
            {"principal": Money("1000000"), "rate_type": "lpr", "lpr_tenor": "1y"},
            "lpr_spread_bp",
            "required",
        ),
        (
            {
                "principal": Money("1000000"),
                "annual_rate": Decimal("0.04"),
                "repayment_method": "custom",
                "custom_schedule": [{"due_date": "2025-07-15", "principal": "400000"}],
            },
            "custom_schedule",
            "custom_sum",
        ),
        (
            {"principal": Money("1000000"), "annual_rate": Decimal("0.04"), "term_months": 0},
            "term_months",
            "term_range",
        ),
    ]
    with as_of(START):
        for overrides, field, rule in cases:
            with pytest.raises(ValidationError) as exc:
                services.loan_submit_for_approval(**{**base, **overrides})  # type: ignore[arg-type]
            assert _rule(exc.value, field) == [rule], (overrides, exc.value)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DUE_DILIGENCE and loan.principal is None


def test_lpr_rate_is_quote_plus_spread(world: World) -> None:
    loan = _diligent(world, _applied(world))
    with as_of(START):
        assert services.lpr_rate_on(tenor="1y", day=START) == Decimal("0.0310")
        loan = services.loan_submit_for_approval(
            loan=loan,
            principal=Money("1000000"),
            term_months=12,
            repayment_method="equal_principal",
            rate_type="lpr",
            lpr_tenor="1y",
            lpr_spread_bp=35,
            repricing_months=12,
            acting_user=world.user("bank1_sub"),
        )
    assert loan.annual_rate == Decimal("0.0345")
    assert loan.status == LoanStatus.PENDING_APPROVAL
    assert loan.prepared_by == world.user("bank1_sub")


def test_custom_plan_is_accepted_when_it_sums_to_principal(world: World) -> None:
    loan = approved_loan(
        world,
        method="custom",
        custom_schedule=[
            {"due_date": "2025-07-15", "principal": "400000.00"},
            {"due_date": "2026-01-15", "principal": "600000.00"},
        ],
    )
    assert loan.status == LoanStatus.APPROVED
    assert loan.custom_schedule[1] == {"due_date": "2026-01-15", "principal": "600000.00"}


def test_maker_cannot_check_and_operator_cannot_approve(world: World) -> None:
    loan = _diligent(world, _applied(world))
    admin = world.user("bank1_sub", Role.ADMIN)
    with as_of(START):
        loan = services.loan_submit_for_approval(
            loan=loan,
            principal=Money("1000000"),
            term_months=12,
            repayment_method="equal_instalment",
            annual_rate=Decimal("0.0345"),
            acting_user=admin,
        )
        with pytest.raises(ValidationError) as exc:
            services.loan_approve(loan=loan, acting_user=admin)
        assert _rule(exc.value, "approved_by") == ["maker_is_checker"]
        with pytest.raises(PermissionDenied):
            services.loan_approve(loan=loan, acting_user=world.user("bank1_sub"))  # operators do not approve
        with pytest.raises(PermissionDenied):
            services.loan_approve(loan=loan, acting_user=world.user("bank2", Role.REVIEWER))
        # The head office's reviewer sits above the branch: it may approve.
        loan = services.loan_approve(loan=loan, acting_user=world.user("bank1", Role.REVIEWER), note="同意")
    assert loan.status == LoanStatus.APPROVED
    assert loan.approved_by == world.user("bank1", Role.REVIEWER)


def test_reject_needs_a_note(world: World) -> None:
    loan = _diligent(world, _applied(world))
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(START):
        with pytest.raises(ValidationError) as exc:
            services.loan_reject(loan=loan, note=" ", acting_user=reviewer)
        assert _rule(exc.value, "note") == ["required"]
        loan = services.loan_reject(loan=loan, note="经营现金流不足", acting_user=reviewer)
    assert loan.status == LoanStatus.REJECTED
    assert loan.decision_note == "经营现金流不足"


def test_borrower_withdraws_before_approval_only(world: World) -> None:
    loan = _applied(world)
    with as_of(START):
        loan = services.loan_withdraw(loan=loan, reason="已获其他融资", acting_user=world.user("ent1"))
    assert loan.status == LoanStatus.WITHDRAWN
    approved = approved_loan(world)
    with as_of(START), pytest.raises(ValidationError) as exc:
        services.loan_withdraw(loan=approved, reason="不需要了", acting_user=world.user("ent1"))
    assert _rule(exc.value, "status") == ["invalid_status"]
    with as_of(START):
        approved = services.loan_withdraw(loan=approved, reason="客户放弃", acting_user=world.user("bank1_sub"))
    assert approved.status == LoanStatus.WITHDRAWN


def test_stale_version_loses_the_race(world: World) -> None:
    loan = _applied(world)
    twin = Loan.objects.get(pk=loan.pk)
    with as_of(START):
        services.loan_due_diligence_start(loan=loan, acting_user=world.user("bank1_sub"))
        with pytest.raises(ValidationError) as exc:
            services.loan_withdraw(loan=twin, reason="撤回", acting_user=world.user("bank1_sub"))
    assert _rule(exc.value, "status") == ["stale"]


def test_pledge_link_checks_pledgor_pledgee_and_copies_collateral(world: World) -> None:
    loan = approved_loan(world)
    own = pledge_registration(world, borrower="e1", bank="bank1_sub")
    other = pledge_registration(world, borrower="e2", bank="bank2")
    with as_of(START):
        with pytest.raises(ValidationError) as exc:
            services.loan_pledge_link(loan=loan, registration=other, acting_user=world.user("bank1_sub"))
        assert _rule(exc.value, "registration") == ["pledgor_mismatch"]
        loan = services.loan_pledge_link(loan=loan, registration=own, acting_user=world.user("bank1_sub"))
    rights = set(own.pledged_rights.values_list("ip_right_id", flat=True))
    assert set(loan.collateral.values_list("ip_right_id", flat=True)) == rights


def test_ip_pledge_loan_needs_its_registration_before_disbursement(world: World) -> None:
    loan = contracted_loan(world, with_pledge=False)
    with as_of(START), pytest.raises(ValidationError) as exc:
        services.loan_disburse(
            loan=loan, amount=Money("1000000"), value_date=START, acting_user=world.user("bank1_sub")
        )
    assert _rule(exc.value, "pledge_registration") == ["pledge_required"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CONTRACTED and loan.disbursed_amount == Money(0)


def test_active_loan_factory_builds_a_schedule(world: World) -> None:
    loan = active_loan(world)
    rows = list(loan.instalments.order_by("number"))
    assert loan.status == LoanStatus.ACTIVE
    assert loan.maturity_date == date(2026, 1, 15)
    assert len(rows) == 12
    assert sum(r.principal_due.fen for r in rows) == Money("1000000").fen
    # Actual/360: 1,000,000 × 3.45 % × 31 days / 360.
    assert rows[0].interest_due == Money("2970.83")
    assert rows[-1].due_date == date(2026, 1, 15)


def test_default_and_covers_and_investments(world: World) -> None:
    loan = active_loan(world)
    op = world.user("bank1_sub")
    with as_of(date(2025, 6, 1)):
        cover = services.cover_add(
            loan=loan,
            kind="guarantee",
            provider=world.orgs["guarantor"],
            provider_name="",
            cover_ratio=Decimal("0.6"),
            acting_user=op,
        )
        assert cover.provider_name == world.orgs["guarantor"].name
        with pytest.raises(ValidationError) as exc:
            services.cover_add(
                loan=loan, kind="insurance", provider_name="人保", cover_ratio=Decimal("0.5"), acting_user=op
            )
        assert _rule(exc.value, "cover_ratio") == ["total_exceeds_one"]
        link = services.investment_link_add(
            loan=loan,
            investor_name="中关村创投",
            term_kind="option",
            equity_ratio=Decimal("0.05"),
            exercise_deadline=date(2027, 12, 31),
            acting_user=op,
        )
        assert link.pk
        loan = services.loan_default(loan=loan, on=date(2025, 6, 1), reason="停止经营", acting_user=op)
    assert loan.status == LoanStatus.DEFAULTED and loan.defaulted_on == date(2025, 6, 1)
    # The guarantor now sees the loan it covers.
    assert Loan.objects.restrict(world.user("guarantor", Role.VIEWER), "view").filter(pk=loan.pk).exists()


def test_collateral_appraisal_and_implementation_report(world: World) -> None:
    loan = active_loan(world)
    collateral = loan.collateral.get()
    with as_of(date(2025, 2, 1)):
        updated = services.collateral_add(
            loan=loan,
            ip_right=collateral.ip_right,
            appraised_value=Money("3000000"),
            appraised_on=date(2025, 1, 10),
            valuer_name="中金浩",
            acting_user=world.user("bank1_sub"),
        )
        report = services.implementation_report_add(
            collateral=updated, status="self_use", reported_on=date(2025, 2, 1), acting_user=world.user("ent1")
        )
        with pytest.raises(PermissionDenied):
            services.implementation_report_add(
                collateral=updated, status="licensed", reported_on=date(2025, 2, 1), acting_user=world.user("bank2")
            )
    assert updated.pk == collateral.pk and updated.appraised_value == Money("3000000")
    assert report.status == "self_use"


def test_credit_plan_set_creates_then_updates_and_npl_report(world: World) -> None:
    admin = world.user("bank1", Role.ADMIN)
    with as_of(date(2025, 3, 1)):
        plan = services.credit_plan_set(
            bank=world.orgs["bank1"],
            year=2025,
            planned_amount=Money("500000000"),
            planned_clients=300,
            acting_user=admin,
        )
        again = services.credit_plan_set(
            bank=world.orgs["bank1"],
            year=2025,
            planned_amount=Money("600000000"),
            planned_clients=320,
            acting_user=admin,
        )
        with pytest.raises(PermissionDenied):
            services.credit_plan_set(
                bank=world.orgs["bank1"],
                year=2025,
                planned_amount=Money("1"),
                planned_clients=1,
                acting_user=world.user("bank2", Role.ADMIN),
            )
        report = services.npl_report_set(
            bank=world.orgs["bank1"], as_of=date(2024, 12, 31), npl_ratio=Decimal("0.0131"), acting_user=admin
        )
    assert again.pk == plan.pk and again.planned_amount == Money("600000000")
    assert report.npl_ratio == Decimal("0.0131")


# Renewal (续贷)


def _interest_paid_to(w: World, loan: Loan, day: date) -> None:
    """Pay what is due on `day` (interest, and any principal due) but not the principal due on maturity."""
    with as_of(day):
        position = selectors.loan_position(loan, as_of=day)
        amount = position.overdue_amount + position.interest_due_today
        if amount.fen:
            services.loan_repay(loan=loan, amount=amount, value_date=day, acting_user=w.user("bank1_sub"))
    loan.refresh_from_db()


def test_no_principal_repayment_renewal_rolls_the_principal(world: World) -> None:
    loan = active_loan(world, method="interest_only_bullet", term_months=6)
    maturity = date(2025, 7, 15)
    for month in (2, 3, 4, 5, 6):
        _interest_paid_to(world, loan, date(2025, month, 15))
    _interest_paid_to(world, loan, maturity)
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(maturity):
        new = services.loan_renew(
            loan=loan,
            kind="no_principal_repayment",
            principal=Money("1000000"),
            term_months=12,
            annual_rate=Decimal("0.0330"),
            repayment_method="interest_only_bullet",
            acting_user=reviewer,
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED_BY_RENEWAL
    assert loan.outstanding_principal == Money(0) and loan.closed_on == maturity
    assert new.status == LoanStatus.ACTIVE and new.origin == LoanOrigin.RENEWAL
    assert new.renewal_of == loan and new.renewal_kind == "no_principal_repayment"
    assert new.outstanding_principal == Money("1000000") and new.maturity_date == date(2026, 7, 15)
    assert new.pledge_registration == loan.pledge_registration
    assert set(new.collateral.values_list("ip_right_id", flat=True)) == set(
        loan.collateral.values_list("ip_right_id", flat=True)
    )
    kinds = {(t.loan_id, t.kind) for t in LoanTransaction.objects.filter(kind=TransactionKind.RENEWAL_ROLLOVER)}
    assert kinds == {(loan.pk, "renewal_rollover"), (new.pk, "renewal_rollover")}
    assert new.instalments.count() == 12
    # No cancellation was filed: the pledge keeps securing the renewal.
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CANCELLATION).exists()


def test_no_principal_renewal_refuses_unpaid_interest_and_wrong_amount(world: World) -> None:
    loan = active_loan(world, method="interest_only_bullet", term_months=6)
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(date(2025, 3, 1)), pytest.raises(ValidationError) as exc:
        services.loan_renew(
            loan=loan,
            kind="no_principal_repayment",
            principal=Money("1000000"),
            term_months=12,
            annual_rate=Decimal("0.033"),
            repayment_method="equal_instalment",
            acting_user=reviewer,
        )
    assert _rule(exc.value, "kind") == ["overdue_outstanding"]
    _interest_paid_to(world, loan, date(2025, 2, 15))
    _interest_paid_to(world, loan, date(2025, 3, 15))
    with as_of(date(2025, 3, 15)), pytest.raises(ValidationError) as exc:
        services.loan_renew(
            loan=loan,
            kind="no_principal_repayment",
            principal=Money("900000"),
            term_months=12,
            annual_rate=Decimal("0.033"),
            repayment_method="equal_instalment",
            acting_user=reviewer,
        )
    assert _rule(exc.value, "principal") == ["rollover_amount"]


def test_repay_then_renew_closes_the_old_loan_and_disburses_the_new(world: World) -> None:
    loan = active_loan(world)
    day = date(2025, 4, 15)
    for month in (2, 3, 4):
        _interest_paid_to(world, loan, date(2025, month, 15))
    with as_of(day):
        payoff = selectors.loan_position(loan, as_of=day).payoff_amount
        new = services.loan_renew(
            loan=loan,
            kind="repay_then_renew",
            principal=Money("800000"),
            term_months=12,
            annual_rate=Decimal("0.0340"),
            repayment_method="equal_principal",
            acting_user=world.user("bank1_sub", Role.ADMIN),
        )
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED and loan.closed_on == day
    closing = loan.transactions.get(idempotency_key=f"renewal-{loan.pk}")
    assert closing.amount == payoff
    assert new.disbursed_amount == Money("800000")
    assert new.transactions.get().kind == TransactionKind.DISBURSEMENT
    assert new.pledge_registration == loan.pledge_registration
    assert new.pledge_registration.status == RegistrationStatus.ACTIVE


def test_renewal_refused_for_non_performing_loan(world: World) -> None:
    loan = active_loan(world)
    Loan.objects.filter(pk=loan.pk).update(classification=LoanClass.SUBSTANDARD)
    loan.refresh_from_db()
    with as_of(date(2025, 3, 1)), pytest.raises(ValidationError) as exc:
        services.loan_renew(
            loan=loan,
            kind="no_principal_repayment",
            principal=Money("1000000"),
            term_months=12,
            annual_rate=Decimal("0.033"),
            repayment_method="equal_instalment",
            acting_user=world.user("bank1_sub", Role.REVIEWER),
        )
    assert _rule(exc.value, "kind") == ["renewal_non_performing"]
