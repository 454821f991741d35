"""Lending through the API: a loan from application to closure, idempotent repayments, reversals, renewal, scope
(404 for other tenants), refusals in the one error shape, bank plans and LPR."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.lending.choices import DueDiligenceItem, LoanStatus
from ipledge.lending.models import Loan, LoanTransaction
from tests.api_helpers import assert_error, get, send, session_client
from tests.lending.factories import active_loan, pledge_registration
from tests.world import World

pytestmark = pytest.mark.django_db

START = date(2025, 1, 15)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def test_loan_from_application_to_closure(world: World) -> None:
    ent = session_client(world.user("ent1"))
    op = session_client(world.user("bank1_sub"))
    reviewer = session_client(world.user("bank1_sub", Role.REVIEWER))
    with as_of(START):
        registration = pledge_registration(world)
        body = {
            "borrower_id": world.enterprises["e1"].pk,
            "bank_id": world.orgs["bank1_sub"].pk,
            "requested_amount": "1000000.00",
            "requested_term_months": 12,
            "purpose": "研发投入",
        }
        loan = _ok(send(ent, "post", "/loans", body), 201)
        loan_id = loan["id"]
        assert loan["status"] == LoanStatus.SUBMITTED and loan["position"] is None
        assert loan["borrower"]["uscc"] == world.enterprises["e1"].uscc
        assert_error(send(ent, "post", f"/loans/{loan_id}/due-diligence"), 403)
        _ok(send(op, "post", f"/loans/{loan_id}/due-diligence"))
        for item in DueDiligenceItem.values:
            loan = _ok(send(op, "post", f"/loans/{loan_id}/due-diligence/{item}", {"done": True, "note": "已核实"}))
        assert all(entry["done"] for entry in loan["due_diligence"].values())
        assert_error(send(op, "post", f"/loans/{loan_id}/due-diligence/unknown", {"done": True}), 422)
        terms = {"principal": "1000000.00", "term_months": 12, "repayment_method": "equal_instalment"}
        assert_error(send(op, "post", f"/loans/{loan_id}/submit", terms), 400, field="annual_rate", rule="required")
        loan = _ok(send(op, "post", f"/loans/{loan_id}/submit", {**terms, "annual_rate": "0.0345"}))
        assert loan["status"] == LoanStatus.PENDING_APPROVAL and loan["prepared_by"] == "bank1_sub_operator"
        assert_error(send(op, "post", f"/loans/{loan_id}/approve", {"note": ""}), 403)
        loan = _ok(send(reviewer, "post", f"/loans/{loan_id}/approve", {"note": "同意"}))
        assert loan["status"] == LoanStatus.APPROVED and loan["approved_by"] == "bank1_sub_reviewer"
        contract = {"contract_no": "HT-2025-001", "signed_on": "2025-01-15"}
        _ok(send(op, "post", f"/loans/{loan_id}/contract", contract))
        disbursal = {"amount": "1000000.00", "value_date": "2025-01-15"}
        assert_error(
            send(op, "post", f"/loans/{loan_id}/disburse", disbursal),
            400,
            field="pledge_registration",
            rule="pledge_required",
        )
        loan = _ok(send(op, "post", f"/loans/{loan_id}/pledge", {"registration_id": registration.pk}))
        assert loan["pledge_registration_id"] == registration.pk and len(loan["collateral"]) == 1
        tx = _ok(send(op, "post", f"/loans/{loan_id}/disburse", disbursal, HTTP_IDEMPOTENCY_KEY="d-1"), 201)
        assert tx["kind"] == "disbursement" and tx["amount"] == "1000000.00"
    with as_of(date(2025, 2, 15)):
        detail = _ok(get(op, f"/loans/{loan_id}"))
        assert detail["status"] == LoanStatus.ACTIVE and detail["maturity_date"] == "2026-01-15"
        assert len(detail["schedule"]) == 12 and detail["schedule"][0]["interest_due"] == "2970.83"
        due = detail["position"]["next_due_amount"]
        assert detail["position"]["interest_due_today"] == "2970.83"
        first = send(
            op,
            "post",
            f"/loans/{loan_id}/repay",
            {"amount": due, "value_date": "2025-02-15"},
            HTTP_IDEMPOTENCY_KEY="r-1",
        )
        again = send(
            op,
            "post",
            f"/loans/{loan_id}/repay",
            {"amount": due, "value_date": "2025-02-15"},
            HTTP_IDEMPOTENCY_KEY="r-1",
        )
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
        assert LoanTransaction.objects.filter(loan_id=loan_id, kind="repayment").count() == 1
    with as_of(date(2025, 3, 1)):
        position = _ok(get(op, f"/loans/{loan_id}"))["position"]
        too_much = f"{float(position['payoff_amount']) + 1:.2f}"
        assert_error(
            send(op, "post", f"/loans/{loan_id}/repay", {"amount": too_much, "value_date": "2025-03-01"}),
            400,
            field="amount",
            rule="exceeds_payoff",
        )
        payoff = {"amount": position["payoff_amount"], "value_date": "2025-03-01", "idempotency_key": "payoff"}
        closing = _ok(send(op, "post", f"/loans/{loan_id}/repay", payoff), 201)
        assert "注销" in closing["note"]
        closed = _ok(get(ent, f"/loans/{loan_id}"))
        assert closed["status"] == LoanStatus.CLOSED and closed["outstanding_principal"] == "0.00"
        assert closed["closed_on"] == "2025-03-01"
        assert [t["kind"] for t in closed["transactions"]] == ["disbursement", "repayment", "repayment"]


def test_reverse_and_renew_through_the_api(world: World) -> None:
    loan = active_loan(world, method="interest_only_bullet", term_months=3)
    op = session_client(world.user("bank1_sub"))
    with as_of(date(2025, 2, 15)):
        tx = _ok(send(op, "post", f"/loans/{loan.pk}/repay", {"amount": "2970.83", "value_date": "2025-02-15"}), 201)
        assert tx["interest_part"] == "2970.83"
        assert_error(send(op, "post", f"/loans/{loan.pk}/transactions/{tx['id']}/reverse", {"reason": ""}), 422)
        reversed_tx = _ok(send(op, "post", f"/loans/{loan.pk}/transactions/{tx['id']}/reverse", {"reason": "错账"}))
        assert reversed_tx["reversed_at"] and reversed_tx["reversal_reason"] == "错账"
        assert_error(
            send(op, "post", f"/loans/{loan.pk}/transactions/{tx['id']}/reverse", {"reason": "again"}),
            400,
            field="transaction",
            rule="already_reversed",
        )
        other = active_loan(world, borrower="e2", bank="bank2")
        other_tx = other.transactions.get()
        assert_error(send(op, "post", f"/loans/{loan.pk}/transactions/{other_tx.pk}/reverse", {"reason": "x"}), 404)
    for day in ("2025-02-15", "2025-03-15", "2025-04-15"):
        with as_of(date.fromisoformat(day)):
            position = _ok(get(op, f"/loans/{loan.pk}"))["position"]
            interest = position["interest_due_today"]
            overdue = float(position["overdue_interest"]) + float(position["penalty_due"])
            amount = f"{float(interest) + overdue:.2f}"
            _ok(send(op, "post", f"/loans/{loan.pk}/repay", {"amount": amount, "value_date": day}), 201)
    renewal = {
        "kind": "no_principal_repayment",
        "principal": "1000000.00",
        "term_months": 12,
        "annual_rate": "0.0330",
        "repayment_method": "equal_instalment",
    }
    with as_of(date(2025, 4, 15)):
        assert_error(send(op, "post", f"/loans/{loan.pk}/renew", renewal), 403)  # operators do not decide credit
        reviewer = session_client(world.user("bank1_sub", Role.REVIEWER))
        new = _ok(send(reviewer, "post", f"/loans/{loan.pk}/renew", renewal), 201)
    assert new["renewal_of_id"] == loan.pk and new["origin"] == "renewal"
    assert new["status"] == LoanStatus.ACTIVE and new["outstanding_principal"] == "1000000.00"
    assert new["transactions"][0]["kind"] == "renewal_rollover"
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED_BY_RENEWAL


@pytest.mark.parametrize(
    ("org", "role", "visible"),
    [
        ("bank1_sub", Role.VIEWER, True),
        ("bank1", Role.VIEWER, True),  # head office above the branch
        ("bank1_br2", Role.VIEWER, False),  # sibling branch
        ("bank2", Role.ADMIN, False),
        ("ent1", Role.VIEWER, True),  # the borrower
        ("ent2", Role.ADMIN, False),
        ("park1", Role.VIEWER, True),  # the borrower's park
        ("park2", Role.VIEWER, False),
        ("reg_bj", Role.VIEWER, True),  # regulator of the bank's region
        ("ipo_js", Role.VIEWER, False),
        ("guarantor", Role.VIEWER, False),  # no cover yet
    ],
)
def test_who_sees_a_loan(world: World, org: str, role: str, visible: bool) -> None:
    loan = active_loan(world)
    client = session_client(world.user(org, role))
    response = get(client, f"/loans/{loan.pk}")
    listed = get(client, "/loans")
    if visible:
        assert _ok(response)["reference"] == loan.reference
        assert [item["id"] for item in _ok(listed)["items"]] == [loan.pk]
    else:
        assert response.status_code in (403, 404)
        if response.status_code == 404:
            assert_error(response, 404)
        if listed.status_code == 200:
            assert listed.json()["count"] == 0


def test_other_tenants_get_404_on_writes(world: World) -> None:
    loan = active_loan(world)
    bank2 = session_client(world.user("bank2"))
    with as_of(date(2025, 2, 15)):
        assert_error(
            send(bank2, "post", f"/loans/{loan.pk}/repay", {"amount": "1.00", "value_date": "2025-02-15"}), 404
        )
        assert_error(send(bank2, "post", f"/loans/{loan.pk}/default", {"on": "2025-02-15", "reason": "x"}), 404)
    # The borrower sees its loan but may not post money on it.
    ent = session_client(world.user("ent1"))
    with as_of(date(2025, 2, 15)):
        assert_error(send(ent, "post", f"/loans/{loan.pk}/repay", {"amount": "1.00", "value_date": "2025-02-15"}), 403)
    assert_error(get(bank2, "/loans/999999"), 404)


def test_covers_investments_collateral_and_implementation(world: World) -> None:
    loan = active_loan(world)
    op = session_client(world.user("bank1_sub"))
    with as_of(date(2025, 2, 1)):
        cover = _ok(
            send(
                op,
                "post",
                f"/loans/{loan.pk}/covers",
                {"kind": "guarantee", "provider_id": world.orgs["guarantor"].pk, "cover_ratio": "0.8"},
            ),
            201,
        )
        assert cover["provider_name"] == world.orgs["guarantor"].name and cover["cover_ratio"] == "0.8000"
        assert_error(
            send(
                op,
                "post",
                f"/loans/{loan.pk}/covers",
                {"kind": "insurance", "provider_name": "人保", "cover_ratio": "0.3"},
            ),
            400,
            field="cover_ratio",
            rule="total_exceeds_one",
        )
        link = _ok(
            send(
                op,
                "post",
                f"/loans/{loan.pk}/investments",
                {"investor_name": "中关村创投", "term_kind": "equity", "amount": "2000000.00", "equity_ratio": "0.05"},
            ),
            201,
        )
        assert link["amount"] == "2000000.00"
        right = loan.collateral.get().ip_right
        collateral = _ok(
            send(
                op,
                "post",
                f"/loans/{loan.pk}/collateral",
                {"ip_right_id": right.pk, "appraised_value": "3000000.00", "appraised_on": "2025-01-10"},
            ),
            201,
        )
        assert collateral["appraised_value"] == "3000000.00"
        report = _ok(
            send(
                op,
                "post",
                f"/collateral/{collateral['id']}/implementation",
                {"status": "licensed", "reported_on": "2025-02-01"},
            ),
            201,
        )
        assert report["status"] == "licensed"
    detail = _ok(get(session_client(world.user("guarantor", Role.VIEWER)), f"/loans/{loan.pk}"))
    assert detail["collateral"][0]["implementation"][0]["status"] == "licensed"
    assert len(detail["investments"]) == 1 and len(detail["covers"]) == 1


def test_classification_endpoints_call_the_classification_services(world: World) -> None:
    loan = active_loan(world)
    reviewer = session_client(world.user("bank1_sub", Role.REVIEWER))
    with as_of(date(2025, 2, 1)):
        detail = _ok(
            send(
                reviewer, "post", f"/loans/{loan.pk}/classification", {"to_class": "substandard", "reason": "经营恶化"}
            )
        )
        assert detail["manual_class"] == "substandard"
        detail = _ok(send(reviewer, "post", f"/loans/{loan.pk}/classification/clear", {"reason": "已改善"}))
        assert detail["manual_class"] == ""
        op = session_client(world.user("bank1_sub"))
        detail = _ok(send(op, "post", f"/loans/{loan.pk}/risk-flags", {"reason": "挪用资金", "funds_misused": True}))
        assert detail["funds_misused"] is True


def test_credit_plans_npl_reports_and_lpr(world: World) -> None:
    admin = session_client(world.user("bank1", Role.ADMIN))
    with as_of(date(2025, 3, 1)):
        plan = _ok(
            send(
                admin,
                "post",
                "/lending/credit-plans",
                {"year": 2025, "planned_amount": "500000000.00", "planned_clients": 300},
            ),
            201,
        )
        assert plan["bank"]["id"] == world.orgs["bank1"].pk
        report = _ok(send(admin, "post", "/lending/npl-reports", {"as_of": "2024-12-31", "npl_ratio": "0.0131"}), 201)
        assert report["npl_ratio"] == "0.013100"
        regulator = session_client(world.user("reg_bj", Role.VIEWER))
        assert _ok(get(regulator, "/lending/credit-plans"))["count"] == 1
        assert _ok(get(session_client(world.user("bank2", Role.ADMIN)), "/lending/credit-plans"))["count"] == 0
        assert_error(
            send(
                session_client(world.user("bank2", Role.ADMIN)),
                "post",
                "/lending/credit-plans",
                {"bank_id": world.orgs["bank1"].pk, "year": 2025, "planned_amount": "1.00", "planned_clients": 1},
            ),
            400,
            field="bank_id",
            rule="not_found",
        )
    lpr = _ok(get(admin, "/lending/lpr", {"tenor": "1y", "on": "2025-01-15"}))
    assert lpr["rate"] == "0.031000" and lpr["history"]


def test_list_filters_and_pagination(world: World) -> None:
    first = active_loan(world)
    second = active_loan(world, principal="500000.00")
    op = session_client(world.user("bank1_sub"))
    page = _ok(get(op, "/loans", {"page_size": 1}))
    assert page["count"] == 2 and page["pages"] == 2 and len(page["items"]) == 1
    found = _ok(get(op, "/loans", {"q": second.reference}))
    assert [item["id"] for item in found["items"]] == [second.pk]
    assert _ok(get(op, "/loans", {"status": LoanStatus.ACTIVE}))["count"] == 2
    Loan.objects.filter(pk=first.pk).update(classification="special_mention")
    assert [i["id"] for i in _ok(get(op, "/loans", {"classification": "special_mention"}))["items"]] == [first.pk]


def test_maker_checker_withdrawal_and_schema_errors(world: World) -> None:
    admin = session_client(world.user("bank1_sub", Role.ADMIN))
    ent = session_client(world.user("ent1"))
    with as_of(START):
        body = {"borrower_id": world.enterprises["e1"].pk, "requested_amount": "800000.00", "requested_term_months": 12}
        # A bank does not browse the registry: it names the borrower by USCC.
        assert_error(send(admin, "post", "/loans", body), 400, field="borrower_id", rule="not_found")
        by_uscc = {**body, "borrower_id": None, "borrower_uscc": world.enterprises["e1"].uscc}
        loan_id = _ok(send(admin, "post", "/loans", by_uscc), 201)["id"]
        for item in DueDiligenceItem.values:
            _ok(send(admin, "post", f"/loans/{loan_id}/due-diligence/{item}", {"done": True}))
        terms = {"principal": "800000.00", "term_months": 12, "repayment_method": "equal_principal"}
        assert_error(
            send(admin, "post", f"/loans/{loan_id}/submit", {**terms, "annual_rate": "3.45"}),
            422,
            field="annual_rate",
        )
        _ok(send(admin, "post", f"/loans/{loan_id}/submit", {**terms, "annual_rate": "0.0345"}))
        assert_error(
            send(admin, "post", f"/loans/{loan_id}/approve", {}), 400, field="approved_by", rule="maker_is_checker"
        )
        # Still before approval: the borrower may withdraw it; the checker then finds nothing to approve.
        withdrawn = _ok(send(ent, "post", f"/loans/{loan_id}/withdraw", {"reason": "已获其他融资"}))
        assert withdrawn["status"] == LoanStatus.WITHDRAWN and withdrawn["decision_note"] == "已获其他融资"
        reviewer = session_client(world.user("bank1_sub", Role.REVIEWER))
        assert_error(
            send(reviewer, "post", f"/loans/{loan_id}/approve", {}), 400, field="status", rule="invalid_status"
        )
        own = _ok(send(ent, "post", "/loans", {**body, "bank_id": world.orgs["bank1_sub"].pk}), 201)
        assert own["status"] == LoanStatus.SUBMITTED and own["borrower"]["id"] == world.enterprises["e1"].pk
        assert_error(send(ent, "post", "/loans", {**body, "bank_id": None}), 400, field="bank_id", rule="required")


def test_missed_payments_take_a_loan_to_substandard_through_the_daily_job(world: World) -> None:
    """Disbursed through the API, never repaid: the close of business 91 days after the first due date moves it
    from 正常 to 关注 (day 8) and then to 次级; the API shows the class, the days past due and each transition."""
    from io import StringIO

    from django.core.management import call_command

    op = session_client(world.user("bank1_sub"))
    loan = active_loan(world)  # disbursed 2025-01-15, first instalment due 2025-02-15
    first_due = date(2025, 2, 15)
    for day in (date(2025, 2, 22), date(2025, 2, 23), date(2025, 5, 16), date(2025, 5, 17)):
        with as_of(day):
            call_command("close_of_business", stdout=StringIO())
    with as_of(date(2025, 5, 17)):
        detail = _ok(get(op, f"/loans/{loan.pk}"))
    assert (date(2025, 5, 17) - first_due).days == 91
    assert detail["classification"] == "substandard" and detail["days_past_due"] == 91
    history = [
        (c["business_day"], c["from_class"], c["to_class"], c["reasons"]) for c in detail["classification_history"]
    ]
    assert [h[:3] for h in history] == [
        ("2025-02-23", "normal", "special_mention"),
        ("2025-05-17", "special_mention", "substandard"),
    ]
    assert "dpd_gt_7" in history[0][3] and "dpd_gt_90" in history[1][3]
    assert detail["position"]["days_past_due"] == 91 and detail["position"]["overdue_principal"] != "0.00"
