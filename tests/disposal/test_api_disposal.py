"""Collateral disposal through the API: the defaulted ¥8 m loan's patents auctioned at the exchange (ent2 wins at
¥2.2 m after an anti-sniping extension), paid, transferred and run down the waterfall, the fund clearing the
compensation claim and the bank paying the ¥1.6 m true-up; negotiated sale and licensing routes; refusals in the
one error shape; and lists that never show another organisation's rows."""

from __future__ import annotations

import datetime
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ipledge.compensation import services as compensation
from ipledge.compensation.choices import ClaimStatus
from ipledge.compensation.models import Claim
from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent, User
from ipledge.core.scoping import Action
from ipledge.disposal.models import AuctionSession, Bid, BidderRegistration, DisposalCase, LicenceIncome, Lot
from ipledge.lending.models import Loan
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client
from tests.compensation.factories import add_fund, enrolled_loan, turn_bad
from tests.disposal.factories import add_disposal
from tests.world import World

pytestmark = pytest.mark.django_db


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def _items(response: Any) -> list[dict[str, Any]]:
    return list(_ok(response)["items"])


def _ids(client: Client, path: str, params: dict[str, Any] | None = None) -> set[int]:
    return {item["id"] for item in _items(get(client, path, {"page_size": 500, **(params or {})}))}


def _defaulted(w: World) -> tuple[Loan, Claim]:
    """The compensation worked example's loan: ¥8 m, ¥6 m outstanding, 次级, its claim paid in advance (¥4.8 m)."""
    fund = add_fund(w)
    loan, enrolment = enrolled_loan(w, fund)
    loan = turn_bad(w, loan)
    with as_of(date(2025, 8, 10)):
        claim = compensation.claim_file(
            enrolment=enrolment, acting_user=w.user("bank1_sub"), collection_efforts="已起诉"
        )
        claim = compensation.claim_review(claim=claim, acting_user=w.user("fund"))
        claim = compensation.claim_approve(claim=claim, acting_user=w.user("fund", Role.REVIEWER))
    return loan, claim


def _move_end(lot_id: int, end: datetime.datetime) -> None:
    """The clock cannot be moved in an API call, so the lot's end is moved instead."""
    Lot.objects.filter(pk=lot_id).update(ends_at=end)


def _auction_case(w: World, bank: Client, loan: Loan) -> dict[str, Any]:
    """The loan's case opened, routed to an online auction at the exchange and approved."""
    case = _ok(send(bank, "post", "/disposal/cases", {"loan_id": loan.pk}), 201)
    url = f"/disposal/cases/{case['id']}"
    route = {"route": "auction", "platform_id": w.orgs["exchange"].pk, "note": "集中拍卖"}
    _ok(send(bank, "post", f"{url}/route", route))
    return _ok(send(session_client(w.user("bank1_sub", Role.REVIEWER)), "post", f"{url}/approve-route"))


def _open_session(exchange: Client, minutes: int = 60) -> dict[str, Any]:
    now = timezone.now()
    body = {
        "title": "知识产权质物集中拍卖第1场",
        "starts_at": (now - datetime.timedelta(minutes=5)).isoformat(),
        "ends_at": (now + datetime.timedelta(minutes=minutes)).isoformat(),
        "extension_minutes": 5,
    }
    return _ok(send(exchange, "post", "/disposal/sessions", body), 201)  # type: ignore[no-any-return]


LOT = {"reserve_price": "2000000.00", "deposit": "200000.00", "increment": "50000.00"}


# ---------------------------------------------------------------------------
# The auction, end to end
# ---------------------------------------------------------------------------


