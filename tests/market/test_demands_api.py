"""Demand and lead API: post (enterprise, park on behalf), the errors' field and rule, list and detail scoping (404
for another organisation), edit with version, shares, re-match, the ranked matches with reasons (text, code and
params), link the loan, withdraw; a bank's leads and its answer; another bank cannot answer."""

from __future__ import annotations

import datetime

import pytest

from ipledge.core.context import as_of
from ipledge.market.choices import DemandStatus
from ipledge.market.models import Demand, Match
from tests.api_helpers import assert_error, get, send, session_client
from tests.market.factories_demands import granted_loan, post, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def body(world: World, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "amount": "3000000.00",
        "term_months": 12,
        "purpose": "research",
        "right_ids": [world.rights["r1"].pk],
        "share_with_matching_banks": True,
    }
    data.update(extra)
    return data


def test_enterprise_posts_reads_and_sees_ranked_matches(world: World) -> None:
    fits, misses = two_products(world)
    ent = session_client(world.user("ent1"))
    created = send(ent, "post", "/market/demands", body(world))
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["reference"] == "XQ2026-000001" and out["status"] == "matched" and out["amount"] == "3000000.00"
    assert out["enterprise"]["name"] == world.enterprises["e1"].name and out["source"] == "enterprise"
    assert [r["number"] for r in out["rights"]] == [world.rights["r1"].number]
    assert out["eligible_products"] == 1 and out["best_match"]["product"] == fits.name
    demand_id = out["id"]

    matches = get(ent, f"/market/demands/{demand_id}/matches").json()
    assert [m["product"]["id"] for m in matches] == [fits.pk, misses.pk]
    assert matches[0]["eligible"] and matches[0]["rank"] == 1 and not matches[1]["eligible"]
    failed = [r for r in matches[1]["reasons"] if not r["passed"]]
    assert failed and failed[0]["text"] == "发明专利剩余有效期13年，本产品要求至少30年"
    assert failed[0]["code"] and failed[0]["params"]

    listing = get(ent, "/market/demands", {"status": "matched"}).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == demand_id
    assert get(ent, f"/market/demands/{demand_id}").json()["version"] == 1


def test_errors_name_the_field_and_rule(world: World) -> None:
    ent = session_client(world.user("ent1"))
    assert_error(
        send(ent, "post", "/market/demands", body(world, right_ids=[world.rights["r2"].pk])),
        400,
        field="right_ids",
        rule="not_owner",
    )
    assert_error(
        send(ent, "post", "/market/demands", body(world, share_bank_ids=[world.orgs["ipo_bj"].pk])),
        400,
        field="share_bank_ids",
        rule="not_bank",
    )
    assert_error(
        send(ent, "post", "/market/demands", body(world, expires_on="2026-01-01")), 400, field="expires_on", rule="past"
    )
    assert_error(send(ent, "post", "/market/demands", body(world, term_months=0)), 422, field="term_months")
    assert_error(send(ent, "post", "/market/demands", body(world, colour="red")), 422, rule="extra_forbidden")
    bank = session_client(world.user("bank1"))
    assert_error(send(bank, "post", "/market/demands", body(world)), 403)
    assert not Demand.objects.exists()


def test_park_posts_for_a_member_and_not_for_others(world: World) -> None:
    park = session_client(world.user("park1"))
    created = send(park, "post", "/market/demands", body(world, enterprise_id=world.enterprises["e1"].pk))
    assert created.status_code == 201 and created.json()["source"] == "park"
    assert created.json()["park"]["id"] == world.parks["p1"].pk
    assert_error(
        send(park, "post", "/market/demands", body(world, enterprise_id=world.enterprises["e2"].pk, right_ids=[])),
        400,
        field="enterprise_id",
        rule="not_found",
    )
    assert_error(send(park, "post", "/market/demands", body(world)), 400, field="enterprise_id", rule="required")


