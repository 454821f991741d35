"""Valuation API: value one right and a bundle synchronously, read, report, isolation (404 for another
organisation), agency sign-off, bank policy, comparables, innovation scores, batches and model cards."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.registry.choices import IPKind
from ipledge.registry.services import ip_right_create, ip_right_update
from ipledge.valuation.models import Valuation
from tests.api_helpers import assert_error, get, send, session_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def valued_world(world):  # type: ignore[no-untyped-def]
    ip_right_update(
        right=world.rights["r1"],
        data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=300)},
        acting_user=None,
    )
    return world


def test_value_one_right_and_read_it_back(valued_world) -> None:  # type: ignore[no-untyped-def]
    w = valued_world
    client = session_client(w.user("ent1"))
    response = send(client, "post", "/valuations", {"ip_right_id": w.rights["r1"].pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["ip_right"]["number"] == w.rights["r1"].number
    assert float(body["p10"]) <= float(body["p50"]) <= float(body["p90"])
    assert abs(sum(body["contributions"].values()) - float(body["score"])) < 0.05
    assert body["grade"] in {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
    detail = get(client, f"/valuations/{body['id']}")
    assert detail.status_code == 200 and detail.json()["id"] == body["id"]
    listed = get(client, "/valuations", {"ip_right_id": w.rights["r1"].pk}).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    report = client.get(f"/api/v1/valuations/{body['id']}/report.docx")
    assert report.status_code == 200
    assert report["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    from docx import Document

    assert "知识产权价值评估报告" in "\n".join(p.text for p in Document(io.BytesIO(report.content)).paragraphs)


def test_isolation_and_errors(valued_world) -> None:  # type: ignore[no-untyped-def]
    w = valued_world
    own = send(session_client(w.user("ent1")), "post", "/valuations", {"ip_right_id": w.rights["r1"].pk}).json()
    other = session_client(w.user("ent2"))
    assert_error(get(other, f"/valuations/{own['id']}"), 404)
    assert_error(other.get(f"/api/v1/valuations/{own['id']}/report.docx"), 404)
    assert_error(
        send(other, "post", "/valuations", {"ip_right_id": w.rights["r1"].pk}),
        400,
        field="ip_right_id",
        rule="not_found",
    )
    assert_error(send(other, "post", "/valuations", {"ip_right_id": 0}), 422)
    assert_error(
        send(
            session_client(w.user("ent1")),
            "post",
            "/valuations",
            {"ip_right_id": w.rights["r1"].pk, "agency_id": w.orgs["bank1"].pk},
        ),
        400,
        field="agency_id",
    )
    # The park of e1 and the Beijing IP office read it; the Jiangsu office does not.
    assert get(session_client(w.user("park1", Role.VIEWER)), f"/valuations/{own['id']}").status_code == 200
    assert get(session_client(w.user("ipo_bj", Role.VIEWER)), f"/valuations/{own['id']}").status_code == 200
    assert_error(get(session_client(w.user("ipo_js", Role.VIEWER)), f"/valuations/{own['id']}"), 404)


def test_bundle_and_agency_sign_off(valued_world) -> None:  # type: ignore[no-untyped-def]
    w = valued_world
    mark = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="40123458",
        title="智芯",
        grant_date=datetime.date(2021, 3, 14),
        valid_from=datetime.date(2021, 3, 14),
        term_end=datetime.date(2031, 3, 13),
        nice_classes=[9],
        owners=[{"enterprise": w.enterprises["e1"]}],
        acting_user=None,
    )
    client = session_client(w.user("ent1"))
    response = send(
        client,
        "post",
        "/valuations/bundle",
        {
            "right_ids": [w.rights["r1"].pk, mark.pk],
            "enterprise_id": w.enterprises["e1"].pk,
            "name": "智芯组合",
            "agency_id": w.orgs["valuer"].pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["bundle_id"] and len(body["members"]) == 2 and "hhi" in body["bundle_summary"]
    assert_error(
        send(
            client,
            "post",
            "/valuations/bundle",
            {"right_ids": [w.rights["r1"].pk, w.rights["r2"].pk], "enterprise_id": w.enterprises["e1"].pk, "name": "x"},
        ),
        400,
        field="right_ids",
    )
    valuer = session_client(w.user("valuer"))
    assert get(valuer, f"/valuations/{body['id']}").status_code == 200
    assert_error(send(client, "post", f"/valuations/{body['id']}/submit", {"note": "x"}), 403)
    submitted = send(valuer, "post", f"/valuations/{body['id']}/submit", {"note": "核对无误"})
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert_error(send(valuer, "post", f"/valuations/{body['id']}/sign-off", {"approve": True}), 403)
    signed = send(
        session_client(w.user("valuer", Role.REVIEWER)),
        "post",
        f"/valuations/{body['id']}/sign-off",
        {"approve": True, "note": "同意"},
    )
    assert signed.status_code == 200 and signed.json()["status"] == "signed_off"


def test_bank_policy_get_and_put(world) -> None:  # type: ignore[no-untyped-def]
    client = session_client(world.user("bank1"))
    current = get(client, "/valuation/pledge-policy").json()
    assert current["is_default"] is True
    put = send(client, "put", "/valuation/pledge-policy", {"name": "北京银行 2026", "rules": current["rules"]})
    assert put.status_code == 200 and put.json()["is_default"] is False
    branch = get(session_client(world.user("bank1_sub", Role.VIEWER)), "/valuation/pledge-policy").json()
    assert branch["name"] == "北京银行 2026"  # inherited from the head office
    assert_error(get(session_client(world.user("ent1")), "/valuation/pledge-policy"), 403)
    assert get(session_client(world.user("bank2")), "/valuation/pledge-policy").json()["is_default"] is True


def test_comparables_scores_batches_and_models(valued_world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    w = valued_world
    exchange = session_client(w.user("exchange"))
    created = send(
        exchange,
        "post",
        "/valuation/comparables",
        {
            "transaction_kind": "transfer",
            "price": "500000.00",
            "transacted_on": "2025-06-01",
            "source": "成交公告",
            "kind": "patent",
            "patent_type": "invention",
            "ipc_section": "H",
        },
    )
    assert created.status_code == 201, created.content
    assert_error(
        send(
            session_client(w.user("bank1")),
            "post",
            "/valuation/comparables",
            {
                "transaction_kind": "transfer",
                "price": "1.00",
                "transacted_on": "2025-06-01",
                "source": "x",
                "kind": "patent",
            },
        ),
        403,
    )
    ent = session_client(w.user("ent1"))
    score = send(ent, "post", f"/enterprises/{w.enterprises['e1'].pk}/innovation-scores")
    assert score.status_code == 201, score.content
    assert get(ent, f"/enterprises/{w.enterprises['e1'].pk}/innovation-scores").json()[0]["id"] == score.json()["id"]
    assert_error(get(ent, f"/enterprises/{w.enterprises['e2'].pk}/innovation-scores"), 404)
    with django_capture_on_commit_callbacks(execute=True):
        batch = send(session_client(w.user("park1")), "post", "/valuation/batches", {"park_id": w.parks["p1"].pk})
    assert batch.status_code == 201, batch.content
    progress = get(session_client(w.user("park1")), f"/valuation/batches/{batch.json()['id']}").json()
    assert progress["status"] == "done" and progress["percent"] == 100
    assert_error(send(session_client(w.user("park1")), "post", "/valuation/batches", {}), 400, field="park")
    assert get(ent, "/valuation/models").json() == []
    assert Valuation.objects.filter(batch_id=batch.json()["id"]).count() == progress["total"]
