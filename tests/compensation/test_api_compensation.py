"""Risk compensation through the API: the Jiangsu worked example to the fen, a four-party Zhongshan claim with the
insurer and the valuer paying their shares, schemes under maker-checker, refusals in the one error shape, and
lists that never show another organisation's rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client

from ipledge.compensation.models import (
    Claim,
    Enrolment,
    Fund,
    FundAlert,
    JournalEntry,
    Payment,
    Recovery,
    SchemeVersion,
)
from ipledge.compensation.selectors import may_read_books
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.lending import services as lending
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client
from tests.compensation.factories import add_compensation, add_fund, enrolled_loan, turn_bad
from tests.lending.factories import contracted_loan
from tests.world import World

pytestmark = pytest.mark.django_db

START = date(2025, 1, 15)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def _items(response: Any) -> list[dict[str, Any]]:
    return list(_ok(response)["items"])


def _payment(claim: dict[str, Any], purpose: str, payer_role: str, payee_role: str) -> dict[str, Any]:
    (payment,) = [
        p
        for p in claim["payments"]
        if (p["purpose"], p["payer_role"], p["payee_role"]) == (purpose, payer_role, payee_role)
    ]
    return payment


def _positions(claim: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(p["account_kind"], p["role"]): p["amount"] for p in claim["positions"]}


# ---------------------------------------------------------------------------
# The worked example (research/domain.md §4.3)
# ---------------------------------------------------------------------------


def test_jiangsu_worked_example_through_the_api(world: World) -> None:
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    turn_bad(world, loan)
    bank = session_client(world.user("bank1_sub"))
    _, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.VIEWER)
    bank_key = key_client(secret)
    operator = session_client(world.user("fund"))
    reviewer = session_client(world.user("fund", Role.REVIEWER))

    with as_of(date(2025, 8, 10)):
        body = {"enrolment_id": enrolment.pk, "collection_efforts": "已起诉并申请财产保全"}
        claim = _ok(send(bank, "post", "/compensation/claims", body), 201)
    claim_id = claim["id"]
    assert (claim["status"], claim["exposure"], claim["outstanding_principal"]) == (100, "6000000.00", "6000000.00")
    assert claim["terms"] is None and claim["payments"] == [] and claim["filed_by"] == "bank1_sub_operator"
    assert [c["id"] for c in _items(get(bank_key, "/compensation/claims"))] == [claim_id]

    with as_of(date(2025, 8, 15)):
        preview = _ok(get(reviewer, f"/compensation/claims/{claim_id}/advance-preview"))
        assert preview["shares"] == {"fund": "4800000.00", "bank": "1200000.00"}
        assert preview["advance"] == {"fund": "4800000.00"} and preview["tier_index"] == 0
        assert preview["caps"]["fund_available"] == "30000000.00"  # the fund's balance: books readers only
        assert _ok(get(bank, f"/compensation/claims/{claim_id}/advance-preview"))["caps"]["fund_available"] is None
        claim = _ok(send(operator, "post", f"/compensation/claims/{claim_id}/review", {"note": "材料齐全"}))
        assert claim["status"] == 150 and claim["reviewed_by"] == "fund_operator"
        claim = _ok(send(reviewer, "post", f"/compensation/claims/{claim_id}/approve", {"note": "同意先行拨付"}))
    assert claim["status"] == 300 and claim["approved_by"] == "fund_reviewer"
    assert (claim["advance_total"], claim["fund_committed"]) == ("4800000.00", "4800000.00")
    terms = claim["terms"]
    assert terms["tier_index"] == 0 and terms["balance"] == "6000000.00"
    assert terms["ratios"] == {"fund": "0.8", "bank": "0.2"} and terms["advance"] == {"fund": "4800000.00"}
    assert terms["tiers"][0] == {"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}}
    assert terms["clearing"] is None
    advance = _payment(claim, "advance", "fund", "bank")
    assert (advance["amount"], advance["status"], advance["paid_on"]) == ("4800000.00", "paid", "2025-08-15")
    assert _ok(get(operator, f"/compensation/funds/{fund.pk}/figures"))["balance"] == "25200000.00"

    recovery = {
        "kind": "disposal",
        "value_date": "2025-12-01",
        "gross_amount": "2200000.00",
        "costs": "200000.00",
        "source_reference": "拍卖成交确认书 2025-118",
    }
    with as_of(date(2025, 12, 1)):
        first = send(bank, "post", f"/compensation/claims/{claim_id}/recoveries", recovery, HTTP_IDEMPOTENCY_KEY="a-1")
        again = send(bank, "post", f"/compensation/claims/{claim_id}/recoveries", recovery, HTTP_IDEMPOTENCY_KEY="a-1")
    recorded = _ok(first, 201)
    assert _ok(again, 201) == recorded and again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert (recorded["net_amount"], recorded["applied_amount"]) == ("2000000.00", "2000000.00")
    assert Recovery.objects.filter(claim_id=claim_id).count() == 1

    with as_of(date(2025, 12, 10)):
        claim = _ok(send(operator, "post", f"/compensation/claims/{claim_id}/clear", {"note": "处置完毕"}))
    assert claim["status"] == 500 and claim["recoveries_total"] == "2000000.00"
    assert (claim["final_loss"], claim["fund_committed"]) == ("4000000.00", "3200000.00")
    clearing = claim["terms"]["clearing"]
    assert clearing["final_loss"] == "4000000.00"
    assert clearing["shares"] == {"fund": "3200000.00", "bank": "800000.00"}
    assert clearing["transfers"] == [{"payer": "bank", "payee": "fund", "amount": "1600000.00"}]
    true_up = _payment(claim, "true_up", "bank", "fund")
    assert (true_up["amount"], true_up["status"]) == ("1600000.00", "instructed")

    paid_url = f"/compensation/payments/{true_up['id']}/paid"
    bank_viewer = session_client(world.user("bank1_sub", Role.VIEWER))
    assert_error(send(bank_viewer, "post", paid_url, {"reference": "X"}), 403)  # the payer's officers confirm it
    with as_of(date(2025, 12, 12)):
        first = send(bank, "post", paid_url, {"reference": "BANK-REF-1"})
        again = send(bank, "post", paid_url, {"reference": "BANK-REF-1"})
        assert_error(send(bank, "post", paid_url, {"reference": "OTHER"}), 400, field="status", rule="already_paid")
    paid = _ok(first)
    assert (paid["status"], paid["paid_on"], paid["reference"]) == ("paid", "2025-12-12", "BANK-REF-1")
    assert _ok(again) == paid and again["Idempotent-Replayed"] == "true"

    claim = _ok(get(bank, f"/compensation/claims/{claim_id}"))
    assert (claim["status"], claim["status_label"], claim["cleared_on"]) == (600, "已清算", "2025-12-12")
    assert _positions(claim) == {
        ("cash", "fund"): "-3200000.00",
        ("loan_book", "bank"): "-4000000.00",
        ("loss", "bank"): "800000.00",
        ("loss", "fund"): "3200000.00",
        ("settlement", "bank"): "3200000.00",
    }  # the exposure is cleared to zero, so it has no position
    figures = _ok(get(operator, f"/compensation/funds/{fund.pk}/figures"))
    assert figures["balance"] == "26800000.00"  # 30 m − 4.8 m + 1.6 m
    assert (figures["claims_cleared"], figures["fund_losses"], figures["final_losses"]) == (
        1,
        "3200000.00",
        "4000000.00",
    )
    assert figures["loans_covered"] == 0  # released from the pool when cleared
    enrolments = _items(get(bank, "/compensation/enrolments"))
    assert [(e["id"], e["status"]) for e in enrolments] == [(enrolment.pk, "released")]

    entries = _items(get(operator, "/compensation/entries", {"claim_id": claim_id, "page_size": 100}))
    assert sorted(e["kind"] for e in entries) == ["clearing", "exposure", "payment", "payment", "recovery"]
    for entry in entries:
        assert sum(Money(line["amount"]).fen for line in entry["lines"]) == 0, entry
    assert {e["id"] for e in _items(get(bank_key, "/compensation/entries"))} <= {e["id"] for e in entries}


# ---------------------------------------------------------------------------
# Zhongshan: fund 54, bank 26, insurer 16, valuer 4
# ---------------------------------------------------------------------------


def test_zhongshan_four_party_claim_through_the_api(world: World) -> None:
    fund = add_fund(world)
    scheme = fund.schemes.get(code="ZS")
    insurer_org, valuer_org = world.orgs["insurer"], world.orgs["valuer"]
    loan = contracted_loan(
        world, principal="8000000.00", term_months=12, method="equal_principal", repayment_interval_months=3
    )
    bank = session_client(world.user("bank1_sub"))
    operator = session_client(world.user("fund"))
    reviewer = session_client(world.user("fund", Role.REVIEWER))
    insurer = session_client(world.user("insurer"))
    valuer = session_client(world.user("valuer"))

    with as_of(START):
        lending.loan_disburse(
            loan=loan,
            amount=Money("8000000.00"),
            value_date=START,
            acting_user=world.user("bank1_sub"),
            idempotency_key="d1",
        )
        body: dict[str, Any] = {"loan_id": loan.pk, "scheme_id": scheme.pk, "insurer_id": insurer_org.pk}
        assert_error(send(bank, "post", "/compensation/enrolments", body), 400, field="valuer_id", rule="required")
        wrong = {**body, "valuer_id": world.orgs["guarantor"].pk}
        assert_error(send(bank, "post", "/compensation/enrolments", wrong), 400, field="valuer_id", rule="kind")
        enrolment = _ok(send(bank, "post", "/compensation/enrolments", {**body, "valuer_id": valuer_org.pk}), 201)
    assert (enrolment["status"], enrolment["covered_amount"], enrolment["scheme_code"]) == (
        "active",
        "8000000.00",
        "ZS",
    )
    assert enrolment["insurer"] == {"id": insurer_org.pk, "name": insurer_org.name}
    assert enrolment["valuer"]["id"] == valuer_org.pk and enrolment["guarantor"] is None
    loan.refresh_from_db()
    turn_bad(world, loan)

    with as_of(date(2025, 8, 10)):
        body = {"enrolment_id": enrolment["id"]}
        assert_error(send(bank, "post", "/compensation/claims", body), 400, field="collection_efforts", rule="required")
        claim = _ok(send(bank, "post", "/compensation/claims", {**body, "collection_efforts": "已起诉"}), 201)
        claim_id = claim["id"]
        _ok(send(operator, "post", f"/compensation/claims/{claim_id}/review", {}))
        claim = _ok(send(reviewer, "post", f"/compensation/claims/{claim_id}/approve", {}))
    assert claim["terms"]["ratios"] == {"fund": "0.54", "bank": "0.26", "insurer": "0.16", "valuer": "0.04"}
    assert claim["terms"]["advance"] == {"fund": "3240000.00", "insurer": "960000.00", "valuer": "240000.00"}
    assert claim["terms"]["parties"]["insurer"] == insurer_org.pk
    assert claim["advance_total"] == "4440000.00"
    assert _payment(claim, "advance", "fund", "bank")["status"] == "paid"
    insurer_advance = _payment(claim, "advance", "insurer", "bank")
    valuer_advance = _payment(claim, "advance", "valuer", "bank")
    assert insurer_advance["status"] == valuer_advance["status"] == "instructed"

    # Clearing waits for every advance; each payer sees and confirms its own instruction only.
    with as_of(date(2025, 9, 1)):
        clear = send(operator, "post", f"/compensation/claims/{claim_id}/clear", {})
        assert_error(clear, 400, field="status", rule="advance_unpaid")
        assert [p["id"] for p in _items(get(insurer, "/compensation/payments"))] == [insurer_advance["id"]]
        assert [p["id"] for p in _ok(get(valuer, f"/compensation/claims/{claim_id}"))["payments"]] == [
            valuer_advance["id"]
        ]
        assert_error(send(insurer, "post", f"/compensation/payments/{valuer_advance['id']}/paid", {}), 404)
        assert_error(send(bank, "post", f"/compensation/payments/{insurer_advance['id']}/paid", {}), 403)
        paid = _ok(send(insurer, "post", f"/compensation/payments/{insurer_advance['id']}/paid", {"reference": "I-1"}))
        assert (paid["status"], paid["payer"]["id"], paid["entry_id"] is not None) == ("paid", insurer_org.pk, True)
        _ok(send(valuer, "post", f"/compensation/payments/{valuer_advance['id']}/paid", {"reference": "V-1"}))
        assert [e["kind"] for e in _items(get(insurer, "/compensation/entries"))] == ["payment"]

    with as_of(date(2025, 12, 1)):
        recovery = {"kind": "disposal", "value_date": "2025-12-01", "gross_amount": "2200000.00", "costs": "200000.00"}
        _ok(
            send(bank, "post", f"/compensation/claims/{claim_id}/recoveries", {**recovery, "idempotency_key": "z1"}),
            201,
        )
        claim = _ok(send(operator, "post", f"/compensation/claims/{claim_id}/clear", {}))
    clearing = claim["terms"]["clearing"]
    assert (claim["status"], clearing["final_loss"]) == (500, "4000000.00")
    assert clearing["shares"] == {
        "fund": "2160000.00",
        "bank": "1040000.00",
        "insurer": "640000.00",
        "valuer": "160000.00",
    }
    assert sorted((t["payer"], t["payee"], t["amount"]) for t in clearing["transfers"]) == [
        ("bank", "fund", "1080000.00"),
        ("bank", "insurer", "320000.00"),
        ("bank", "valuer", "80000.00"),
    ]
    true_ups = [p for p in claim["payments"] if p["purpose"] == "true_up"]
    assert len(true_ups) == 3
    with as_of(date(2025, 12, 5)):
        for n, payment in enumerate(true_ups):
            assert _ok(get(bank, f"/compensation/claims/{claim_id}"))["status"] == 500
            _ok(send(bank, "post", f"/compensation/payments/{payment['id']}/paid", {"reference": f"T-{n}"}))
    claim = _ok(get(insurer, f"/compensation/claims/{claim_id}"))
    assert claim["status"] == 600 and claim["cleared_on"] == "2025-12-05"
    assert [p["payer_role"] for p in claim["payments"]] == ["insurer", "bank"]  # only the insurer's own
    positions = _positions(claim)
    assert positions[("loss", "fund")] == "2160000.00" and positions[("loss", "insurer")] == "640000.00"
    assert positions[("loss", "valuer")] == "160000.00" and positions[("loss", "bank")] == "1040000.00"
    assert positions[("settlement", "insurer")] == "-640000.00"  # minus its final share
    assert positions[("settlement", "valuer")] == "-160000.00"
    assert positions[("cash", "fund")] == "-2160000.00"
    figures = _ok(get(operator, f"/compensation/funds/{fund.pk}/figures"))
    assert (figures["balance"], figures["fund_losses"]) == ("27840000.00", "2160000.00")  # 30 − 3.24 + 1.08


# ---------------------------------------------------------------------------
# Schemes, contributions, reversals, stress tests
# ---------------------------------------------------------------------------


def test_scheme_versions_under_maker_checker_and_bad_tiers(world: World) -> None:
    fund = add_fund(world)
    admin = session_client(world.user("fund", Role.ADMIN))
    operator = session_client(world.user("fund"))
    reviewer = session_client(world.user("fund", Role.REVIEWER))
    bank = session_client(world.user("bank1_sub"))
    assert_error(send(bank, "post", "/compensation/schemes", {"fund_id": fund.pk, "code": "X", "name": "x"}), 403)
    scheme = _ok(
        send(operator, "post", "/compensation/schemes", {"fund_id": fund.pk, "code": "SZ", "name": "深圳"}), 201
    )
    assert scheme["versions"] == [] and scheme["fund_id"] == fund.pk
    duplicate = send(operator, "post", "/compensation/schemes", {"fund_id": fund.pk, "code": "SZ", "name": "again"})
    assert_error(duplicate, 409, field="code", rule="unique")

    draft: dict[str, Any] = {
        "scheme_id": scheme["id"],
        "effective_from": "2025-01-01",
        "sharing_tiers": [{"up_to": None, "shares": {"fund": "0.5", "bank": "0.4"}}],
    }
    assert_error(send(admin, "post", "/compensation/scheme-versions", draft), 400, field="sharing_tiers", rule="sum")
    floats = {**draft, "sharing_tiers": [{"shares": {"fund": 0.5, "bank": 0.5}}]}
    assert_error(
        send(admin, "post", "/compensation/scheme-versions", floats),
        422,
        field="sharing_tiers.0.shares.fund",
        rule="string_type",
    )
    unordered = {
        **draft,
        "sharing_tiers": [
            {"up_to": "20000000.00", "shares": {"fund": "0.5", "bank": "0.5"}},
            {"up_to": "10000000.00", "shares": {"fund": "0.8", "bank": "0.2"}},
        ],
    }
    assert_error(
        send(admin, "post", "/compensation/scheme-versions", unordered), 400, field="sharing_tiers", rule="order"
    )
    no_fund = {**draft, "sharing_tiers": [{"shares": {"bank": "1"}}]}
    assert_error(
        send(admin, "post", "/compensation/scheme-versions", no_fund), 400, field="sharing_tiers", rule="required"
    )

    good = {
        **draft,
        "sharing_tiers": [{"up_to": None, "shares": {"fund": "0.5", "bank": "0.5"}}],
        "cap_per_loan": "3000000.00",
        "enterprise_sizes": ["small", "micro"],
        "requires_whitelist": True,
        "advance_ratio": "0.5",
    }
    version = _ok(send(admin, "post", "/compensation/scheme-versions", good), 201)
    assert (version["status"], version["number"], version["prepared_by"]) == ("draft", 1, "fund_admin")
    assert (version["cap_per_loan"], version["advance_ratio"], version["enterprise_sizes"]) == (
        "3000000.00",
        "0.5000",
        ["small", "micro"],
    )
    assert version["sharing_tiers"] == [{"up_to": None, "shares": {"fund": "0.5", "bank": "0.5"}}]
    assert version["requires_whitelist"] is True
    url = f"/compensation/scheme-versions/{version['id']}"
    assert_error(send(admin, "post", f"{url}/approve"), 400, field="status", rule="invalid_state")
    _ok(send(admin, "post", f"{url}/submit"))
    assert_error(send(operator, "post", f"{url}/approve"), 403)
    assert_error(send(admin, "post", f"{url}/approve"), 400, field="approved_by", rule="maker_is_checker")
    assert_error(send(reviewer, "post", f"{url}/reject", {"note": ""}), 400, field="note", rule="required")
    assert _ok(send(reviewer, "post", f"{url}/reject", {"note": "上限过低"}))["status"] == "draft"
    _ok(send(operator, "post", f"{url}/submit"))
    published = _ok(send(admin, "post", f"{url}/approve"))
    assert (published["status"], published["approved_by"]) == ("published", "fund_admin")
    detail = _ok(get(bank, f"/compensation/funds/{fund.pk}"))
    assert [s["code"] for s in detail["schemes"]] == ["JS", "SZ", "ZS"]
    assert [v["id"] for v in detail["schemes"][1]["versions"]] == [version["id"]]
    listed = _items(get(bank, "/compensation/scheme-versions", {"scheme_id": scheme["id"]}))
    assert [(v["id"], v["status"]) for v in listed] == [(version["id"], "published")]


def test_contributions_are_idempotent_and_reversible(world: World) -> None:
    fund = add_fund(world)
    operator = session_client(world.user("fund"))
    reviewer = session_client(world.user("fund", Role.REVIEWER))
    sponsor = world.orgs["ipo_bj"]
    url = f"/compensation/funds/{fund.pk}/contributions"
    body = {"sponsor_id": sponsor.pk, "amount": "1000000.00", "paid_on": "2025-03-01", "reference": "CZ-1"}
    with as_of(date(2025, 3, 2)):
        assert_error(send(operator, "post", url, body), 400, field="idempotency_key", rule="required")
        assert_error(
            send(operator, "post", url, {**body, "sponsor_id": world.orgs["bank1"].pk, "idempotency_key": "k"}),
            400,
            field="sponsor_id",
            rule="not_sponsor",
        )
        first = send(operator, "post", url, {**body, "idempotency_key": "capital-2"})
        again = send(operator, "post", url, body, HTTP_IDEMPOTENCY_KEY="capital-2")
        other = send(operator, "post", url, {**body, "amount": "2.00"}, HTTP_IDEMPOTENCY_KEY="capital-2")
        reused = send(operator, "post", url, body, HTTP_IDEMPOTENCY_KEY="capital-1")  # add_fund's ¥30 m
        assert_error(send(session_client(world.user("ipo_bj")), "post", url, {**body, "idempotency_key": "z"}), 403)
    payment = _ok(first, 201)
    assert _ok(again, 201) == payment and again["Idempotent-Replayed"] == "true"
    assert_error(other, 400, field="idempotency_key", rule="idempotency_mismatch")
    assert_error(reused, 400, field="idempotency_key", rule="idempotency_mismatch")
    assert (payment["purpose"], payment["status"], payment["payer"]["id"]) == ("contribution", "paid", sponsor.pk)
    assert Payment.objects.filter(fund=fund, purpose="contribution").count() == 2
    assert _ok(get(operator, f"/compensation/funds/{fund.pk}/figures"))["balance"] == "31000000.00"

    entry_url = f"/compensation/entries/{payment['entry_id']}/reverse"
    with as_of(date(2025, 3, 3)):
        assert_error(send(operator, "post", entry_url, {"reason": "金额有误"}), 403)
        reversal = _ok(send(reviewer, "post", entry_url, {"reason": "金额有误"}), 201)
        assert_error(
            send(reviewer, "post", entry_url, {"reason": "again"}), 400, field="entry", rule="already_reversed"
        )
    assert (reversal["kind"], reversal["reverses_id"]) == ("reversal", payment["entry_id"])
    assert sorted(line["amount"] for line in reversal["lines"]) == ["-1000000.00", "1000000.00"]
    original = JournalEntry.objects.get(pk=payment["entry_id"])
    listed = {e["id"]: e for e in _items(get(operator, "/compensation/entries", {"fund_id": fund.pk}))}
    assert listed[original.pk]["reversed_by_id"] == reversal["id"]
    instructed = _items(get(operator, "/compensation/payments", {"status": "instructed"}))
    assert [p["id"] for p in instructed] == [payment["id"]]
    assert _ok(get(operator, f"/compensation/funds/{fund.pk}/figures"))["balance"] == "30000000.00"


def test_fund_create_update_stress_runs_and_alerts(world: World) -> None:
    admin = session_client(world.user("fund", Role.ADMIN))
    body = {
        "code": "BJ-2",
        "name": "第二期风险补偿资金",
        "region_code": "110000",
        "capital": "10000000.00",
        "leverage_cap": "5",
        "established_on": "2025-01-01",
        "sponsor_ids": [world.orgs["ipo_bj"].pk],
    }
    assert_error(send(session_client(world.user("bank1_sub", Role.ADMIN)), "post", "/compensation/funds", body), 403)
    assert_error(
        send(admin, "post", "/compensation/funds", {**body, "region_code": "999999"}), 400, field="region_code"
    )
    fund = _ok(send(admin, "post", "/compensation/funds", body), 201)
    assert (fund["manager"]["id"], fund["capital"], fund["leverage_cap"]) == (
        world.orgs["fund"].pk,
        "10000000.00",
        "5.00",
    )
    assert [s["id"] for s in fund["sponsors"]] == [world.orgs["ipo_bj"].pk] and fund["schemes"] == []
    url = f"/compensation/funds/{fund['id']}"
    assert _ok(send(admin, "patch", url, {"leverage_cap": "8", "status": "suspended"}))["status"] == "suspended"
    assert_error(send(admin, "patch", url, {"name": None}), 400, field="name", rule="required")
    assert_error(send(session_client(world.user("ipo_bj")), "patch", url, {"idle_days": 30}), 403)

    operator = session_client(world.user("fund"))
    run = _ok(send(operator, "post", f"{url}/stress-runs", {"simulations": 200, "correlation": "0.2"}), 201)
    assert (run["status"], run["simulations"], run["parameters"]) == ("queued", 200, {"correlation": 0.2})
    assert [r["id"] for r in _items(get(operator, f"{url}/stress-runs"))] == [run["id"]]
    assert _ok(get(session_client(world.user("ipo_bj", Role.VIEWER)), f"/compensation/stress-runs/{run['id']}"))
    bank = session_client(world.user("bank1_sub"))
    assert_error(send(bank, "post", f"{url}/stress-runs", {}), 403)  # the bank sees the fund, not its books
    assert_error(get(bank, f"/compensation/stress-runs/{run['id']}"), 404)


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------


def test_refusals_in_the_error_shape(world: World) -> None:
    fund = add_fund(world)
    loan, enrolment = enrolled_loan(world, fund)
    turn_bad(world, loan)
    bank = session_client(world.user("bank1_sub"))
    admin = session_client(world.user("fund", Role.ADMIN))
    with as_of(date(2025, 8, 10)):
        claim = _ok(
            send(bank, "post", "/compensation/claims", {"enrolment_id": enrolment.pk, "collection_efforts": "诉讼"}),
            201,
        )
        url = f"/compensation/claims/{claim['id']}"
        duplicate = send(
            bank, "post", "/compensation/claims", {"enrolment_id": enrolment.pk, "collection_efforts": "x"}
        )
        assert_error(duplicate, 400, field="enrolment_id", rule="invalid_state")

        # The fund's admin may review and approve, but never both on one claim (maker-checker).
        _ok(send(admin, "post", f"{url}/review", {"note": "初审"}))
        assert_error(send(admin, "post", f"{url}/approve", {}), 400, field="approved_by", rule="maker_is_checker")
        assert_error(send(admin, "post", f"{url}/review", {}), 400, field="status", rule="invalid_state")

        # Another bank's claim does not exist for it.
        other_bank = session_client(world.user("bank2"))
        assert_error(get(other_bank, url), 404, rule="not_found")
        assert_error(send(other_bank, "post", f"{url}/withdraw", {}), 404)
        recovery = {"kind": "repayment", "value_date": "2025-08-10", "gross_amount": "1.00", "idempotency_key": "r"}
        assert_error(send(other_bank, "post", f"{url}/recoveries", recovery), 404)
        assert_error(
            send(other_bank, "post", "/compensation/claims", {"enrolment_id": enrolment.pk}),
            400,
            field="enrolment_id",
            rule="not_found",
        )

        # Viewers read but never write.
        viewer = session_client(world.user("bank1_sub", Role.VIEWER))
        assert _ok(get(viewer, url))["id"] == claim["id"]
        assert_error(
            send(viewer, "post", "/compensation/claims", {"enrolment_id": enrolment.pk}), 403, rule="forbidden"
        )
        assert_error(send(viewer, "post", f"{url}/withdraw", {}), 403)
        assert_error(send(session_client(world.user("fund", Role.VIEWER)), "post", f"{url}/reject", {"note": "x"}), 403)
        assert_error(send(session_client(world.user("insurer")), "post", f"{url}/recoveries", recovery), 404)

        # A rejection needs its reason; the bank cannot reject, the fund cannot withdraw.
        assert_error(send(admin, "post", f"{url}/reject", {"note": " "}), 400, field="note", rule="required")
        assert_error(send(bank, "post", f"{url}/reject", {"note": "x"}), 403)
        assert_error(send(admin, "post", f"{url}/withdraw", {}), 403)
        withdrawn = _ok(send(bank, "post", f"{url}/withdraw", {"note": "已与借款人和解"}))
        assert withdrawn["status"] == 910

    # A bank's API key reads and files; the row records no person, the audit event records the key.
    api_key, secret = make_key(world.user("bank1_sub", Role.ADMIN))
    key = key_client(secret)
    assert [c["id"] for c in _items(get(key, "/compensation/claims"))] == [claim["id"]]
    with as_of(date(2025, 8, 11)):
        filed = send(key, "post", "/compensation/claims", {"enrolment_id": enrolment.pk, "collection_efforts": "x"})
    assert filed.status_code == 201, filed.content
    assert Claim.objects.get(pk=filed.json()["id"]).filed_by_id is None
    assert AuditEvent.objects.filter(action="claim.file", api_key_id=str(api_key.pk)).exists()

    # Without credentials: 401, also for writes.
    assert_error(Client().get(f"{API}/compensation/claims"), 401, rule="unauthenticated")
    assert_error(send(Client(), "post", f"{url}/approve", {}), 401)
    assert_error(get(bank, "/compensation/claims/999999"), 404)
    assert_error(send(bank, "post", f"{url}/recoveries", {**recovery, "gross_amount": 1}), 422, field="gross_amount")


# ---------------------------------------------------------------------------
# Scope: lists, details and the books
# ---------------------------------------------------------------------------


def _all(client: Client, path: str) -> set[int]:
    return {item["id"] for item in _items(get(client, path, {"page_size": 500}))}


def _ids(qs: Any) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def test_lists_never_show_other_organisations_rows(world: World) -> None:
    """Two funds side by side (Beijing: bank1's four-party claim; Jiangsu: bank2's claim): each organisation lists
    exactly its side of every wall."""
    rows = add_compensation(world)
    funds = {"bj": rows["fund"], "js": rows["fund_js"]}

    def book(*keys: str) -> dict[str, set[int]]:
        chosen = [funds[k] for k in keys]
        return {
            "/compensation/funds": {f.pk for f in chosen},
            "/compensation/claims": _ids(Claim.objects.filter(fund__in=chosen)),
            "/compensation/enrolments": _ids(Enrolment.objects.filter(fund__in=chosen)),
            "/compensation/payments": _ids(Payment.objects.filter(fund__in=chosen)),
            "/compensation/entries": _ids(JournalEntry.objects.filter(fund__in=chosen)),
            "/compensation/alerts": _ids(FundAlert.objects.filter(fund__in=chosen)),
            "/compensation/scheme-versions": _ids(SchemeVersion.objects.filter(scheme__fund__in=chosen)),
        }

    def party(org: str, *, bank: bool = False) -> dict[str, set[int]]:
        """A bank's tree, or an insurer / valuer: the open funds and their schemes; its own claims, enrolments,
        the payments it makes or receives and the entries on its own accounts; no alerts."""
        path = world.orgs[org].tree_path
        named = (
            Q(loan__bank__tree_path__startswith=path)
            if bank
            else Q(insurer__tree_path__startswith=path) | Q(valuer__tree_path__startswith=path)
        )
        enrolments = Enrolment.objects.filter(named)
        return {
            **book("bj", "js"),
            "/compensation/claims": _ids(Claim.objects.filter(enrolment__in=enrolments)),
            "/compensation/enrolments": _ids(enrolments),
            "/compensation/payments": _ids(
                Payment.objects.filter(Q(payer__tree_path__startswith=path) | Q(payee__tree_path__startswith=path))
            ),
            "/compensation/entries": _ids(
                JournalEntry.objects.filter(lines__account__party__tree_path__startswith=path)
            ),
            "/compensation/alerts": set(),
        }

    everything = book("bj", "js")
    assert all(everything.values()), everything
    nothing = dict.fromkeys(everything, set())
    expected = {
        "fund": everything,  # the manager of both
        "ipo_bj": book("bj"),  # sponsor and government of Beijing
        "reg_bj": book("bj"),
        "ipo_js": book("js"),
        "bank1": party("bank1", bank=True),
        "bank2": party("bank2", bank=True),
        "insurer": party("insurer"),
        "valuer": party("valuer"),
        "ent1": nothing,
        "park1": nothing,
    }
    assert expected["bank1"]["/compensation/claims"] == {rows["claim"].pk}
    assert expected["bank2"]["/compensation/claims"] == {rows["claim_js"].pk}
    assert len(expected["insurer"]["/compensation/payments"]) == 1
    failures = []
    for org, paths in expected.items():
        client = session_client(world.user(org, Role.VIEWER))
        for path, ids in paths.items():
            got = _all(client, path)
            if got != ids:
                failures.append(f"{org} {path}: {sorted(got)} != {sorted(ids)}")
    assert not failures, "\n".join(failures)
    insurer = session_client(world.user("insurer", Role.VIEWER))
    detail = _ok(get(insurer, f"/compensation/claims/{rows['claim'].pk}"))
    assert [p["payer_role"] for p in detail["payments"]] == ["insurer"]
    assert_error(get(insurer, f"/compensation/claims/{rows['claim_js'].pk}"), 404)


def test_only_the_books_readers_see_a_funds_figures(world: World) -> None:
    fund = add_compensation(world)["fund"]
    failures = []
    for user in User.objects.filter(is_superuser=False).select_related("organisation").order_by("pk"):
        status = session_client(user).get(f"{API}/compensation/funds/{fund.pk}/figures").status_code
        visible = Fund.objects.restrict(user, Action.VIEW).filter(pk=fund.pk).exists()
        expected = 200 if visible and may_read_books(fund, user) else 403 if visible else 404
        if status != expected:
            failures.append(f"{user.username}: {status}, expected {expected}")
    assert not failures, failures
    figures = _ok(get(session_client(world.user("ipo_bj", Role.VIEWER)), f"/compensation/funds/{fund.pk}/figures"))
    assert (figures["capital"], figures["contributed"], figures["claims_open"]) == ("30000000.00", "30000000.00", 1)
    assert figures["balance"] == "26760000.00"  # 30 m − 54 % of the 6 m exposure
