"""Loan pages: the lifecycle posted through the browser forms (apply → due diligence → submit → approve → sign →
pledge → disburse → repay → closed with the pledge cancellation filed), scoping (another bank answers 404), field
errors, idempotent double submits, reversals, covers, collateral, classification actions, the bank reports and
the xlsx exports."""

from __future__ import annotations

import datetime
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.context_processors import build_navigation
from ipledge.core.money import Money
from ipledge.lending import services, views
from ipledge.lending.choices import DueDiligenceItem, LoanClass, LoanStatus, TransactionKind
from ipledge.lending.models import BankNplReport, CreditPlan, Loan, LoanTransaction
from ipledge.registration.models import PledgeFiling
from tests.lending.factories import active_loan, pledge_registration

pytestmark = pytest.mark.django_db

START = date(2025, 1, 15)


def login(client: Client, world, org: str, role: str = Role.OPERATOR):  # type: ignore[no-untyped-def]
    user = world.user(org, role)
    client.force_login(user)
    return user


def act(client: Client, loan: Loan, action: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post(reverse(f"lending:loan_{action}", args=[loan.pk]), data or {})


def terms(**overrides: str) -> dict[str, str]:
    data = {
        "principal": "1000000.00",
        "term_months": "12",
        "rate_type": "fixed",
        "annual_rate": "3.45",
        "repayment_method": "equal_instalment",
        "repayment_interval_months": "1",
        "grace_months": "0",
        "penalty_markup": "50",
    }
    data.update(overrides)
    return data


def panels(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {p["spec"].name for group in response.context["panels"].values() for p in group}


def test_lifecycle_from_application_to_closure_through_the_forms(client, world):
    registration = pledge_registration(world)  # e1 → bank1_sub, so e1 is a borrower bank1_sub reaches
    with as_of(START):
        operator = login(client, world, "bank1_sub")
        page = client.get(reverse("lending:loan_apply"))
        assert page.status_code == 200
        assert world.enterprises["e1"] in page.context["form"].fields["borrower"].queryset
        assert world.enterprises["e2"] not in page.context["form"].fields["borrower"].queryset
        response = client.post(
            reverse("lending:loan_apply"),
            {
                "borrower": str(world.enterprises["e1"].pk),
                "bank": str(world.orgs["bank1_sub"].pk),
                "requested_amount": "1000000",
                "requested_term_months": "12",
                "purpose": "研发投入",
            },
        )
        loan = Loan.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("lending:loan_detail", args=[loan.pk])
        assert loan.status == LoanStatus.SUBMITTED and loan.park == world.parks["p1"]

        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        assert {"dd_start", "dd_record", "withdraw"} <= panels(page)
        assert "approve" not in panels(page) and "disburse" not in panels(page)
        assert act(client, loan, "dd_start").status_code == 302
        for item in DueDiligenceItem.values:
            assert act(client, loan, "dd_record", {"item": item, "done": "on", "note": "核查无误"}).status_code == 302
        loan.refresh_from_db()
        assert loan.status == LoanStatus.DUE_DILIGENCE
        assert all(entry["done"] and entry["by"] == operator.username for entry in loan.due_diligence.values())

        assert act(client, loan, "submit", terms()).status_code == 302
        loan.refresh_from_db()
        assert loan.status == LoanStatus.PENDING_APPROVAL and loan.annual_rate == Decimal("0.0345")
        assert loan.penalty_markup == Decimal("0.5") and loan.prepared_by == operator

        # The reviewer approves; the maker never sees the approval.
        login(client, world, "bank1_sub", Role.REVIEWER)
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        assert {"approve", "reject"} <= panels(page)
        assert act(client, loan, "approve", {"note": "同意"}).status_code == 302
        loan.refresh_from_db()
        assert loan.status == LoanStatus.APPROVED

        login(client, world, "bank1_sub")
        assert (
            act(client, loan, "sign", {"contract_no": "HT-2025-001", "signed_on": START.isoformat()}).status_code == 302
        )
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        offered = page.context["action_forms"]["pledge"].fields["registration"].queryset
        assert list(offered) == [registration]
        assert act(client, loan, "pledge", {"registration": str(registration.pk)}).status_code == 302
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        key = page.context["action_forms"]["disburse"]["idempotency_key"].value()
        assert len(key) == 32
        assert (
            act(
                client, loan, "disburse", {"amount": "1000000", "value_date": START.isoformat(), "idempotency_key": key}
            ).status_code
            == 302
        )
        loan.refresh_from_db()
        assert loan.status == LoanStatus.ACTIVE and loan.outstanding_principal == Money("1000000")
        assert loan.instalments.count() == 12
        assert loan.collateral.filter(ip_right__in=registration.pledged_rights.values("ip_right")).exists()

    # A month later the repay form suggests the first instalment; paying the payoff closes the loan.
    day = date(2025, 2, 15)
    with as_of(day):
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        first = loan.instalments.get(number=1)
        suggested = page.context["action_forms"]["repay"]["amount"].value()
        assert Decimal(str(suggested)) == (first.principal_due + first.interest_due).amount
        figures = {row["key"]: row["value"] for row in page.context["position_rows"]}
        assert figures["outstanding"] == "1,000,000.00"
        payoff = services.payoff_fen(loan, on=day)
        key = page.context["action_forms"]["repay"]["idempotency_key"].value()
        response = act(
            client,
            loan,
            "repay",
            {"amount": str(Money.from_fen(payoff).amount), "value_date": day.isoformat(), "idempotency_key": key},
        )
        assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED and loan.outstanding_principal == Money(0)
    cancellation = PledgeFiling.objects.get(registration=registration, filing_type="cancellation")
    with as_of(day):
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
    html = page.content.decode()
    assert "已结清" in html
    assert reverse("registration:filing_detail", args=[cancellation.pk]) in html


def test_pages_render_for_the_right_users_and_404_elsewhere(client, world):
    loan = active_loan(world)
    detail = reverse("lending:loan_detail", args=[loan.pk])
    for org, role in (
        ("bank1_sub", Role.OPERATOR),
        ("bank1", Role.VIEWER),  # the head office sees its branches' loans
        ("ent1", Role.OPERATOR),  # the borrower
        ("park1", Role.OPERATOR),  # the borrower's park
        ("reg_bj", Role.VIEWER),  # the regulator of the bank's region
        ("ipo_bj", Role.VIEWER),
    ):
        login(client, world, org, role)
        assert client.get(detail).status_code == 200, org
        listed = client.get(reverse("lending:loan_list"))
        assert [row.record.pk for row in listed.context["table"].paginated_rows] == [loan.pk], org
    for org in ("bank2", "bank1_br2", "ent2", "park2", "ipo_js", "insurer"):
        login(client, world, org)
        assert client.get(detail).status_code == 404, org
        assert client.get(reverse("lending:loan_schedule_export", args=[loan.pk])).status_code == 404, org
        assert client.get(reverse("lending:loan_audit", args=[loan.pk])).status_code == 404, org
        assert act(client, loan, "repay", {"amount": "1", "value_date": "2025-02-01"}).status_code == 404, org
        listed = client.get(reverse("lending:loan_list"))
        assert list(listed.context["table"].paginated_rows) == [], org
    # Read-only viewers get the page without any action; the borrower may not post the bank's actions.
    login(client, world, "reg_bj", Role.VIEWER)
    assert panels(client.get(detail)) == set()
    login(client, world, "ent1")
    assert "repay" not in panels(client.get(detail))
    assert act(client, loan, "repay", {"amount": "1", "value_date": "2025-02-01"}).status_code == 404
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 0


def test_apply_form_names_missing_borrower_and_unknown_uscc(client, world):
    login(client, world, "bank1_sub")
    base = {"bank": str(world.orgs["bank1_sub"].pk), "requested_amount": "500000", "requested_term_months": "12"}
    response = client.post(reverse("lending:loan_apply"), base)
    assert response.status_code == 200
    assert "请选择借款企业或填写其统一社会信用代码" in " ".join(response.context["form"].errors["borrower"])
    response = client.post(reverse("lending:loan_apply"), {**base, "borrower_uscc": "91110108MA00000000"})
    assert response.context["form"].errors["borrower_uscc"]
    assert 'data-field="borrower_uscc"' in response.content.decode()
    # The service's rule (term at most 120 months) comes back next to its field.
    response = client.post(
        reverse("lending:loan_apply"),
        {**base, "borrower_uscc": world.enterprises["e2"].uscc, "requested_term_months": "121"},
    )
    assert "requested_term_months" in response.context["form"].errors
    assert not Loan.objects.exists()
    # By USCC a bank reaches an enterprise it has no business with yet.
    response = client.post(reverse("lending:loan_apply"), {**base, "borrower_uscc": world.enterprises["e2"].uscc})
    assert response.status_code == 302
    assert Loan.objects.get().borrower == world.enterprises["e2"]


def test_bank_with_many_customers_names_the_borrower_by_uscc(client, world, monkeypatch):
    from ipledge.lending import forms

    pledge_registration(world)  # e1 is now a customer of bank1_sub
    monkeypatch.setattr(forms, "MAX_BORROWER_CHOICES", 0)
    login(client, world, "bank1_sub")
    page = client.get(reverse("lending:loan_apply"))
    assert "borrower" not in page.context["form"].fields and "borrower_uscc" in page.context["form"].fields
    base = {"bank": str(world.orgs["bank1_sub"].pk), "requested_amount": "500000", "requested_term_months": "12"}
    response = client.post(reverse("lending:loan_apply"), base)
    assert "请选择借款企业或填写其统一社会信用代码" in " ".join(response.context["form"].errors["borrower_uscc"])
    response = client.post(reverse("lending:loan_apply"), {**base, "borrower_uscc": world.enterprises["e1"].uscc})
    assert response.status_code == 302 and Loan.objects.get().borrower == world.enterprises["e1"]


def test_enterprise_applies_for_itself_and_withdraws(client, world):
    login(client, world, "ent1")
    page = client.get(reverse("lending:loan_apply"))
    assert "borrower" not in page.context["form"].fields
    response = client.post(
        reverse("lending:loan_apply"),
        {"bank": str(world.orgs["bank2"].pk), "requested_amount": "300000", "requested_term_months": "6"},
    )
    loan = Loan.objects.get()
    assert response.status_code == 302 and loan.borrower == world.enterprises["e1"] and loan.bank == world.orgs["bank2"]
    page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
    assert panels(page) == {"withdraw"}
    response = act(client, loan, "withdraw", {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["action_forms"]["withdraw"].errors
    assert act(client, loan, "withdraw", {"reason": "资金需求已解决"}).status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WITHDRAWN
    login(client, world, "ent2")
    assert client.get(reverse("lending:loan_apply")).status_code == 200
    login(client, world, "reg_bj", Role.VIEWER)
    assert client.get(reverse("lending:loan_apply")).status_code == 404


def _pending(world) -> Loan:  # type: ignore[no-untyped-def]
    operator = world.user("bank1_sub")
    loan = services.loan_apply(
        borrower=world.enterprises["e1"],
        bank=world.orgs["bank1_sub"],
        requested_amount=Money("1000000"),
        requested_term_months=12,
        acting_user=operator,
    )
    for item in DueDiligenceItem.values:
        loan = services.loan_due_diligence_record(loan=loan, item=item, done=True, acting_user=operator)
    return loan


def test_terms_form_shows_field_errors_and_the_service_rules(client, world):
    loan = _pending(world)
    login(client, world, "bank1_sub")
    response = act(client, loan, "submit", terms(annual_rate=""))
    assert response.status_code == 200
    form = response.context["action_forms"]["submit"]
    assert "固定利率须填写执行年利率" in " ".join(form.errors["annual_rate"])
    response = act(client, loan, "submit", terms(principal="2000000"))
    errors = " ".join(response.context["action_forms"]["submit"].errors["principal"])
    assert "不能超过申请金额" in errors
    assert 'data-field="principal"' in response.content.decode()
    response = act(client, loan, "submit", terms(repayment_method="custom", custom_schedule="2025-13-01 100"))
    assert "YYYY-MM-DD" in " ".join(response.context["action_forms"]["submit"].errors["custom_schedule"])
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DUE_DILIGENCE
    response = act(client, loan, "submit", terms(rate_type="lpr", annual_rate="", lpr_tenor="1y", lpr_spread_bp="50"))
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.rate_type == "lpr" and loan.lpr_spread_bp == 50


def test_maker_cannot_approve_and_checker_may_reject(client, world):
    loan = _pending(world)
    admin = login(client, world, "bank1_sub", Role.ADMIN)  # the admin may approve in general, but not as maker
    assert act(client, loan, "submit", terms()).status_code == 302
    loan.refresh_from_db()
    assert loan.prepared_by == admin
    page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
    assert "approve" not in panels(page)
    response = act(
        client,
        loan,
        "approve",
        {"note": ""},
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.PENDING_APPROVAL
    messages = [str(m) for m in client.get(reverse("lending:loan_detail", args=[loan.pk])).context["messages"]]
    assert any("审贷分离" in m for m in messages)
    login(client, world, "bank1_sub", Role.REVIEWER)
    response = act(client, loan, "reject", {"note": ""})
    assert "note" in response.context["action_forms"]["reject"].errors
    assert act(client, loan, "reject", {"note": "还款来源不足"}).status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REJECTED


def test_double_submitted_repayment_posts_once_and_reversal_restores(client, world):
    loan = active_loan(world)
    day = date(2025, 2, 15)
    login(client, world, "bank1_sub")
    with as_of(day):
        body = {"amount": "10000", "value_date": day.isoformat(), "idempotency_key": "k-1"}
        assert act(client, loan, "repay", body).status_code == 302
        assert act(client, loan, "repay", body).status_code == 302
        repayments = LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.REPAYMENT)
        assert repayments.count() == 1 and repayments.get().amount == Money("10000")
        # The same key for a different amount is refused by name.
        response = act(client, loan, "repay", {**body, "amount": "20000"})
        assert response.status_code == 200
        assert "幂等键" in " ".join(response.context["action_forms"]["repay"].non_field_errors())
        # A future value date is refused next to the field.
        response = act(client, loan, "repay", {**body, "idempotency_key": "k-2", "value_date": "2025-03-01"})
        assert "value_date" in response.context["action_forms"]["repay"].errors
        tx = repayments.get()
        response = act(client, loan, "reverse", {"transaction": str(tx.pk), "reason": ""})
        assert response.status_code == 200
        assert act(client, loan, "reverse", {"transaction": str(tx.pk), "reason": "重复入账"}).status_code == 302
    tx.refresh_from_db()
    loan.refresh_from_db()
    assert tx.reversed_at is not None and tx.reversal_reason == "重复入账"
    assert loan.outstanding_principal == Money("1000000")
    assert loan.instalments.filter(principal_paid__gt=0).count() == 0


def test_covers_investments_collateral_and_implementation_reports(client, world):
    loan = active_loan(world)
    login(client, world, "bank1_sub")
    with as_of(date(2025, 3, 1)):
        response = act(
            client,
            loan,
            "cover",
            {"kind": "guarantee", "provider": str(world.orgs["guarantor"].pk), "cover_ratio": "80"},
        )
        assert response.status_code == 302
        response = act(client, loan, "cover", {"kind": "insurance", "provider_name": "某保险", "cover_ratio": "30"})
        assert "合计不能超过" in " ".join(response.context["action_forms"]["cover"].errors["cover_ratio"])
        response = act(
            client,
            loan,
            "investment",
            {"investor_name": "中关村创投", "term_kind": "option", "equity_ratio": "5", "amount": "2000000"},
        )
        assert "exercise_deadline" in response.context["action_forms"]["investment"].errors
        response = act(
            client,
            loan,
            "investment",
            {
                "investor_name": "中关村创投",
                "term_kind": "option",
                "equity_ratio": "5",
                "exercise_deadline": "2027-12-31",
            },
        )
        assert response.status_code == 302
        right = world.rights["r1"]
        response = act(
            client,
            loan,
            "collateral",
            {
                "ip_right": str(right.pk),
                "appraised_value": "3000000",
                "appraised_on": "2025-02-20",
                "valuer_name": "中金浩",
            },
        )
        assert response.status_code == 302
        collateral = loan.collateral.get(ip_right=right)
        response = act(
            client,
            loan,
            "implementation",
            {"collateral": str(collateral.pk), "status": "licensed", "reported_on": "2025-02-28"},
        )
        assert response.status_code == 302
    cover = loan.covers.get()
    assert cover.provider_name == world.orgs["guarantor"].name and cover.cover_ratio == Decimal("0.8")
    assert loan.investments.get().equity_ratio == Decimal("0.05")
    assert collateral.appraised_value == Money("3000000")
    assert collateral.implementation_reports.get().status == "licensed"
    # The guarantor now sees the loan it covers.
    login(client, world, "guarantor")
    assert client.get(reverse("lending:loan_detail", args=[loan.pk])).status_code == 200


def test_classification_override_flags_renewal_and_default(client, world):
    loan = active_loan(world)
    day = date(2025, 2, 10)
    with as_of(day):
        login(client, world, "bank1_sub")
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        assert "flags" in panels(page) and "override" not in panels(page)
        response = act(client, loan, "flags", {"funds_misused": "on", "reason": "资金流向房地产"})
        assert response.status_code == 302
        loan.refresh_from_db()
        assert loan.funds_misused
        login(client, world, "bank1_sub", Role.REVIEWER)
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        assert {"override", "renew"} <= panels(page) and "override_clear" not in panels(page)
        response = act(client, loan, "override", {"to_class": LoanClass.DOUBTFUL, "reason": ""})
        assert "reason" in response.context["action_forms"]["override"].errors
        assert act(client, loan, "override", {"to_class": LoanClass.DOUBTFUL, "reason": "经营恶化"}).status_code == 302
        loan.refresh_from_db()
        assert loan.classification == LoanClass.DOUBTFUL and loan.manual_class == LoanClass.DOUBTFUL
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
        assert "可疑" in page.content.decode() and "override_clear" in panels(page)
        # A non-performing loan may not be renewed: the rule comes back on the form.
        response = act(
            client,
            loan,
            "renew",
            {
                "kind": "no_principal_repayment",
                "principal": "900000",
                "term_months": "12",
                "annual_rate": "3.45",
                "repayment_method": "equal_instalment",
            },
        )
        assert "不良贷款" in " ".join(response.context["action_forms"]["renew"].errors["kind"])
        login(client, world, "bank1_sub")
        assert act(client, loan, "default", {"on": day.isoformat(), "reason": "停止经营"}).status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DEFAULTED and loan.defaulted_on == day


def test_classification_history_after_close_of_business(client, world):
    from ipledge.lending.classification import close_of_business

    loan = active_loan(world)
    first_due = loan.instalments.get(number=1).due_date
    day = first_due + datetime.timedelta(days=95)
    with as_of(day):
        close_of_business(business_day=day)
        login(client, world, "bank1_sub")
        page = client.get(reverse("lending:loan_detail", args=[loan.pk]))
    loan.refresh_from_db()
    assert loan.classification == LoanClass.SUBSTANDARD
    html = page.content.decode()
    assert "次级" in html and f"逾期 {loan.days_past_due} 天" in html
    assert [c.to_class for c in page.context["classification_changes"]][0] == LoanClass.SUBSTANDARD


def test_bank_reports_kept_by_banks_read_by_regulators(client, world):
    login(client, world, "bank1_sub")
    page = client.get(reverse("lending:credit_plans"))
    assert page.status_code == 200 and page.context["may_edit"]
    response = client.post(
        reverse("lending:credit_plans"),
        {"bank": str(world.orgs["bank1_sub"].pk), "year": "2026", "planned_amount": "0", "planned_clients": "10"},
    )
    assert response.status_code == 200 and "planned_amount" in response.context["form"].errors
    response = client.post(
        reverse("lending:credit_plans"),
        {
            "bank": str(world.orgs["bank1_sub"].pk),
            "year": "2026",
            "planned_amount": "50000000",
            "planned_clients": "40",
        },
    )
    assert response.status_code == 302
    plan = CreditPlan.objects.get()
    assert plan.planned_amount == Money("50000000") and plan.planned_clients == 40
    response = client.post(
        reverse("lending:npl_reports"),
        {"bank": str(world.orgs["bank1_sub"].pk), "as_of": "2025-12-31", "npl_ratio": "1.35"},
    )
    assert response.status_code == 302 and BankNplReport.objects.get().npl_ratio == Decimal("0.0135")
    # Another bank's form cannot name bank1's branch.
    login(client, world, "bank2")
    response = client.post(
        reverse("lending:credit_plans"),
        {"bank": str(world.orgs["bank1_sub"].pk), "year": "2027", "planned_amount": "1", "planned_clients": "1"},
    )
    assert "bank" in response.context["form"].errors
    assert list(client.get(reverse("lending:credit_plans")).context["table"].paginated_rows) == []
    login(client, world, "reg_bj", Role.VIEWER)
    page = client.get(reverse("lending:npl_reports"))
    assert page.status_code == 200 and page.context["form"] is None
    assert [row.record.pk for row in page.context["table"].paginated_rows] == [BankNplReport.objects.get().pk]
    assert client.post(reverse("lending:npl_reports"), {"npl_ratio": "1"}).status_code == 404
    login(client, world, "ent1")
    assert client.get(reverse("lending:credit_plans")).status_code == 404


def test_exports_and_audit_trail(client, world, monkeypatch):
    loan = active_loan(world)
    other = active_loan(world, bank="bank2", borrower="e2")
    login(client, world, "bank1_sub")
    response = client.get(reverse("lending:loan_export"), {"status": str(LoanStatus.ACTIVE)})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "贷款编号" and [r[0] for r in rows[1:]] == [loan.reference]
    assert other.reference not in {r[0] for r in rows}
    assert Decimal(str(rows[1][12])) == Decimal("1000000")
    response = client.get(reverse("lending:loan_export"), {"status": str(LoanStatus.CLOSED)})
    assert len(list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows())) == 1

    response = client.get(reverse("lending:loan_schedule_export", args=[loan.pk]))
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    instalments = list(loan.instalments.order_by("number"))
    assert len(rows) == 1 + len(instalments)
    principal = sum(Decimal(str(r[4])).quantize(Decimal("0.01")) for r in rows[1:])
    assert principal == Decimal("1000000.00")

    # Beyond the export limit the user is sent back to narrow the filter.
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 0)
    response = client.get(reverse("lending:loan_export"), {"status": str(LoanStatus.ACTIVE)})
    assert response.status_code == 302
    assert response["Location"] == reverse("lending:loan_list") + f"?status={LoanStatus.ACTIVE}"

    page = client.get(reverse("lending:loan_audit", args=[loan.pk]))
    actions = {row.record.action for row in page.context["table"].paginated_rows}
    assert {"loan.apply", "loan.approve", "loan.disburse"} <= actions


def test_list_filters_and_navigation(client, world):
    loan = active_loan(world)
    login(client, world, "bank1_sub")
    for params, expected in (
        ({"classification": "normal"}, [loan.pk]),
        ({"classification": "loss"}, []),
        ({"borrower": "智芯"}, [loan.pk]),
        ({"borrower": "光谱"}, []),
        ({"bank": str(world.orgs["bank1_sub"].pk)}, [loan.pk]),
        ({"park": str(world.parks["p1"].pk)}, [loan.pk]),
        ({"created_from": "2099-01-01"}, []),
    ):
        page = client.get(reverse("lending:loan_list"), params)
        assert [row.record.pk for row in page.context["table"].paginated_rows] == expected, params
    labels = {str(item.label) for section in build_navigation(world.user("bank1_sub")) for item in section.items}
    assert {"贷款列表", "新建贷款申请", "单列信贷计划", "全行不良率"} <= labels
    labels = {
        str(item.label) for section in build_navigation(world.user("reg_bj", Role.VIEWER)) for item in section.items
    }
    assert "贷款列表" in labels and "新建贷款申请" not in labels
    labels = {str(item.label) for section in build_navigation(world.user("ent1")) for item in section.items}
    assert "新建贷款申请" in labels and "单列信贷计划" not in labels
