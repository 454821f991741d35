"""The credit-record API: multipart imports with an API key (201 with the counts, or 400 with every row error and
the rejected import's id), the record and import lists with their filters, the review queue and its decisions, and
the refusals in the one error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_uscc
from ipledge.registry.services import enterprise_create
from ipledge.screening.choices import MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord
from tests.api_helpers import API, assert_error, get, key_client, make_key, send, session_client
from tests.screening.factories_records import ABNORMAL_HEADER, COURT_JSON, csv_bytes, json_bytes, penalty_rows
from tests.world import World

pytestmark = pytest.mark.django_db


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content.decode())
    return response.json()


def _upload(client: Client, kind: str, name: str, content: bytes, **extra: Any) -> Any:
    return client.post(
        f"{API}/screening/credit-imports", {"kind": kind, "file": SimpleUploadedFile(name, content), **extra}
    )


def _ids(client: Client, path: str, params: dict[str, Any] | None = None) -> set[int]:
    return {item["id"] for item in _ok(get(client, path, {"page_size": 500, **(params or {})}))["items"]}


def test_import_with_an_api_key(world: World) -> None:
    _, secret = make_key(world.user("ipo_bj", Role.ADMIN), role=Role.OPERATOR)
    office = key_client(secret)
    body = _ok(_upload(office, RecordKind.PENALTY, "penalties.csv", csv_bytes(penalty_rows(world))), 201)
    assert body["status"] == "committed" and body["organisation"]["id"] == world.orgs["ipo_bj"].pk
    assert (body["rows_total"], body["rows_matched"], body["rows_review"], body["rows_unmatched"]) == (4, 3, 0, 1)
    assert body["imported_by"] is None  # a key is no person; its audit event names the key
    event = AuditEvent.objects.get(action="credit_import.commit")
    assert event.api_key_id is not None and event.actor is None
    again = _ok(_upload(office, RecordKind.PENALTY, "penalties.csv", csv_bytes(penalty_rows(world))), 201)
    assert (again["rows_unchanged"], again["rows_updated"]) == (4, 0)
    assert _ids(office, "/screening/credit-imports") == {body["id"], again["id"]}
    assert _ids(office, "/screening/credit-imports", {"status": "rejected"}) == set()


def test_rejected_file_answers_400_with_row_errors(world: World) -> None:
    office = session_client(world.user("ipo_bj"))
    rows = penalty_rows(world)
    rows[2][5] = "2025-02-30"
    rows[3][1] = "91320115000020010X"
    response = _upload(office, RecordKind.PENALTY, "bad.csv", csv_bytes(rows))
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"errors", "request_id", "import_id"}
    assert body["request_id"] == response["X-Request-ID"]
    assert [(e["row"], e["field"], e["rule"]) for e in body["errors"]] == [
        (3, "作出行政处罚决定日期", "date"),
        (4, "统一社会信用代码", "checksum"),
    ]
    assert all(set(e) == {"row", "field", "rule", "message", "message_en"} for e in body["errors"])
    assert body["errors"][1]["message_en"].startswith("USCC check character")
    assert not CreditRecord.objects.exists()
    stored = _ok(get(office, f"/screening/credit-imports/{body['import_id']}"))
    assert stored["status"] == "rejected" and stored["errors"] == body["errors"]
    court = _ok(_upload(office, RecordKind.DISHONEST, "court.json", json_bytes(COURT_JSON)), 201)
    assert court["rows_total"] == 2


def test_import_refusals(world: World) -> None:
    content = csv_bytes(penalty_rows(world))
    assert_error(
        _upload(session_client(world.user("bank1")), RecordKind.PENALTY, "p.csv", content), 403, rule="forbidden"
    )
    assert_error(_upload(session_client(world.user("ipo_bj", Role.VIEWER)), RecordKind.PENALTY, "p.csv", content), 403)
    assert_error(get(session_client(world.user("bank1")), "/screening/credit-imports"), 403)
    province = session_client(world.user("ipo_js"))
    assert_error(_upload(province, "bogus", "p.csv", content), 422, field="kind")
    city = session_client(world.user("ipo_nj"))
    assert_error(
        _upload(city, RecordKind.PENALTY, "p.csv", content, organisation_id=world.orgs["ipo_js"].pk),
        403,
        rule="forbidden",
    )
    assert_error(
        _upload(province, RecordKind.PENALTY, "p.csv", content, organisation_id=999999), 400, field="organisation_id"
    )
    made = _ok(_upload(province, RecordKind.PENALTY, "p.csv", content, organisation_id=world.orgs["ipo_nj"].pk), 201)
    assert made["organisation"]["id"] == world.orgs["ipo_nj"].pk
    assert_error(get(session_client(world.user("ipo_bj")), f"/screening/credit-imports/{made['id']}"), 404)
    assert _ok(get(city, f"/screening/credit-imports/{made['id']}"))["id"] == made["id"]


def test_record_lists_and_scope(world: World) -> None:
    office = session_client(world.user("ipo_bj"))
    _ok(_upload(office, RecordKind.PENALTY, "p.csv", csv_bytes(penalty_rows(world))), 201)
    records = {r.source_key.split("|")[0]: r for r in CreditRecord.objects.all()}
    all_ids = {r.pk for r in records.values()}
    assert _ids(office, "/screening/credit-records") == all_ids
    e1 = world.enterprises["e1"]
    assert _ids(office, "/screening/credit-records", {"enterprise_id": e1.pk}) == {
        records["京海市监罚〔2025〕101号"].pk
    }
    assert _ids(office, "/screening/credit-records", {"match_status": "unmatched"}) == {
        records["京朝市监罚〔2025〕104号"].pk
    }
    assert _ids(office, "/screening/credit-records", {"in_force_on": "2025-01-01"}) == set()
    assert len(_ids(office, "/screening/credit-records", {"in_force_on": "2026-01-01"})) == 4
    # Jiangsu's office sees the Jiangsu enterprise's record by region; the enterprise sees its own.
    js = session_client(world.user("ipo_js"))
    assert _ids(js, "/screening/credit-records") == {records["宁江市监罚〔2025〕103号"].pk}
    assert _ids(session_client(world.user("ent1")), "/screening/credit-records") == {
        records["京海市监罚〔2025〕101号"].pk
    }
    detail = _ok(get(office, f"/screening/credit-records/{records['京海市监罚〔2025〕101号'].pk}"))
    assert detail["enterprise"] == {"id": e1.pk, "name": e1.name, "uscc": e1.uscc}
    assert detail["match_status"] == "uscc" and detail["in_force"] is True and detail["tax_rating"] is None
    assert detail["raw"]["行政处罚决定书文号"] == "京海市监罚〔2025〕101号"
    assert detail["expires_on"] == "2028-03-05"
    assert_error(get(js, f"/screening/credit-records/{records['京海市监罚〔2025〕101号'].pk}"), 404)


def _pending(world: World) -> CreditRecord:
    enterprise_create(
        uscc=make_uscc(region_code="110108", serial=3002),
        name="北京智芯科技股份有限公司",
        industry_section="I",
        acting_user=None,
    )
    office = session_client(world.user("ipo_bj"))
    rows = [ABNORMAL_HEADER, ["北京智芯科技有限公司", "", "未公示年报", "2025-05-02", "海淀分局", ""]]
    _ok(_upload(office, RecordKind.ABNORMAL, "a.csv", csv_bytes(rows)), 201)
    return CreditRecord.objects.get(match_status=MatchStatus.PENDING)


def test_review_through_the_api(world: World) -> None:
    record = _pending(world)
    office = session_client(world.user("ipo_bj"))
    queue = _ok(get(office, "/screening/match-reviews"))
    assert [item["id"] for item in queue["items"]] == [record.pk]
    assert len(queue["items"][0]["candidates"]) == 2
    assert_error(get(session_client(world.user("bank1")), "/screening/match-reviews"), 403)
    assert _ok(get(session_client(world.user("ipo_js")), "/screening/match-reviews"))["items"] == []

    url = f"/screening/credit-records/{record.pk}"
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    assert_error(
        send(session_client(world.user("ipo_js")), "post", f"{url}/confirm-match", {"enterprise_id": e1.pk}), 404
    )
    reviewer = session_client(world.user("ipo_bj", Role.REVIEWER))
    assert_error(send(reviewer, "post", f"{url}/confirm-match", {"enterprise_id": e1.pk}), 403, rule="forbidden")
    assert_error(send(office, "post", f"{url}/confirm-match", {"enterprise_id": e2.pk}), 400, field="enterprise_id")
    assert_error(send(office, "post", f"{url}/confirm-match", {}), 422, field="enterprise_id")
    confirmed = _ok(send(office, "post", f"{url}/confirm-match", {"enterprise_id": e1.pk}))
    assert confirmed["match_status"] == "confirmed" and confirmed["enterprise"]["id"] == e1.pk
    assert confirmed["reviewed_by"] == world.user("ipo_bj").username and confirmed["match_score"] == 100.0
    assert_error(
        send(office, "post", f"{url}/confirm-match", {"enterprise_id": e1.pk}),
        400,
        field="match_status",
        rule="invalid_state",
    )
    rejected = _ok(send(office, "post", f"{url}/reject-match"))
    assert rejected["match_status"] == "unmatched" and rejected["enterprise"] is None
    assert_error(send(office, "post", f"{url}/reject-match"), 400, field="match_status", rule="invalid_state")
    assert CreditImport.objects.count() == 1
