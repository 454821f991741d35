"""The daily close of business (日终) and the manual classification services, on the database.

Loans and instalments are built directly with the ORM (status ACTIVE, balances set), so these tests do not depend
on the lifecycle services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.core.synthetic import make_uscc
from ipledge.lending.choices import ClassificationSource, LoanClass, LoanStatus
from ipledge.lending.classification import (
    close_of_business,
    loan_classification_override,
    loan_classification_override_clear,
    loan_risk_flags_set,
)
from ipledge.lending.engine.classification import add_months
from ipledge.lending.models import ClassificationChange, Instalment, Loan
from ipledge.registry.services import enterprise_create

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 30)
N, SM, SS, DB, LS = LoanClass.values


def new_borrower(w: Any, key: str) -> str:
    """Another enterprise, so that loans of different debtors do not cross-default on one another."""
    serial = 5000 + len(w.enterprises)
    w.enterprises[key] = enterprise_create(
        uscc=make_uscc(region_code="110108", serial=serial),
        name=f"测试企业{serial}",
        industry_section="I",
        acting_user=None,
    )
    return key


def make_loan(
    w: Any,
    ref: str,
    *,
    borrower: str = "e1",
    bank: str = "bank1_sub",
    outstanding: str = "1000000",
    status: int = LoanStatus.ACTIVE,
    **fields: Any,
) -> Loan:
    amount = Money(outstanding)
    enterprise = w.enterprises[borrower]
    return Loan.objects.create(
        reference=ref,
        status=status,
        borrower=enterprise,
        bank=w.orgs[bank],
        region_code=enterprise.region_code,
        requested_amount=amount,
        requested_term_months=24,
        principal=amount,
        term_months=24,
        annual_rate=Decimal("0.0385"),
        disbursed_amount=amount,
        outstanding_principal=amount,
        first_disbursed_on=dt.date(2025, 1, 1),
        **fields,
    )


def add_instalment(
    loan: Loan,
    due: dt.date,
    *,
    paid: bool = True,
    settled_on: dt.date | None = None,
    interest_only_unpaid: bool = False,
) -> Instalment:
    number = loan.instalments.count() + 1
    principal, interest = Money("10000"), Money("3000")
    fully = paid and not interest_only_unpaid
    return Instalment.objects.create(
        loan=loan,
        number=number,
        period_start=due - dt.timedelta(days=30),
        due_date=due,
        annual_rate=Decimal("0.0385"),
        principal_due=principal,
        interest_due=interest,
        principal_paid=principal if paid else Money(0),
        interest_paid=interest if fully else Money(0),
        settled_on=(settled_on or due) if fully else None,
    )


def overdue_loan(w: Any, ref: str, dpd: int, **kw: Any) -> Loan:
    loan = make_loan(w, ref, **kw)
    add_instalment(loan, DAY - dt.timedelta(days=dpd + 30))  # an older, paid instalment
    if dpd:
        add_instalment(loan, DAY - dt.timedelta(days=dpd), paid=False)
    return loan


def cls(loan: Loan) -> str:
    loan.refresh_from_db()
    return loan.classification


# --- days past due ----------------------------------------------------------------------------------------------


def test_days_past_due_edges(world: Any) -> None:
    expected = {0: N, 7: N, 8: SM, 90: SM, 91: SS, 270: SS, 271: DB, 360: DB, 361: LS}
    loans = {dpd: overdue_loan(world, f"DPD{dpd}", dpd, borrower=new_borrower(world, f"b{dpd}")) for dpd in expected}
    summary = close_of_business(business_day=DAY)
    assert summary.loans_examined == len(expected)
    for dpd, loan in loans.items():
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.classification, loan.classified_on) == (dpd, expected[dpd], DAY), dpd
    assert summary.changes == {f"{N}→{SM}": 2, f"{N}→{SS}": 2, f"{N}→{DB}": 2, f"{N}→{LS}": 1}


def test_unpaid_interest_alone_counts_and_the_oldest_unpaid_instalment_sets_the_days(world: Any) -> None:
    loan = make_loan(world, "INT1")
    add_instalment(loan, DAY - dt.timedelta(days=95), interest_only_unpaid=True)
    add_instalment(loan, DAY - dt.timedelta(days=65), paid=False)
    add_instalment(loan, DAY, paid=False)  # due today: not yet past due
    close_of_business(business_day=DAY)
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.classification) == (95, SS)


def test_loans_that_are_not_live_are_not_examined(world: Any) -> None:
    overdue_loan(world, "CLOSED1", 100, status=LoanStatus.CLOSED)
    overdue_loan(world, "DEF1", 100, status=LoanStatus.DEFAULTED, borrower="e2")
    summary = close_of_business(business_day=DAY)
    assert summary.loans_examined == 1
    assert cls(Loan.objects.get(reference="CLOSED1")) == N
    assert cls(Loan.objects.get(reference="DEF1")) == SS


# --- history, audit, idempotency --------------------------------------------------------------------------------


def test_transition_history_and_audit(world: Any) -> None:
    loan = overdue_loan(world, "H1", 95)
    version = loan.version
    close_of_business(business_day=DAY)
    loan.refresh_from_db()
    assert loan.classification_since == DAY
    assert loan.classification_source == ClassificationSource.ENGINE
    assert loan.version == version + 1
    change = ClassificationChange.objects.get(loan=loan)
    assert (change.business_day, change.from_class, change.to_class, change.source) == (DAY, N, SS, "engine")
    assert (change.days_past_due, change.reasons, change.actor) == (
        95,
        ["dpd_gt_90"],
        None,
    )
    event = AuditEvent.objects.get(action="loan.classify")
    assert (event.object_type, event.object_id, event.object_repr) == ("lending.loan", str(loan.pk), "H1")
    assert event.region_code == loan.region_code
    assert event.changes["fields"]["classification"] == {"old": N, "new": SS}
    summary_event = AuditEvent.objects.get(action="lending.close_of_business")
    assert summary_event.changes["extra"]["changes"] == {f"{N}→{SS}": 1}


def test_close_of_business_is_idempotent(world: Any) -> None:
    for dpd in (0, 10, 95, 300):
        overdue_loan(world, f"I{dpd}", dpd, borrower=new_borrower(world, f"b{dpd}"))
    first = close_of_business(business_day=DAY)
    assert first.transitions == 3
    versions = dict(Loan.objects.values_list("pk", "version"))
    events = AuditEvent.objects.filter(action="loan.classify").count()
    second = close_of_business(business_day=DAY)
    assert (second.transitions, second.days_past_due_updated, second.conflicts) == (0, 0, 0)
    assert second.loans_examined == 4
    assert dict(Loan.objects.values_list("pk", "version")) == versions
    assert ClassificationChange.objects.count() == 3
    assert AuditEvent.objects.filter(action="loan.classify").count() == events


def test_a_loan_worsening_day_by_day_leaves_one_row_per_transition(world: Any) -> None:
    loan = make_loan(world, "SEQ")
    due = DAY - dt.timedelta(days=300)
    add_instalment(loan, due, paid=False)
    for offset in (5, 8, 9, 91, 92, 271, 361):
        close_of_business(business_day=due + dt.timedelta(days=offset))
    rows = list(ClassificationChange.objects.filter(loan=loan).values_list("from_class", "to_class", "days_past_due"))
    assert rows == [(N, SM, 8), (SM, SS, 91), (SS, DB, 271), (DB, LS, 361)]
    loan.refresh_from_db()
    assert loan.days_past_due == 361


def test_dpd_changes_without_a_class_change_are_written(world: Any) -> None:
    loan = overdue_loan(world, "D1", 20)
    close_of_business(business_day=DAY)
    summary = close_of_business(business_day=DAY + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.classification, loan.classified_on) == (21, SM, DAY + dt.timedelta(days=1))
    assert (summary.transitions, summary.days_past_due_updated) == (0, 1)


# --- cross-default ----------------------------------------------------------------------------------------------


def test_cross_default_within_the_same_head_office(world: Any) -> None:
    # 200k of 1m at bank1 (sub-branch and another branch of the same head office) is non-performing: 20 % > 10 %.
    bad = overdue_loan(world, "X1", 95, outstanding="200000")
    sibling = make_loan(world, "X2", bank="bank1_br2", outstanding="800000")
    other_bank = make_loan(world, "X3", bank="bank2", outstanding="3000000")
    close_of_business(business_day=DAY)
    assert cls(bad) == SS
    assert cls(sibling) == SS
    assert ClassificationChange.objects.get(loan=sibling).reasons == [
        "debtor_npl_elsewhere",
        "cross_default_bank_10pct",
    ]
    # At another bank the debtor's NPL is a 关注 trigger only (200k of 4m over 90 days is 5 %, not > 20 %).
    assert cls(other_bank) == SM
    assert ClassificationChange.objects.get(loan=other_bank).reasons == ["debtor_npl_elsewhere"]


def test_cross_default_at_exactly_ten_percent_does_not_fire(world: Any) -> None:
    overdue_loan(world, "Y1", 95, outstanding="100000")
    sibling = make_loan(world, "Y2", bank="bank1_br", outstanding="900000")
    unrelated = make_loan(world, "Y3", borrower="e2", bank="bank1_br", outstanding="900000")
    close_of_business(business_day=DAY)
    assert cls(sibling) == SM  # an NPL elsewhere, but 10 % is not more than 10 %
    assert cls(unrelated) == N


def test_cross_default_over_twenty_percent_at_all_banks(world: Any) -> None:
    # e1 owes 210k over 90 days at bank2 out of 1m in total: 21 % > 20 % → every bank classifies it 次级.
    overdue_loan(world, "Z1", 95, bank="bank2", outstanding="210000")
    at_bank1 = make_loan(world, "Z2", bank="bank1_sub", outstanding="790000")
    close_of_business(business_day=DAY)
    assert cls(at_bank1) == SS
    assert "cross_default_platform_20pct" in ClassificationChange.objects.get(loan=at_bank1).reasons
    assert "cross_default_bank_10pct" not in ClassificationChange.objects.get(loan=at_bank1).reasons


def test_cross_default_at_exactly_twenty_percent_does_not_fire(world: Any) -> None:
    overdue_loan(world, "Z3", 95, bank="bank2", outstanding="200000")
    at_bank1 = make_loan(world, "Z4", bank="bank1_sub", outstanding="800000")
    close_of_business(business_day=DAY)
    assert cls(at_bank1) == SM


# --- upgrades ---------------------------------------------------------------------------------------------------


def npl_loan(w: Any, ref: str, *, since: dt.date, cleared: dt.date, on_time_dues: list[dt.date], **kw: Any) -> Loan:
    """A loan 次级 since `since` whose arrears were fully repaid on `cleared`, then paid on time on `on_time_dues`."""
    loan = make_loan(w, ref, classification=SS, classification_since=since, **kw)
    add_instalment(loan, since - dt.timedelta(days=91), settled_on=cleared)  # the instalment paid late
    for due in on_time_dues:
        add_instalment(loan, due)
    return loan


def test_upgrade_two_periods_within_six_months_is_not_enough(world: Any) -> None:
    cleared = DAY - dt.timedelta(days=100)
    loan = npl_loan(
        world,
        "U1",
        since=dt.date(2025, 12, 1),
        cleared=cleared,
        on_time_dues=[
            cleared + dt.timedelta(days=30),
            cleared + dt.timedelta(days=60),
            cleared + dt.timedelta(days=90),
        ],
    )
    summary = close_of_business(business_day=DAY)
    assert (cls(loan), summary.transitions) == (SS, 0)


def test_upgrade_six_months_with_one_period_is_not_enough(world: Any) -> None:
    cleared = add_months(DAY, -8)
    loan = npl_loan(
        world,
        "U2",
        since=add_months(DAY, -10),
        cleared=cleared,
        on_time_dues=[add_months(cleared, 6)],
        repayment_interval_months=6,
    )
    close_of_business(business_day=DAY)
    assert cls(loan) == SS


def test_upgrade_after_two_periods_and_six_months(world: Any) -> None:
    cleared = add_months(DAY, -6)
    loan = npl_loan(
        world,
        "U3",
        since=add_months(DAY, -9),
        cleared=cleared,
        on_time_dues=[add_months(cleared, m) for m in range(1, 6)],
    )
    add_instalment(loan, DAY + dt.timedelta(days=1), paid=False)  # not due yet
    close_of_business(business_day=DAY - dt.timedelta(days=1))
    assert cls(loan) == SS  # one day short of six months
    close_of_business(business_day=DAY)
    assert cls(loan) == N
    change = ClassificationChange.objects.get(loan=loan)
    assert (change.from_class, change.to_class, change.reasons) == (SS, N, [])


def test_upgrade_counts_from_the_day_the_loan_entered_its_class(world: Any) -> None:
    # Arrears were repaid long ago, but the loan only became 次级 (by hand) three months ago.
    cleared = add_months(DAY, -12)
    loan = npl_loan(
        world,
        "U4",
        since=add_months(DAY, -3),
        cleared=cleared,
        on_time_dues=[add_months(cleared, m) for m in range(1, 12)],
    )
    close_of_business(business_day=DAY)
    assert cls(loan) == SS


def test_upgrade_blocked_while_the_debtor_has_a_credit_impaired_loan_at_the_bank(world: Any) -> None:
    cleared = add_months(DAY, -7)
    loan = npl_loan(
        world,
        "U5",
        since=add_months(DAY, -9),
        cleared=cleared,
        on_time_dues=[add_months(cleared, m) for m in range(1, 7)],
    )
    impaired = make_loan(
        world,
        "U6",
        bank="bank1_br2",
        outstanding="10000",
        credit_impaired=True,
        classification=SS,
        classification_since=add_months(DAY, -9),
    )
    close_of_business(business_day=DAY)
    assert cls(loan) == SS
    assert cls(impaired) == SS


def test_arrears_outstanding_keep_the_class_even_when_the_days_fall(world: Any) -> None:
    loan = make_loan(world, "U7", classification=DB, classification_since=add_months(DAY, -2))
    add_instalment(loan, DAY - dt.timedelta(days=20), paid=False)
    close_of_business(business_day=DAY)
    loan.refresh_from_db()
    assert (loan.classification, loan.days_past_due) == (DB, 20)


def test_special_mention_returns_to_normal(world: Any) -> None:
    loan = make_loan(world, "U8", classification=SM, classification_since=add_months(DAY, -1))
    add_instalment(loan, DAY - dt.timedelta(days=20), settled_on=DAY - dt.timedelta(days=1))
    close_of_business(business_day=DAY)
    assert cls(loan) == N


# --- risk flags and restructuring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("funds_misused", True, SM),
        ("refinanced_by_new_loan", True, SM),
        ("credit_impaired", True, SS),
        ("external_rating_downgraded", True, SS),
    ],
)
def test_risk_flags_reclassify_at_once(world: Any, flag: str, value: bool, expected: str) -> None:
    flags: dict[str, Any] = {flag: value}
    loan = make_loan(world, "F1")
    with as_of(DAY):
        loan_risk_flags_set(loan=loan, acting_user=world.user("bank1_sub"), reason="贷后检查发现", **flags)
    loan.refresh_from_db()
    assert getattr(loan, flag) is value
    assert (loan.classification, loan.classification_source, loan.classification_since) == (expected, "manual", DAY)
    change = ClassificationChange.objects.get(loan=loan)
    assert (change.source, change.reasons, change.note, change.actor) == (
        "manual",
        [flag],
        "贷后检查发现",
        world.user("bank1_sub"),
    )
    event = AuditEvent.objects.get(action="loan.risk_flags_set")
    assert event.changes["fields"][flag] == {"old": False, "new": True}
    assert event.changes["extra"]["reason"] == "贷后检查发现"
    # The next close of business agrees.
    assert close_of_business(business_day=DAY).transitions == 0


def test_expected_credit_loss_bands(world: Any) -> None:
    loan = make_loan(world, "F2")
    user = world.user("bank1_sub")
    with as_of(DAY):
        loan_risk_flags_set(
            loan=loan, acting_user=user, reason="减值测试", credit_impaired=True, expected_loss_ratio=Decimal("0.55")
        )
        assert loan.classification == DB
        loan_risk_flags_set(loan=loan, acting_user=user, reason="减值测试", expected_loss_ratio=Decimal("0.9"))
        assert loan.classification == LS
        with pytest.raises(ValidationError) as err:
            loan_risk_flags_set(loan=loan, acting_user=user, reason="x", expected_loss_ratio=Decimal("1.2"))
    assert err.value.error_dict["expected_loss_ratio"][0].code == "range"
    assert list(ClassificationChange.objects.filter(loan=loan).values_list("to_class", flat=True)) == [DB, LS]


def test_restructuring_observation_period(world: Any) -> None:
    loan = make_loan(world, "R1")
    restructured = dt.date(2026, 3, 10)
    for month in range(1, 25):
        add_instalment(loan, add_months(dt.date(2026, 1, 10), month), paid=month <= 3)
    with as_of(DAY):
        loan_risk_flags_set(
            loan=loan, acting_user=world.user("bank1_sub"), reason="展期重组", restructured_on=restructured
        )
    loan.refresh_from_db()
    # One year is longer than two monthly periods.
    assert loan.restructure_observation_until == dt.date(2027, 3, 10)
    assert (loan.classification, loan.restructured_on) == (SM, restructured)
    Instalment.objects.filter(loan=loan).update(principal_paid=Money("10000"), interest_paid=Money("3000"))
    close_of_business(business_day=dt.date(2027, 3, 10))
    assert cls(loan) == SM
    close_of_business(business_day=dt.date(2027, 3, 11))
    assert cls(loan) == N


def test_restructuring_observation_covers_two_long_periods(world: Any) -> None:
    loan = make_loan(world, "R2", repayment_interval_months=12)
    for year in (2027, 2028):
        add_instalment(loan, dt.date(year, 1, 31), paid=False)
    with as_of(DAY):
        loan_risk_flags_set(loan=loan, acting_user=world.user("bank1_sub"), reason="重组", restructured_on=DAY)
    loan.refresh_from_db()
    assert loan.restructure_observation_until == dt.date(2028, 1, 31)


def test_risk_flags_need_a_bank_user_who_may_change_the_loan(world: Any) -> None:
    loan = make_loan(world, "P1")
    for user in (
        world.user("bank1_sub", Role.REVIEWER),
        world.user("bank2"),
        world.user("ent1"),
        world.user("reg_bj", Role.ADMIN),
    ):
        with pytest.raises(PermissionDenied):
            loan_risk_flags_set(loan=loan, acting_user=user, reason="x", funds_misused=True)
    with pytest.raises(ValidationError) as err:
        loan_risk_flags_set(loan=loan, acting_user=world.user("bank1_sub"), reason="  ", funds_misused=True)
    assert err.value.error_dict["reason"][0].code == "required"
    # The head office's operator reaches its sub-branch's loan.
    with as_of(DAY):
        loan_risk_flags_set(loan=loan, acting_user=world.user("bank1"), reason="总行检查", funds_misused=True)
    assert cls(loan) == SM


# --- manual override --------------------------------------------------------------------------------------------


def test_override_is_a_floor_with_audit(world: Any) -> None:
    loan = overdue_loan(world, "M1", 10)
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(DAY):
        loan_classification_override(loan=loan, to_class=DB, reason="经营严重恶化", acting_user=reviewer)
    loan.refresh_from_db()
    assert (loan.manual_class, loan.manual_class_reason, loan.classification) == (DB, "经营严重恶化", DB)
    assert loan.classification_source == ClassificationSource.MANUAL
    change = ClassificationChange.objects.get(loan=loan)
    assert (change.from_class, change.to_class, change.source, change.actor, change.note) == (
        N,
        DB,
        "manual",
        reviewer,
        "经营严重恶化",
    )
    assert change.reasons == ["dpd_gt_7", "manual_override"]
    override_event = AuditEvent.objects.get(action="loan.classification_override")
    assert override_event.actor == reviewer
    assert override_event.changes["fields"]["manual_class"] == {"old": "", "new": DB}
    assert AuditEvent.objects.filter(action="loan.classify", actor=reviewer).count() == 1
    # The daily run keeps the floor.
    assert close_of_business(business_day=DAY).transitions == 0
    assert cls(loan) == DB


def test_override_cannot_make_the_class_better_than_the_rules(world: Any) -> None:
    loan = overdue_loan(world, "M2", 100)
    close_of_business(business_day=DAY)
    loan.refresh_from_db()
    with as_of(DAY):
        loan_classification_override(
            loan=loan, to_class=N, reason="客户承诺还款", acting_user=world.user("bank1_sub", Role.ADMIN)
        )
    loan.refresh_from_db()
    assert (loan.manual_class, loan.classification) == (N, SS)
    assert ClassificationChange.objects.filter(loan=loan).count() == 1  # only the engine's


def test_override_clear_recomputes(world: Any) -> None:
    loan = overdue_loan(world, "M3", 10)
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(DAY):
        loan_classification_override(loan=loan, to_class=SM, reason="关注行业风险", acting_user=reviewer)
        assert loan.classification == SM
        Instalment.objects.filter(loan=loan).update(principal_paid=Money("10000"), interest_paid=Money("3000"))
        loan_classification_override_clear(loan=loan, reason="风险已消除", acting_user=reviewer)
    loan.refresh_from_db()
    assert (loan.manual_class, loan.manual_class_reason, loan.classification) == ("", "", N)
    assert (
        AuditEvent.objects.get(action="loan.classification_override_clear").changes["extra"]["reason"] == "风险已消除"
    )
    with pytest.raises(ValidationError) as err:
        loan_classification_override_clear(loan=loan, reason="再次", acting_user=reviewer)
    assert err.value.error_dict["manual_class"][0].code == "no_override"


def test_clearing_a_non_performing_override_keeps_the_class_until_upgrade_conditions_hold(world: Any) -> None:
    loan = make_loan(world, "M4")
    reviewer = world.user("bank1_sub", Role.REVIEWER)
    with as_of(DAY):
        loan_classification_override(loan=loan, to_class=SS, reason="担保人失联", acting_user=reviewer)
        loan_classification_override_clear(loan=loan, reason="担保人已联系", acting_user=reviewer)
    assert cls(loan) == SS
    for month in range(1, 7):
        add_instalment(loan, add_months(DAY, month))
    close_of_business(business_day=add_months(DAY, 6))
    assert cls(loan) == N


def test_override_permissions_and_input(world: Any) -> None:
    loan = make_loan(world, "M5")
    for user in (
        world.user("bank1_sub"),
        world.user("bank2", Role.REVIEWER),
        world.user("ent1", Role.ADMIN),
        world.user("reg_bj", Role.REVIEWER),
    ):
        with pytest.raises(PermissionDenied):
            loan_classification_override(loan=loan, to_class=SS, reason="x", acting_user=user)
    reviewer = world.user("bank1", Role.REVIEWER)
    with pytest.raises(ValidationError) as err:
        loan_classification_override(loan=loan, to_class="bad", reason="x", acting_user=reviewer)
    assert err.value.error_dict["to_class"][0].code == "invalid_choice"
    with pytest.raises(ValidationError) as err:
        loan_classification_override(loan=loan, to_class=SS, reason="", acting_user=reviewer)
    assert err.value.error_dict["reason"][0].code == "required"
    closed = make_loan(world, "M6", status=LoanStatus.CLOSED)
    with pytest.raises(ValidationError) as err:
        loan_classification_override(loan=closed, to_class=SS, reason="x", acting_user=reviewer)
    assert err.value.error_dict["status"][0].code == "not_live"
    assert cls(loan) == N and not AuditEvent.objects.filter(action__startswith="loan.classif").exists()


def test_stale_loan_is_refused(world: Any) -> None:
    loan = make_loan(world, "M7")
    Loan.objects.filter(pk=loan.pk).update(version=loan.version + 1)
    with pytest.raises(ValidationError) as err:
        loan_classification_override(loan=loan, to_class=SS, reason="x", acting_user=world.user("bank1", Role.ADMIN))
    assert err.value.error_dict["version"][0].code == "stale"


# --- command ----------------------------------------------------------------------------------------------------


def test_command_prints_the_summary(world: Any) -> None:
    overdue_loan(world, "C1", 95)
    out = StringIO()
    call_command("close_of_business", "--date", DAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert text.startswith("2026-06-30: 0 LPR-linked loans repriced\n2026-06-30: 1 loans examined, 1 transitions")
    assert f"{N}→{SS}: 1" in text
    out = StringIO()
    call_command("close_of_business", "--date", DAY.isoformat(), "--json", stdout=out)
    assert '"transitions": 0' in out.getvalue() and '"lpr_repriced": 0' in out.getvalue()
    with pytest.raises(CommandError):
        call_command("close_of_business", "--date", "30/06/2026")


def test_command_defaults_to_the_business_date(world: Any) -> None:
    overdue_loan(world, "C2", 95)
    out = StringIO()
    with as_of(DAY):
        call_command("close_of_business", stdout=out)
    assert out.getvalue().startswith("2026-06-30:")


def test_a_loan_changed_during_the_run_is_left_for_the_next_run(world: Any) -> None:
    from django.db import transaction

    from ipledge.lending.classification import _apply_transitions, classify_loans

    loan = overdue_loan(world, "K1", 95)
    row = classify_loans(Loan.objects.filter(pk=loan.pk), business_day=DAY).to_dicts()[0]
    Loan.objects.filter(pk=loan.pk).update(version=loan.version + 1)  # someone else saved it meanwhile
    with transaction.atomic():
        moved = _apply_transitions([row], business_day=DAY, source="engine", acting_user=None)
    assert moved == []
    assert cls(loan) == N
    assert not ClassificationChange.objects.exists()
    assert close_of_business(business_day=DAY).transitions == 1