def test_other_organisations_get_404_and_writes_need_change_rights(world: World) -> None:
    demand = post(world)
    other = session_client(world.user("ent2"))
    assert_error(get(other, f"/market/demands/{demand.pk}"), 404)
    assert_error(send(other, "post", f"/market/demands/{demand.pk}/withdraw", {}), 404)
    assert get(other, "/market/demands").json()["count"] == 0
    office = session_client(world.user("ipo_bj"))
    assert get(office, f"/market/demands/{demand.pk}").status_code == 200
    assert_error(send(office, "post", f"/market/demands/{demand.pk}/withdraw", {}), 403)


def test_edit_shares_rematch_link_and_withdraw(world: World) -> None:
    two_products(world)
    demand = post(world)
    ent = session_client(world.user("ent1"))
    path = f"/market/demands/{demand.pk}"
    edited = send(ent, "patch", path, {"version": 1, "term_months": 24, "amount": "2000000"})
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["term_months"] == 24
    assert_error(send(ent, "patch", path, {"version": 1, "term_months": 18}), 400, field="version", rule="stale")
    shared = send(
        ent, "put", f"{path}/shares", {"bank_ids": [world.orgs["bank2"].pk], "share_with_matching_banks": False}
    )
    assert shared.status_code == 200 and [b["id"] for b in shared.json()["share_banks"]] == [world.orgs["bank2"].pk]
    assert_error(
        send(ent, "put", f"{path}/shares", {"bank_ids": [world.orgs["ent2"].pk]}),
        400,
        field="bank_ids",
        rule="not_bank",
    )
    rematched = send(ent, "post", f"{path}/rematch")
    assert rematched.status_code == 200 and rematched.json()[0]["rank"] == 1
    assert_error(
        send(ent, "post", f"{path}/link-loan", {"loan_id": granted_loan(world, "e2", "bank2").pk}),
        400,
        field="loan_id",
        rule="not_found",
    )
    linked = send(ent, "post", f"{path}/link-loan", {"loan_id": granted_loan(world).pk})
    assert linked.status_code == 200 and linked.json()["status"] == "financed" and linked.json()["loan_reference"]
    assert_error(send(ent, "post", f"{path}/withdraw", {"note": "x"}), 400, field="status", rule="invalid_transition")
    other = post(world)
    done = send(ent, "post", f"/market/demands/{other.pk}/withdraw", {"note": "不再需要"})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"


def test_bank_leads_and_answer(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world, banks=("bank2",))
    match = Match.objects.get(demand=demand, product=fits)
    bank = session_client(world.user("bank1_sub"))
    leads = get(bank, "/market/leads").json()
    assert leads["count"] == 1 and leads["items"][0]["id"] == match.pk
    item = leads["items"][0]
    assert item["demand"]["reference"] == demand.reference and item["enterprise"]["industry_section"] == "I"
    assert item["reasons"] and all({"code", "passed", "text", "params"} <= set(r) for r in item["reasons"])
    assert get(bank, "/market/leads", {"response": "interested"}).json()["count"] == 0
    bank2 = session_client(world.user("bank2"))
    assert get(bank2, "/market/leads").json()["count"] == 0
    assert_error(get(bank2, f"/market/leads/{match.pk}"), 404)
    assert_error(send(bank2, "post", f"/market/leads/{match.pk}/respond", {"response": "interested"}), 404)
    assert_error(get(session_client(world.user("ent1")), "/market/leads"), 403)
    assert get(session_client(world.user("ent1")), f"/market/leads/{match.pk}").status_code == 200
    assert_error(
        send(session_client(world.user("ent1")), "post", f"/market/leads/{match.pk}/respond", {"response": "declined"}),
        403,
    )
    answered = send(bank, "post", f"/market/leads/{match.pk}/respond", {"response": "interested", "note": "面谈"})
    assert answered.status_code == 200 and answered.json()["response"] == "interested"
    assert answered.json()["responded_by"] == world.user("bank1_sub").username
    demand.refresh_from_db()
    assert demand.status == DemandStatus.IN_TALKS
    assert_error(send(bank, "post", f"/market/leads/{match.pk}/respond", {"response": ""}), 400, rule="choice")