def test_auction_to_cleared_claim_through_the_api(world: World) -> None:
    loan, claim = _defaulted(world)
    bank = session_client(world.user("bank1_sub"))
    admin = session_client(world.user("bank1_sub", Role.ADMIN))
    reviewer = session_client(world.user("bank1_sub", Role.REVIEWER))
    _, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.VIEWER)
    bank_key = key_client(secret)
    exchange = session_client(world.user("exchange"))
    ent2 = session_client(world.user("ent2"))
    agency = session_client(world.user("agency"))
    fund = session_client(world.user("fund"))

    # The bank opens the case with every pledged right and their prior valuations.
    case = _ok(send(bank, "post", "/disposal/cases", {"loan_id": loan.pk, "note": "借款人无力清偿"}), 201)
    case_id, url = case["id"], f"/disposal/cases/{case['id']}"
    assert (case["status"], case["status_label"], case["route"]) == (100, "已立案", None)
    assert (
        case["loan"] == {"id": loan.pk, "reference": loan.reference}
        and case["bank"]["id"] == world.orgs["bank1_sub"].pk
    )
    assert case["rights"] and case["lots"] == [] and case["entries"] == [] and case["claim_id"] == claim.pk
    assert_error(send(bank, "post", "/disposal/cases", {"loan_id": loan.pk}), 409, field="loan_id", rule="unique")
    assert [c["id"] for c in _items(get(bank_key, "/disposal/cases"))] == [case_id]

    # A fresh valuation, then the route: proposed by the admin, approved by another officer (maker-checker).
    revalued = _ok(send(bank, "post", f"{url}/revalue", {}))
    assert all(r["fresh_value"] is not None and r["fresh_valuation_id"] for r in revalued["rights"]), revalued
    no_platform = send(admin, "post", f"{url}/route", {"route": "auction"})
    assert_error(no_platform, 400, field="platform_id", rule="required")
    route = {"route": "auction", "platform_id": world.orgs["exchange"].pk, "note": "集中拍卖"}
    case = _ok(send(admin, "post", f"{url}/route", route))
    assert (case["status"], case["route"], case["platform"]["id"]) == (200, "auction", world.orgs["exchange"].pk)
    assert case["proposed_by"] == "bank1_sub_admin"
    assert_error(send(admin, "post", f"{url}/approve-route"), 400, field="approved_by", rule="maker_is_checker")
    assert_error(send(bank, "post", f"{url}/approve-route"), 403)  # an operator does not approve
    case = _ok(send(reviewer, "post", f"{url}/approve-route"))
    assert (case["status"], case["approved_by"]) == (300, "bank1_sub_reviewer")

    # The exchange opens a session and lists the case; only the platform may do either.
    assert_error(
        send(
            bank,
            "post",
            "/disposal/sessions",
            {"title": "x", "starts_at": "2025-01-01T00:00:00+08:00", "ends_at": "2025-01-02T00:00:00+08:00"},
        ),
        403,
    )
    session = _open_session(exchange)
    assert (session["platform"]["id"], session["lots"], session["status"]) == (
        world.orgs["exchange"].pk,
        [],
        "scheduled",
    )
    lots_url = f"/disposal/sessions/{session['id']}/lots"
    assert_error(send(bank, "post", lots_url, {"case_id": case_id, **LOT}), 403)
    lot = _ok(send(exchange, "post", lots_url, {"case_id": case_id, **LOT}), 201)
    lot_id, lot_url = lot["id"], f"/disposal/lots/{lot['id']}"
    assert (lot["number"], lot["status"], lot["reserve_price"], lot["minimum_bid"]) == (
        1,
        "listed",
        "2000000.00",
        "2000000.00",
    )
    assert {r["id"] for r in lot["rights"]} == {r["ip_right"]["id"] for r in case["rights"]}
    assert _ok(get(bank, url))["status"] == 400
    assert [s["lot_count"] for s in _items(get(ent2, "/disposal/sessions"))] == [1]

    # Bidders sign up; the pledgee may not; bids wait for the deposit, which only the platform confirms.
    assert_error(
        send(session_client(world.user("bank1")), "post", f"{lot_url}/register"), 400, field="lot", rule="pledgee"
    )
    mine = _ok(send(ent2, "post", f"{lot_url}/register"), 201)
    theirs = _ok(send(agency, "post", f"{lot_url}/register"), 201)
    assert (mine["alias"], mine["deposit_status"], mine["bidder"]["id"]) == ("0001", "pending", world.orgs["ent2"].pk)
    assert_error(send(ent2, "post", f"{lot_url}/register"), 409, rule="unique")
    assert_error(
        send(ent2, "post", f"{lot_url}/bids", {"amount": "2000000.00"}), 400, field="lot", rule="deposit_unpaid"
    )
    assert_error(send(ent2, "post", f"/disposal/bidders/{mine['id']}/deposit", {}), 403)
    for registration in (mine, theirs):
        paid = _ok(send(exchange, "post", f"/disposal/bidders/{registration['id']}/deposit", {}))
        assert paid["deposit_status"] == "paid"
    assert_error(send(exchange, "post", f"/disposal/bidders/{mine['id']}/deposit", {}), 400, rule="invalid_state")

    # Bids: at least the reserve, then the increment; a late bid pushes the end back.
    low = send(ent2, "post", f"{lot_url}/bids", {"amount": "1999999.99"})
    assert_error(low, 400, field="amount", rule="too_low")
    first = _ok(send(ent2, "post", f"{lot_url}/bids", {"amount": "2000000.00"}), 201)
    assert (first["sequence"], first["alias"], first["amount"]) == (1, "0001", "2000000.00")
    assert_error(send(agency, "post", f"{lot_url}/bids", {"amount": "2020000.00"}), 400, field="amount", rule="too_low")
    _ok(send(agency, "post", f"{lot_url}/bids", {"amount": "2100000.00"}), 201)
    _move_end(lot_id, timezone.now() + datetime.timedelta(minutes=1))
    late = _ok(send(ent2, "post", f"{lot_url}/bids", {"amount": "2200000.00"}), 201)
    placed = datetime.datetime.fromisoformat(late["placed_at"])
    assert datetime.datetime.fromisoformat(late["lot_ends_at"]) == placed + datetime.timedelta(minutes=5)
    assert_error(send(ent2, "post", f"{lot_url}/bids", {"amount": 2300000}), 422, field="amount")

    # The lot page is public: bidder numbers, amounts and times, never who bid.
    public = _ok(get(session_client(world.user("ipo_js", Role.VIEWER)), lot_url))
    assert [(b["sequence"], b["alias"], b["amount"]) for b in public["bids"]] == [
        (3, "0001", "2200000.00"),
        (2, "0002", "2100000.00"),
        (1, "0001", "2000000.00"),
    ]
    assert all(set(b) == {"sequence", "alias", "amount", "placed_at"} for b in public["bids"])
    assert (public["current_price"], public["minimum_bid"], public["registration"]) == (
        "2200000.00",
        "2250000.00",
        None,
    )
    assert _ok(get(ent2, lot_url))["registration"]["id"] == mine["id"]

    # The exchange closes the lot after its end: ent2 wins, its deposit applied, the agency's refunded.
    assert_error(send(exchange, "post", f"{lot_url}/close"), 400, field="ends_at", rule="not_ended")
    _move_end(lot_id, timezone.now() - datetime.timedelta(seconds=1))
    assert_error(send(bank, "post", f"{lot_url}/close"), 403)
    closed = _ok(send(exchange, "post", f"{lot_url}/close"))
    assert (closed["status"], closed["winner_alias"], closed["minimum_bid"]) == ("sold", "0001", None)
    deposits = {r["alias"]: r["deposit_status"] for r in _items(get(exchange, "/disposal/bidders", {"lot_id": lot_id}))}
    assert deposits == {"0001": "applied", "0002": "refunded"}
    assert [r["id"] for r in _items(get(ent2, "/disposal/bidders"))] == [mine["id"]]
    assert _ids(bank, "/disposal/bidders") == {mine["id"], theirs["id"]}

    # Sold → paid (the platform confirms) → transferred (the bank) → distributed.
    case = _ok(get(ent2, url))  # the buyer now reads the case
    assert (case["status"], case["sale_price"], case["buyer"]["id"]) == (500, "2200000.00", world.orgs["ent2"].pk)
    assert case["claim_id"] is None  # the buyer does not see the bank's claim
    assert _ok(send(exchange, "post", f"{url}/payment", {}))["status"] == 600
    assert_error(send(session_client(world.user("bank2")), "post", f"{url}/transfer"), 404)
    assert_error(send(session_client(world.user("bank1_sub", Role.VIEWER)), "post", f"{url}/transfer"), 403)
    case = _ok(send(bank, "post", f"{url}/transfer"))
    assert case["status"] == 700 and case["cancellation_filing_id"] is not None
    assert sum(int(r["price_share"].replace(".", "")) for r in case["rights"]) == 220_000_000

    case = _ok(send(bank, "post", f"{url}/distribute", {"costs": "200000.00"}))
    assert case["status"] == 800 and case["costs"] == "200000.00"
    assert [(e["step"], e["amount"], e["payee"]["id"]) for e in case["entries"]] == [
        ("costs", "200000.00", world.orgs["exchange"].pk),
        ("bank_principal", "2000000.00", world.orgs["bank1_sub"].pk),
        ("compensation", "1600000.00", world.orgs["fund"].pk),
    ]

    # The fund clears the claim with the recovery; the bank pays the true-up; the case closes.
    claim_url = f"/compensation/claims/{case['claim_id']}"
    assert _ok(get(fund, claim_url))["recoveries_total"] == "2000000.00"
    cleared = _ok(send(fund, "post", f"{claim_url}/clear", {"note": "处置完毕"}))
    (true_up,) = [p for p in cleared["payments"] if p["purpose"] == "true_up"]
    assert (true_up["amount"], true_up["payer"]["id"]) == ("1600000.00", world.orgs["bank1_sub"].pk)
    _ok(send(bank, "post", f"/compensation/payments/{true_up['id']}/paid", {"reference": "BANK-REF-1"}))
    assert _ok(get(fund, claim_url))["status"] == ClaimStatus.CLEARED
    case = _ok(send(bank, "post", f"{url}/close", {"note": "处置完毕"}))
    assert case["status"] == 900 and case["closed_on"] is not None

    # The history shows the sale to those who see the case.
    (row,) = _items(get(bank_key, "/disposal/history"))
    assert (row["case_id"], row["sale_price"], row["route"]) == (case_id, "2200000.00", "auction")
    assert row["days_to_sale"] is not None
    assert _items(get(session_client(world.user("bank2", Role.VIEWER)), "/disposal/history")) == []
    assert _items(get(bank, "/disposal/history", {"region_prefix": "32"})) == []


