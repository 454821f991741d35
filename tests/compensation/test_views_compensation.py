"""Risk-compensation pages: who sees and does what (status codes and content), field errors from the forms and the
services (tiers not summing to 1, a scheme needing its insurer, maker-checker on approval), scoping (another bank's
claim answers 404), the stress-test panel, the ledger with a reversal, payments confirmed by their payers, and the
worked example posted through the forms to the bank's ¥1,600,000.00 true-up and a cleared claim."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.compensation import ledger, services
from ipledge.compensation.choices import ClaimStatus, EntryKind, PaymentStatus, SchemeStatus, StressRunStatus
from ipledge.compensation.models import Claim, Enrolment, Fund, JournalEntry, Payment, Recovery, SchemeVersion
from ipledge.core.choices import Role
from ipledge.core.context import as_of, business_date
from ipledge.core.context_processors import build_navigation
from ipledge.core.money import Money
from tests.compensation.factories import add_compensation, add_fund, enrolled_loan, turn_bad
from tests.lending.factories import contracted_loan

pytestmark = pytest.mark.django_db


def login(client: Client, world: Any, org: str, role: str = Role.OPERATOR) -> Any:
    user = world.user(org, role)
    client.force_login(user)
    return user


def claim_post(client: Client, claim: Claim, action: str, data: dict[str, str] | None = None) -> Any:
    return client.post(reverse(f"compensation:claim_{action}", args=[claim.pk]), data or {})


def page_text(response: Any) -> str:
    return response.content.decode()


def tiers_data(*rows: dict[str, str], mode: str = "whole") -> dict[str, str]:
    data = {
        "tiers-TOTAL_FORMS": "4",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "4",
        "sharing_mode": mode,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"tiers-{i}-{key}"] = value
    return data


def version_data(*rows: dict[str, str], **overrides: str) -> dict[str, str]:
    data = {
        "effective_from": "2025-01-01",
        "min_ip_share": "0",
        "enrol_window_days": "30",
        "advance_ratio": "100",
        "trigger": "non_performing",
        "trigger_days_overdue": "90",
        "requires_collection_evidence": "on",
        "pledge_before_npl": "on",
        **tiers_data(*rows),
    }
    data.update(overrides)
    return data


# Funds


def test_fund_manager_sets_up_a_fund_through_the_forms(client: Client, world: Any) -> None:
    login(client, world, "fund", Role.ADMIN)
    page = client.get(reverse("compensation:fund_create"))
    assert page.status_code == 200
    assert list(page.context["form"].fields["manager"].queryset) == [world.orgs["fund"]]
    region = world.orgs["fund"].region
    response = client.post(
        reverse("compensation:fund_create"),
        {
            "code": "BJ-NEW",
            "name": "测试风险补偿资金",
            "manager": str(world.orgs["fund"].pk),
            "region": str(region.pk),
            "sponsors": [str(world.orgs["ipo_bj"].pk)],
            "capital": "10000000",
            "leverage_cap": "8",
            "liability_capped": "on",
            "established_on": "2025-01-02",
            "idle_days": "365",
            "idle_utilisation": "30",
        },
    )
    fund = Fund.objects.get(code="BJ-NEW")
    assert response.status_code == 302 and response["Location"] == reverse("compensation:fund_detail", args=[fund.pk])
    assert fund.capital == Money("10000000") and str(fund.idle_utilisation) == "0.3000"

    # Capital is paid in as a contribution; a double submit of the same form records it once.
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    key = page.context["contribution_form"]["idempotency_key"].value()
    data = {
        "sponsor": str(world.orgs["ipo_bj"].pk),
        "amount": "10000000",
        "paid_on": business_date().isoformat(),
        "idempotency_key": key,
    }
    for _ in range(2):
        assert client.post(reverse("compensation:contribution_record", args=[fund.pk]), data).status_code == 302
    assert ledger.cash_fen(fund) == Money("10000000").fen
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert page.context["figures"].balance == Money("10000000")
    assert "10,000,000.00" in page_text(page)

    # Editing: a leverage cap below what is already covered is refused on its field; a new name is saved.
    response = client.post(
        reverse("compensation:fund_edit", args=[fund.pk]),
        {
            "name": "测试风险补偿资金（更名）",
            "capital": "10000000",
            "leverage_cap": "8",
            "liability_capped": "on",
            "status": "active",
            "idle_days": "365",
            "idle_utilisation": "30",
        },
    )
    assert response.status_code == 302
    fund.refresh_from_db()
    assert fund.name == "测试风险补偿资金（更名）"


def test_fund_pages_by_role(client: Client, world: Any) -> None:
    fund = add_fund(world)
    # The manager reads the books: figures in the list and on the page.
    login(client, world, "fund")
    page = client.get(reverse("compensation:fund_list"))
    assert page.status_code == 200 and "30,000,000.00" in page_text(page)
    assert "balance" in [c.name for c in page.context["table"].columns]
    detail = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert detail.context["figures"] is not None and detail.context["contribution_form"] is not None
    assert {s["scheme"].code for s in detail.context["schemes"]} == {"JS", "ZS"}
    assert "80.00%" in page_text(detail) and "54.00%" in page_text(detail)

    # The sponsor reads the books but manages nothing.
    login(client, world, "ipo_bj")
    detail = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert detail.context["figures"] is not None and detail.context["contribution_form"] is None
    assert client.get(reverse("compensation:fund_edit", args=[fund.pk])).status_code == 404

    # A bank sees the fund and its schemes (to enrol loans), not its books.
    login(client, world, "bank2")
    page = client.get(reverse("compensation:fund_list"))
    assert page.status_code == 200 and "balance" not in [c.name for c in page.context["table"].columns]
    detail = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert detail.status_code == 200 and detail.context["figures"] is None and detail.context["stress_form"] is None
    assert (
        client.post(reverse("compensation:stress_request", args=[fund.pk]), {"simulations": "100"}).status_code == 403
    )
    assert client.get(reverse("compensation:fund_create")).status_code == 404

    # Navigation: the fund manager and the bank get the section; an enterprise does not.
    def labels(org: str) -> set[str]:
        return {str(s.label) for s in build_navigation(world.user(org))}

    assert "风险补偿" in labels("fund") and "风险补偿" in labels("bank1_sub")
    assert "风险补偿" not in labels("ent1")


def test_stress_test_panel(client: Client, world: Any, django_capture_on_commit_callbacks: Any) -> None:
    fund = add_fund(world)
    enrolled_loan(world, fund)
    login(client, world, "fund")
    url = reverse("compensation:stress_request", args=[fund.pk])
    response = client.post(url, {"simulations": "50"})
    assert response.status_code == 200
    assert response.context["stress_form"].errors["simulations"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"simulations": "500", "recovery_mean": "0.3", "correlation": "0.2"})
    assert response.status_code == 302
    run = fund.stress_runs.get()
    assert run.status == StressRunStatus.DONE and run.parameters == {"recovery_mean": 0.3, "correlation": 0.2}
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    text = page_text(page)
    assert 'id="dashboard-data"' in text and "echarts.min.js" in text and "<script>" not in text
    assert set(page.context["chart"]) == {"horizon_1", "horizon_3"}
    assert len(page.context["chart"]["horizon_1"]["values"]) == 30
    assert text.count('class="stress-horizon"') == 2 and "基金耗尽概率" in text

    # A queued run shows 排队中 and is polled by htmx; once it has run, the poll reloads the page.
    queued = services.stress_run_request(fund=fund, acting_user=world.user("fund"), simulations=200)
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert "排队中" in page_text(page) and "hx-trigger" in page_text(page)
    poll = client.get(reverse("compensation:stress_run_detail", args=[queued.pk]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "排队中" in page_text(poll)
    services.stress_run_execute(queued.pk)
    poll = client.get(reverse("compensation:stress_run_detail", args=[queued.pk]), HTTP_HX_REQUEST="true")
    assert poll.headers.get("HX-Refresh") == "true"
    assert client.get(reverse("compensation:stress_run_detail", args=[queued.pk])).status_code == 200


# Schemes and versions


def test_scheme_version_form_and_maker_checker(client: Client, world: Any) -> None:
    fund = add_fund(world)
    scheme = fund.schemes.get(code="JS")
    login(client, world, "fund")
    page = client.get(reverse("compensation:version_create", args=[scheme.pk]))
    assert page.status_code == 200
    # The new version starts from the latest one's tiers (in percent).
    assert page.context["tiers"].forms[0]["fund"].value() == 80

    url = reverse("compensation:version_create", args=[scheme.pk])
    response = client.post(url, version_data({"up_to": "10000000", "fund": "80", "bank": "10"}))
    assert response.status_code == 200
    errors = list(response.context["tiers"].non_form_errors())
    assert errors and "分担比例" in errors[0]
    assert "分担比例" in page_text(response) and scheme.versions.count() == 1

    response = client.post(
        url,
        version_data(
            {"up_to": "10000000", "fund": "80", "bank": "20"},
            {"fund": "50", "bank": "40", "insurer": "10"},
            effective_from="2026-01-01",
            requires_whitelist="on",
        ),
    )
    assert response.status_code == 302
    draft = scheme.versions.get(number=2)
    assert draft.status == SchemeStatus.DRAFT and draft.requires_whitelist
    assert draft.sharing_tiers == [
        {"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}},
        {"up_to": None, "shares": {"fund": "0.5", "bank": "0.4", "insurer": "0.1"}},
    ]
    assert client.post(reverse("compensation:version_submit", args=[draft.pk])).status_code == 302
    draft.refresh_from_db()
    assert draft.status == SchemeStatus.PENDING
    # The operator may not approve (no approve role: 404); the admin who submitted it is refused as the maker.
    assert client.post(reverse("compensation:version_approve", args=[draft.pk])).status_code == 404
    login(client, world, "fund", Role.ADMIN)
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert page.status_code == 200 and "须为授信白名单企业" in page_text(page)
    login(client, world, "fund", Role.REVIEWER)
    response = client.post(reverse("compensation:version_approve", args=[draft.pk]), follow=True)
    assert response.status_code == 200 and "方案版本已发布" in page_text(response)
    draft.refresh_from_db()
    assert draft.status == SchemeStatus.PUBLISHED

    # A new scheme with its first draft in one form; a bad tier rolls the scheme back as well.
    login(client, world, "fund")
    new_url = reverse("compensation:scheme_create", args=[fund.pk])
    assert client.get(new_url).status_code == 200
    bad = {"code": "SZ", "name": "深圳一比一", **version_data({"fund": "0", "bank": "100"})}
    response = client.post(new_url, bad)
    assert response.status_code == 200 and not fund.schemes.filter(code="SZ").exists()
    assert "分担比例" in " ".join(response.context["tiers"].non_form_errors())
    good = {"code": "SZ", "name": "深圳一比一", **version_data({"fund": "50", "bank": "50"})}
    assert client.post(new_url, good).status_code == 302
    response = client.post(new_url, {**good, "name": "重复编号"})
    assert response.status_code == 200 and "已有相同编号" in page_text(response)
    assert fund.schemes.filter(code="SZ").count() == 1
    assert SchemeVersion.objects.get(scheme__code="SZ").sharing_tiers == [
        {"up_to": None, "shares": {"fund": "0.5", "bank": "0.5"}}
    ]
    # A bank may not draft.
    login(client, world, "bank1_sub")
    assert client.get(new_url).status_code == 404


# Enrolment


def test_bank_enrols_a_loan_and_field_errors_name_the_field(client: Client, world: Any) -> None:
    fund = add_fund(world)
    loan = contracted_loan(world, start=date(2025, 1, 15), principal="3000000.00")
    login(client, world, "fund")
    assert client.get(reverse("compensation:enrolment_create")).status_code == 404
    login(client, world, "bank1_sub")
    with as_of(date(2025, 1, 20)):
        page = client.get(reverse("compensation:enrolment_create"))
        assert page.status_code == 200
        assert list(page.context["form"].fields["loan"].queryset) == [loan]
        zs = fund.schemes.get(code="ZS")
        response = client.post(
            reverse("compensation:enrolment_create"),
            {"loan": str(loan.pk), "scheme": str(zs.pk), "ip_share": "100"},
        )
        assert response.status_code == 200
        assert "请指定机构" in response.context["form"].errors["insurer"][0]
        response = client.post(
            reverse("compensation:enrolment_create"),
            {
                "loan": str(loan.pk),
                "scheme": str(zs.pk),
                "ip_share": "100",
                "insurer": str(world.orgs["insurer"].pk),
                "valuer": str(world.orgs["valuer"].pk),
            },
        )
    enrolment = Enrolment.objects.get(loan=loan)
    assert response.status_code == 302
    assert response["Location"] == reverse("compensation:enrolment_detail", args=[enrolment.pk])
    assert enrolment.covered_amount == Money("3000000.00") and enrolment.insurer == world.orgs["insurer"]
    page = client.get(reverse("compensation:enrolment_list"))
    assert enrolment.pk in {row.record.pk for row in page.context["table"].rows}
    detail = client.get(reverse("compensation:enrolment_detail", args=[enrolment.pk]))
    assert detail.context["file_form"] is not None
    # Filing before the loan is non-performing is refused on top of the form.
    response = client.post(reverse("compensation:enrolment_claim", args=[enrolment.pk]), {"collection_efforts": "催收"})
    assert response.status_code == 200 and "尚未进入不良" in page_text(response)
    # Another bank sees neither the enrolment nor its loan in its list.
    login(client, world, "bank2")
    assert client.get(reverse("compensation:enrolment_detail", args=[enrolment.pk])).status_code == 404
    assert client.get(reverse("compensation:enrolment_list")).context["table"].paginator.count == 0


# Claims


def _reviewed_claim(world: Any) -> Claim:
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    turn_bad(world, loan)
    with as_of(date(2025, 8, 10)):
        return services.claim_file(
            enrolment=enrolment, acting_user=world.user("bank1_sub"), collection_efforts="已起诉"
        )


def test_approval_by_the_reviewer_is_refused(client: Client, world: Any) -> None:
    claim = _reviewed_claim(world)
    admin = login(client, world, "fund", Role.ADMIN)
    with as_of(date(2025, 8, 15)):
        page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
        assert page.context["preview"]["total"] == "4,800,000.00"
        assert claim_post(client, claim, "review", {"note": "材料齐全"}).status_code == 302
        page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
        offered = {p["spec"].name for group in page.context["panels"].values() for p in group}
        assert "approve" not in offered and "reject" in offered  # never offered to the reviewer
        response = claim_post(client, claim, "approve", {"note": "同意"})
        assert response.status_code == 302
        page = client.get(response["Location"])
    assert "审批人不能是初审人（审批分离）" in page_text(page)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REVIEWED and claim.reviewed_by == admin
    # Rejecting needs a reason, shown on the field.
    response = claim_post(client, claim, "reject", {"note": ""})
    assert response.status_code == 200 and response.context["panels"]["actions"]
    bound = {p["spec"].name: p["form"] for p in response.context["panels"]["actions"]}
    assert bound["reject"].errors["note"]
    # A bank may not approve at all.
    login(client, world, "bank1_sub", Role.REVIEWER)
    assert claim_post(client, claim, "approve").status_code == 403


def test_claims_are_scoped_to_the_parties(client: Client, world: Any) -> None:
    rows = add_compensation(world)
    claim = rows["claim"]
    for org in ("bank1_sub", "bank1", "insurer", "valuer", "fund", "ipo_bj"):
        login(client, world, org)
        assert client.get(reverse("compensation:claim_detail", args=[claim.pk])).status_code == 200, org
    for org in ("bank2", "bank1_br2", "ent1", "guarantor", "ipo_js"):
        login(client, world, org)
        assert client.get(reverse("compensation:claim_detail", args=[claim.pk])).status_code == 404, org
        listed = {row.record.pk for row in client.get(reverse("compensation:claim_list")).context["table"].rows}
        assert claim.pk not in listed, org
        assert claim_post(client, claim, "recovery", {"kind": "repayment"}).status_code == 404
    # The bank's list, filtered by status.
    login(client, world, "bank1_sub")
    page = client.get(reverse("compensation:claim_list"), {"status": str(ClaimStatus.ADVANCE_PAID)})
    assert [row.record.pk for row in page.context["table"].rows] == [claim.pk]
    page = client.get(reverse("compensation:claim_list"), {"fund": str(rows["fund"].pk), "q": claim.reference})
    assert [row.record.pk for row in page.context["table"].rows] == [claim.pk]
    page = client.get(reverse("compensation:claim_list"), {"status": str(ClaimStatus.CLEARED)})
    assert page.context["table"].paginator.count == 0


def test_parties_confirm_their_advance_payments(client: Client, world: Any) -> None:
    rows = add_compensation(world)
    claim = rows["claim"]
    insurer_payment = claim.payments.get(payer_role="insurer")
    login(client, world, "valuer")
    page = client.get(reverse("compensation:payment_list"))
    assert {row.record.payer_role for row in page.context["table"].rows} == {"valuer"}
    assert client.post(reverse("compensation:payment_pay", args=[insurer_payment.pk])).status_code == 404
    login(client, world, "insurer")
    page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
    payable = [p for p in page.context["payments"] if p.payable]
    assert [p.pk for p in payable] == [insurer_payment.pk]
    response = client.post(
        reverse("compensation:payment_pay", args=[insurer_payment.pk]),
        {"reference": "PICC-001", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("compensation:claim_detail", args=[claim.pk])
    insurer_payment.refresh_from_db()
    assert insurer_payment.status == PaymentStatus.PAID and insurer_payment.reference == "PICC-001"
    # Paying twice is refused with the rule's message.
    response = client.post(reverse("compensation:payment_pay", args=[insurer_payment.pk]), follow=True)
    assert "该划款指令已支付" in page_text(response)


def test_ledger_shows_entries_and_reverses_a_contribution(client: Client, world: Any) -> None:
    fund = add_fund(world)
    contribution = JournalEntry.objects.get(fund=fund, kind=EntryKind.CONTRIBUTION)
    login(client, world, "ipo_bj")  # a sponsor reads the books, reverses nothing
    page = client.get(reverse("compensation:fund_ledger", args=[fund.pk]))
    assert page.status_code == 200 and page.context["rows"][0]["lines"]
    assert not any(row["reversible"] for row in page.context["rows"])
    assert (
        client.post(reverse("compensation:entry_reverse", args=[contribution.pk]), {"reason": "x"}).status_code == 403
    )

    login(client, world, "fund", Role.REVIEWER)
    page = client.get(reverse("compensation:fund_ledger", args=[fund.pk]), {"kind": "contribution"})
    assert [row["entry"].pk for row in page.context["rows"]] == [contribution.pk]
    assert page.context["rows"][0]["reversible"] and "30,000,000.00" in page_text(page)
    response = client.post(reverse("compensation:entry_reverse", args=[contribution.pk]), {"reason": ""}, follow=True)
    assert "冲正必须说明原因" in page_text(response)
    response = client.post(
        reverse("compensation:entry_reverse", args=[contribution.pk]), {"reason": "出资到账登记错误"}, follow=True
    )
    assert "已冲正" in page_text(response)
    assert ledger.cash_fen(fund) == 0
    assert Payment.objects.get(fund=fund, purpose="contribution").status == PaymentStatus.INSTRUCTED

    # A bank with no posting on this fund sees the page and no entry.
    login(client, world, "bank2")
    page = client.get(reverse("compensation:fund_ledger", args=[fund.pk]))
    assert page.status_code == 200 and page.context["rows"] == []


def test_worked_example_through_the_views(client: Client, world: Any) -> None:
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    loan = turn_bad(world, loan)
    assert loan.outstanding_principal == Money("6000000.00")

    # The bank files from the enrolment page.
    login(client, world, "bank1_sub")
    with as_of(date(2025, 8, 10)):
        response = client.post(
            reverse("compensation:enrolment_claim", args=[enrolment.pk]),
            {"collection_efforts": "已起诉并申请财产保全", "unpaid_interest": ""},
        )
    claim = Claim.objects.get(enrolment=enrolment)
    assert response.status_code == 302 and response["Location"] == reverse("compensation:claim_detail", args=[claim.pk])
    assert claim.exposure == Money("6000000.00") and claim.status == ClaimStatus.FILED

    # The fund's operator reviews (with the preview of the advance), another fund user approves.
    login(client, world, "fund")
    with as_of(date(2025, 8, 15)):
        page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
        assert page.context["preview"]["total"] == "4,800,000.00"
        assert claim_post(client, claim, "review", {"note": "材料齐全"}).status_code == 302
        login(client, world, "fund", Role.REVIEWER)
        assert claim_post(client, claim, "approve", {"note": "同意先行拨付"}).status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ADVANCE_PAID and claim.advance_total == Money("4800000.00")
    page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
    assert "4,800,000.00" in page_text(page) and "已先行拨付" in page_text(page)

    # The bank records the disposal proceeds; the same form posted twice records once.
    login(client, world, "bank1_sub")
    with as_of(date(2025, 12, 1)):
        page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
        form = {p["spec"].name: p["form"] for p in page.context["panels"]["recoveries"]}["recovery"]
        data = {
            "kind": "disposal",
            "value_date": "2025-12-01",
            "gross_amount": "2200000",
            "costs": "200000",
            "source_reference": "拍卖成交确认书 2025-88",
            "idempotency_key": form["idempotency_key"].value(),
        }
        for _ in range(2):
            assert claim_post(client, claim, "recovery", data).status_code == 302
    assert Recovery.objects.filter(claim=claim).count() == 1
    claim.refresh_from_db()
    assert claim.recoveries_total == Money("2000000.00")

    # The fund clears: final loss ¥4 m, fund ¥3.2 m, bank ¥0.8 m; the bank owes ¥1.6 m back.
    login(client, world, "fund")
    with as_of(date(2025, 12, 10)):
        assert claim_post(client, claim, "clear", {"note": "处置完毕"}).status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARING and claim.final_loss == Money("4000000.00")
    page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
    clearing = page.context["clearing"]
    assert clearing["final_loss"] == "4,000,000.00"
    assert {r["role"]: r["final"] for r in clearing["rows"]} == {"fund": "3,200,000.00", "bank": "800,000.00"}
    assert [t["amount"] for t in clearing["transfers"]] == ["1,600,000.00"]

    # The bank confirms paying its true-up from its payments list.
    login(client, world, "bank1_sub")
    with as_of(date(2025, 12, 12)):
        page = client.get(reverse("compensation:payment_list"))
        (true_up,) = [row.record for row in page.context["table"].rows if row.record.purpose == "true_up"]
        assert true_up.amount == Money("1600000.00") and "1,600,000.00" in page_text(page)
        assert "确认已支付" in page_text(page)
        response = client.post(
            reverse("compensation:payment_pay", args=[true_up.pk]),
            {"reference": "BANK-REF-1", "next": reverse("compensation:payment_list")},
        )
    assert response.status_code == 302 and response["Location"] == reverse("compensation:payment_list")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLEARED
    page = client.get(reverse("compensation:claim_detail", args=[claim.pk]))
    assert "已清算" in page_text(page)

    login(client, world, "fund")
    page = client.get(reverse("compensation:fund_detail", args=[fund.pk]))
    assert page.context["figures"].balance == Money("26800000.00")
    assert "26,800,000.00" in page_text(page)
    positions = client.get(reverse("compensation:claim_detail", args=[claim.pk])).context["positions"]
    assert {(r["account"], r["debit"] or r["credit"]) for r in positions} >= {
        ("最终损失分担", "3,200,000.00"),
        ("最终损失分担", "800,000.00"),
    }