# ---------------------------------------------------------------------------
# The other routes
# ---------------------------------------------------------------------------


def test_negotiated_sale_with_an_api_key(world: World) -> None:
    loan, _claim = _defaulted(world)
    api_key, secret = make_key(world.user("bank1_sub", Role.ADMIN), role=Role.ADMIN)
    key = key_client(secret)
    case = _ok(send(key, "post", "/disposal/cases", {"loan_id": loan.pk}), 201)
    url = f"/disposal/cases/{case['id']}"
    assert DisposalCase.objects.get(pk=case["id"]).opened_by_id is None
    assert AuditEvent.objects.filter(action="disposal_case.open", api_key_id=str(api_key.pk)).exists()
    _ok(send(key, "post", f"{url}/route", {"route": "negotiated"}))
    # A key is never a different person from itself: the route it proposed is approved by a named officer.
    assert_error(send(key, "post", f"{url}/approve-route"), 400, field="approved_by", rule="maker_is_checker")
    assert_error(
        send(key, "post", f"{url}/sale", {"buyer_id": world.orgs["ent2"].pk, "price": "1.00"}),
        400,
        field="status",
        rule="invalid_state",
    )
    _ok(send(session_client(world.user("bank1_sub", Role.REVIEWER)), "post", f"{url}/approve-route"))
    party = send(key, "post", f"{url}/sale", {"buyer_id": world.orgs["bank1_sub"].pk, "price": "1000000.00"})
    assert_error(party, 400, field="buyer_id", rule="party")
    assert_error(
        send(key, "post", f"{url}/sale", {"buyer_id": 999999, "price": "1.00"}), 400, field="buyer_id", rule="not_found"
    )
    case = _ok(send(key, "post", f"{url}/sale", {"buyer_id": world.orgs["ent2"].pk, "price": "1500000.00"}))
    assert (case["status"], case["sale_price"], case["route_label"]) == (500, "1500000.00", "协议转让")
    assert_error(send(session_client(world.user("exchange")), "post", f"{url}/payment", {}), 404)
    assert _ok(send(key, "post", f"{url}/payment", {}))["status"] == 600


def test_licence_income_is_idempotent(world: World) -> None:
    loan, claim = _defaulted(world)
    bank = session_client(world.user("bank1_sub"))
    case = _ok(send(bank, "post", "/disposal/cases", {"loan_id": loan.pk}), 201)
    url = f"/disposal/cases/{case['id']}"
    _ok(send(bank, "post", f"{url}/route", {"route": "licensing"}))
    case = _ok(send(session_client(world.user("bank1_sub", Role.REVIEWER)), "post", f"{url}/approve-route"))
    assert case["status"] == 400
    body = {"licensee": "苏州某制造有限公司", "amount": "300000.00", "received_on": case["opened_on"]}
    assert_error(send(bank, "post", f"{url}/licence-income", body), 400, field="idempotency_key", rule="required")
    first = send(bank, "post", f"{url}/licence-income", body, HTTP_IDEMPOTENCY_KEY="2026-Q4")
    again = send(bank, "post", f"{url}/licence-income", {**body, "idempotency_key": "2026-Q4"})
    income = _ok(first, 201)
    assert _ok(again, 201) == income and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    other = send(bank, "post", f"{url}/licence-income", {**body, "amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="2026-Q4")
    assert_error(other, 400, field="idempotency_key", rule="idempotency_mismatch")
    assert (income["amount"], income["costs"], income["licensee"]) == ("300000.00", "0.00", "苏州某制造有限公司")
    assert LicenceIncome.objects.filter(case_id=case["id"]).count() == 1
    detail = _ok(get(bank, url))
    assert [(e["step"], e["amount"], e["licence_income_id"]) for e in detail["entries"]] == [
        ("bank_principal", "300000.00", income["id"]),
        ("compensation", "240000.00", income["id"]),  # 80 % of it goes back to the fund through the clearing
    ]
    assert _ok(get(session_client(world.user("fund")), f"/compensation/claims/{claim.pk}"))["recoveries_total"] == (
        "300000.00"
    )
    assert _ok(send(bank, "post", f"{url}/close", {}))["status"] == 900


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------


def test_refusals_in_the_error_shape(world: World) -> None:
    loan, _claim = _defaulted(world)
    bank = session_client(world.user("bank1_sub"))
    viewer = session_client(world.user("bank1_sub", Role.VIEWER))
    other_bank = session_client(world.user("bank2"))

    # Viewers read but never write; another bank's loan is not there for it; unauthenticated calls answer 401.
    assert_error(send(viewer, "post", "/disposal/cases", {"loan_id": loan.pk}), 403, rule="forbidden")
    assert_error(
        send(other_bank, "post", "/disposal/cases", {"loan_id": loan.pk}), 400, field="loan_id", rule="not_found"
    )
    assert_error(send(session_client(world.user("exchange")), "post", "/disposal/cases", {"loan_id": loan.pk}), 403)
    assert_error(Client().get(f"{API}/disposal/cases"), 401, rule="unauthenticated")
    assert_error(send(Client(), "post", "/disposal/cases", {"loan_id": loan.pk}), 401)

    case = _auction_case(world, bank, loan)
    url = f"/disposal/cases/{case['id']}"
    assert _ok(get(viewer, url))["id"] == case["id"]
    assert_error(send(viewer, "post", f"{url}/route", {"route": "negotiated"}), 403, rule="forbidden")
    assert_error(send(viewer, "post", f"{url}/close", {}), 403)

    # Another bank's case does not exist for it, neither to read nor to act on.
    assert_error(get(other_bank, url), 404, rule="not_found")
    for tail, body in (
        ("route", {"route": "negotiated"}),
        ("approve-route", None),
        ("transfer", None),
        ("distribute", {"costs": "1.00"}),
        ("close", {}),
    ):
        assert_error(send(other_bank, "post", f"{url}/{tail}", body), 404)
    assert_error(send(session_client(world.user("bank2", Role.REVIEWER)), "post", f"{url}/approve-route"), 404)
    assert _ids(other_bank, "/disposal/cases") == set()

    # The exchange sees the case it will sell but does not run it; a state out of order is refused.
    exchange = session_client(world.user("exchange"))
    assert _ok(get(exchange, url))["id"] == case["id"]
    assert_error(send(exchange, "post", f"{url}/route", {"route": "negotiated"}), 403)
    assert_error(send(bank, "post", f"{url}/transfer"), 400, field="status", rule="invalid_state")
    assert_error(
        send(bank, "post", f"{url}/sale", {"buyer_id": world.orgs["ent2"].pk, "price": "1.00"}),
        400,
        field="route",
        rule="route",
    )

    # Schema and path errors.
    assert_error(get(bank, "/disposal/cases/999999"), 404)
    assert_error(get(bank, "/disposal/cases/0"), 422, field="case_id")
    assert_error(send(bank, "post", f"{url}/route", {"route": "fire_sale"}), 422, field="route")
    assert_error(send(bank, "post", f"{url}/distribute", {"costs": 1}), 422, field="costs")
    session = _open_session(exchange)
    naive = {"title": "x", "starts_at": "2030-01-01T09:00:00", "ends_at": "2030-01-01T10:00:00"}
    assert_error(send(exchange, "post", "/disposal/sessions", naive), 422, field="starts_at")
    backwards = {"title": "x", "starts_at": "2030-01-01T10:00:00+08:00", "ends_at": "2030-01-01T09:00:00+08:00"}
    assert_error(send(exchange, "post", "/disposal/sessions", backwards), 400, field="ends_at", rule="order")
    assert_error(
        send(exchange, "post", f"/disposal/sessions/{session['id']}/lots", {"case_id": 999999, **LOT}),
        400,
        field="case_id",
        rule="not_found",
    )
    assert_error(get(bank, "/disposal/lots/999999"), 404)
    assert_error(send(bank, "post", "/disposal/bidders/999999/deposit", {}), 404)


# ---------------------------------------------------------------------------
# Scope: lists and details
# ---------------------------------------------------------------------------


def _visible(model: Any, user: User) -> set[int]:
    return set(model.objects.restrict(user, Action.VIEW).values_list("pk", flat=True))


def test_lists_never_show_other_organisations_rows(world: World) -> None:
    """bank1_sub's auction case (ent2 and the agency signed up) and licensing case, bank2's licensing case in
    Jiangsu: each organisation lists exactly its side of every wall."""
    rows = add_disposal(world)
    auction, bj, js = rows["auction"].pk, rows["licensing_bj"].pk, rows["licensing_js"].pk  # type: ignore[attr-defined]
    lot = rows["lot"]
    registrations = {r.bidder_id: r.pk for r in BidderRegistration.objects.filter(lot=lot)}
    ent2_reg, agency_reg = registrations[world.orgs["ent2"].pk], registrations[world.orgs["agency"].pk]
    expected_cases = {
        "bank1": {auction, bj},
        "bank1_sub": {auction, bj},
        "bank2": {js},
        "exchange": {auction},  # the platform selling it
        "agency": set(),  # a bidder sees the lot, not the case
        "ent1": {auction, bj},  # the pledgor
        "fund": {auction, bj, js},  # the manager of both covering funds
        "ipo_js": {js},
    }
    expected_bidders = {
        "bank1": {ent2_reg, agency_reg},  # the case's bank reads who signed up
        "bank2": set(),
        "exchange": {ent2_reg, agency_reg},
        "ent2": {ent2_reg},
        "agency": {agency_reg},
        "fund": set(),
    }
    failures = []
    for org, ids in expected_cases.items():
        got = _ids(session_client(world.user(org, Role.VIEWER)), "/disposal/cases")
        if got != ids:
            failures.append(f"{org} cases: {sorted(got)} != {sorted(ids)}")
    for org, ids in expected_bidders.items():
        got = _ids(session_client(world.user(org, Role.VIEWER)), "/disposal/bidders")
        if got != ids:
            failures.append(f"{org} bidders: {sorted(got)} != {sorted(ids)}")
    for user in User.objects.filter(is_superuser=False, role=Role.VIEWER).select_related("organisation"):
        client = session_client(user)
        for path, model in (
            ("/disposal/cases", DisposalCase),
            ("/disposal/bidders", BidderRegistration),
            ("/disposal/sessions", AuctionSession),
        ):
            got, allowed = _ids(client, path), _visible(model, user)
            if got != allowed:
                failures.append(f"{user.username} {path}: {sorted(got)} != {sorted(allowed)}")
    assert not failures, "\n".join(failures)

    # The sessions and lots are public listings; the case behind a lot is not.
    agency = session_client(world.user("agency", Role.VIEWER))
    assert _ids(agency, "/disposal/sessions") == {rows["session"].pk}  # type: ignore[attr-defined]
    detail = _ok(get(agency, f"/disposal/lots/{lot.pk}"))  # type: ignore[attr-defined]
    bids = Bid.objects.filter(lot=lot).select_related("registration").order_by("-sequence")
    assert detail["case_id"] == auction and bids
    assert [(b["sequence"], b["alias"], b["amount"]) for b in detail["bids"]] == [
        (bid.sequence, bid.registration.alias, f"{bid.amount.amount:.2f}") for bid in bids
    ]
    assert detail["registration"]["id"] == agency_reg
    assert_error(get(agency, f"/disposal/cases/{auction}"), 404)
    bank2 = session_client(world.user("bank2", Role.VIEWER))
    assert_error(get(bank2, f"/disposal/cases/{bj}"), 404)
    assert_error(send(session_client(world.user("bank2")), "post", f"/disposal/bidders/{ent2_reg}/deposit", {}), 404)
    js_detail = _ok(get(bank2, f"/disposal/cases/{js}"))
    assert [e["step"] for e in js_detail["entries"]] == ["bank_principal"] and len(js_detail["licence_incomes"]) == 1
