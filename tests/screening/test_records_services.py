"""Credit-record imports and the match review through the services: a bad file rejected whole, re-imports that
change nothing, a repaired record updated and no longer counting, every matching path (USCC, exact name, fuzzy,
review, unmatched), review decisions and who may take them, rematching, and a bounded number of queries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_uscc
from ipledge.registry.services import enterprise_create
from ipledge.screening.choices import ImportStatus, MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord
from ipledge.screening.selectors_records import in_force_q, records_for_enterprise, review_queue
from ipledge.screening.services.records import (
    credit_import,
    record_match_confirm,
    record_match_reject,
    records_rematch,
)
from tests.screening.factories_records import (
    ABNORMAL_HEADER,
    PENALTY_HEADER,
    UNREGISTERED_USCC,
    abnormal_rows,
    csv_bytes,
    day,
    penalty_rows,
    run_import,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def _by_key(prefix: str) -> CreditRecord:
    return CreditRecord.objects.get(source_key__startswith=prefix)


def test_import_matches_by_uscc_and_name(world: World) -> None:
    batch = run_import(world, RecordKind.PENALTY, csv_bytes(penalty_rows(world)))
    assert batch.status == ImportStatus.COMMITTED and batch.errors == []
    assert (batch.rows_total, batch.rows_matched, batch.rows_review, batch.rows_unmatched) == (4, 3, 0, 1)
    assert (batch.rows_unchanged, batch.rows_updated) == (0, 0)
    assert batch.imported_by == world.user("ipo_bj") and batch.file_format == "csv" and len(batch.sha256) == 64
    e1 = _by_key("京海市监罚〔2025〕101号")
    assert (e1.match_status, e1.enterprise, e1.region_code) == (MatchStatus.USCC, world.enterprises["e1"], "110108")
    assert e1.expires_on == day("2028-03-05") and e1.counts_on(day("2026-01-01"))
    e1b = _by_key("京海市监罚〔2025〕102号")
    assert (e1b.match_status, e1b.enterprise) == (MatchStatus.EXACT_NAME, world.enterprises["e1b"])
    assert e1b.match_score == Decimal("100.00") and e1b.batch == batch
    e2 = _by_key("宁江市监罚〔2025〕103号")
    assert (e2.match_status, e2.region_code) == (MatchStatus.USCC, "320115")
    stranger = _by_key("京朝市监罚〔2025〕104号")
    # A USCC the platform does not know: unmatched (never name-matched), its region read from the USCC.
    assert (stranger.match_status, stranger.enterprise, stranger.region_code) == (MatchStatus.UNMATCHED, None, "110105")
    event = AuditEvent.objects.get(action="credit_import.commit")
    assert event.object_id == str(batch.pk) and event.changes["extra"]["created"] == 4
    assert event.actor == world.user("ipo_bj")
    assert CreditRecord.history.count() == 4  # row history written in bulk too


def test_bad_file_is_rejected_whole(world: World) -> None:
    rows = penalty_rows(world)
    rows[2][5] = "2025-02-30"
    rows[3][1] = "91320115000020010X"
    rows.append(rows[1])
    batch = run_import(world, RecordKind.PENALTY, csv_bytes(rows))
    assert batch.status == ImportStatus.REJECTED
    assert [(e["row"], e["field"], e["rule"]) for e in batch.errors] == [
        (3, "作出行政处罚决定日期", "date"),
        (4, "统一社会信用代码", "checksum"),
        (6, "行政处罚决定书文号", "duplicate"),
    ]
    assert all(e["message"] and e["message_en"] for e in batch.errors)
    assert batch.rows_total == 5 and batch.rows_matched == 0
    assert not CreditRecord.objects.exists()
    assert AuditEvent.objects.filter(action="credit_import.reject", object_id=str(batch.pk)).exists()


def test_reimport_is_idempotent(world: World) -> None:
    content = csv_bytes(penalty_rows(world))
    first = run_import(world, RecordKind.PENALTY, content)
    stored = {r.pk: r.updated_at for r in CreditRecord.objects.all()}
    again = run_import(world, RecordKind.PENALTY, content, file_name="again.csv")
    assert again.status == ImportStatus.COMMITTED
    assert (again.rows_total, again.rows_unchanged, again.rows_updated) == (4, 4, 0)
    assert (again.rows_matched, again.rows_unmatched) == (3, 1)
    assert {r.pk: r.updated_at for r in CreditRecord.objects.all()} == stored
    assert set(CreditRecord.objects.values_list("batch", flat=True)) == {first.pk}
    assert CreditRecord.history.count() == 4


def test_repaired_record_is_updated_and_stops_counting(world: World) -> None:
    run_import(world, RecordKind.ABNORMAL, csv_bytes(abnormal_rows(world)))
    (record,) = CreditRecord.objects.all()
    assert record.removed_on is None and record.counts_on(day("2025-09-01"))
    batch = run_import(world, RecordKind.ABNORMAL, csv_bytes(abnormal_rows(world, removed="2025-08-15")))
    assert (batch.rows_updated, batch.rows_unchanged) == (1, 0)
    record.refresh_from_db()
    assert record.removed_on == day("2025-08-15") and record.match_status == MatchStatus.USCC
    assert not record.counts_on(day("2025-09-01")) and record.counts_on(day("2025-08-14"))
    in_force = CreditRecord.objects.filter(in_force_q(day("2025-09-01")))
    assert not in_force.exists()
    assert CreditRecord.objects.filter(in_force_q(day("2025-08-01"))).count() == 1
    change = AuditEvent.objects.get(action="credit_import.commit", object_id=str(batch.pk)).changes["extra"]
    assert change["updated"] == 1
    assert change["changes"][0]["fields"]["removed_on"] == [None, "2025-08-15"]
    assert record.history.count() == 2


def test_name_paths_fuzzy_review_and_unmatched(world: World) -> None:
    long_name = "北京中关村高新技术产业开发区海淀园智能传感与精密测量仪器研究院有限公司"
    long_firm = enterprise_create(
        uscc=make_uscc(region_code="110108", serial=3001), name=long_name, industry_section="M", acting_user=None
    )
    twin = enterprise_create(
        uscc=make_uscc(region_code="110108", serial=3002),
        name="北京智芯科技股份有限公司",
        industry_section="I",
        acting_user=None,
    )
    rows = [
        ABNORMAL_HEADER,
        [long_name.replace("测量", "测最"), "", "住所无法联系", "2025-05-01", "海淀分局", ""],
        ["北京智芯科技有限公司", "", "未公示年报", "2025-05-02", "海淀分局", ""],
        ["上海东方明珠电视塔有限公司", "", "未公示年报", "2025-05-03", "浦东分局", ""],
        ["北京智芯科技有限公司上海分公司", "", "未公示年报", "2025-05-04", "海淀分局", ""],
    ]
    batch = run_import(world, RecordKind.ABNORMAL, csv_bytes(rows))
    assert (batch.rows_matched, batch.rows_review, batch.rows_unmatched) == (1, 1, 2)
    fuzzy = CreditRecord.objects.get(listed_on=day("2025-05-01"))
    assert (fuzzy.match_status, fuzzy.enterprise) == (MatchStatus.FUZZY, long_firm)
    assert fuzzy.match_score is not None and fuzzy.match_score >= Decimal("96") and fuzzy.region_code == "110108"
    twins = CreditRecord.objects.get(listed_on=day("2025-05-02"))
    assert twins.match_status == MatchStatus.PENDING and twins.enterprise is None and twins.region_code == ""
    assert {c["id"] for c in twins.candidates} == {world.enterprises["e1"].pk, twin.pk}
    assert CreditRecord.objects.get(listed_on=day("2025-05-03")).match_status == MatchStatus.UNMATCHED
    branch = CreditRecord.objects.get(listed_on=day("2025-05-04"))
    assert branch.enterprise is None and branch.match_status == MatchStatus.UNMATCHED  # not its parent's record
    queue = list(review_queue(user=world.user("ipo_bj")))
    assert queue == [twins]
    assert list(review_queue(user=world.user("ipo_js"))) == []


def _pending(world: World) -> CreditRecord:
    enterprise_create(
        uscc=make_uscc(region_code="110108", serial=3002),
        name="北京智芯科技股份有限公司",
        industry_section="I",
        acting_user=None,
    )
    rows = [ABNORMAL_HEADER, ["北京智芯科技有限公司", "", "未公示年报", "2025-05-02", "海淀分局", ""]]
    run_import(world, RecordKind.ABNORMAL, csv_bytes(rows))
    record = CreditRecord.objects.get()
    assert record.match_status == MatchStatus.PENDING
    return record


def test_confirm_and_reject(world: World) -> None:
    record = _pending(world)
    e1 = world.enterprises["e1"]
    officer = world.user("ipo_bj")
    confirmed = record_match_confirm(record=record, enterprise=e1, acting_user=officer)
    assert (confirmed.match_status, confirmed.enterprise, confirmed.region_code) == (
        MatchStatus.CONFIRMED,
        e1,
        "110108",
    )
    assert confirmed.match_score == Decimal("100.00") and confirmed.reviewed_by == officer
    assert confirmed.reviewed_at is not None
    assert list(records_for_enterprise(user=world.user("park1"), enterprise=e1)) == [confirmed]
    assert list(records_for_enterprise(user=world.user("ent1"), enterprise=e1)) == [confirmed]
    with pytest.raises(ValidationError) as exc:
        record_match_confirm(record=confirmed, enterprise=e1, acting_user=officer)
    assert exc.value.error_dict["match_status"][0].code == "invalid_state"
    event = AuditEvent.objects.get(action="credit_record.confirm_match")
    assert event.changes["fields"]["match_status"] == {"old": "pending", "new": "confirmed"}

    rejected = record_match_reject(record=confirmed, acting_user=officer)
    assert (rejected.match_status, rejected.enterprise, rejected.match_score) == (MatchStatus.UNMATCHED, None, None)
    assert AuditEvent.objects.filter(action="credit_record.reject_match").count() == 1
    # A rejected record is not matched again to the enterprises it was rejected for.
    counts = records_rematch(acting_user=officer)
    assert counts["checked"] == 1 and counts["changed"] == 0
    rejected.refresh_from_db()
    assert rejected.match_status == MatchStatus.UNMATCHED
    # …but a person may still confirm it by hand.
    again = record_match_confirm(record=rejected, enterprise=e1, acting_user=officer)
    assert again.match_status == MatchStatus.CONFIRMED


def test_who_may_review(world: World) -> None:
    record = _pending(world)
    e1 = world.enterprises["e1"]
    for user in (
        world.user("ipo_js"),  # another province's office
        world.user("ipo_bj", Role.REVIEWER),  # a role without "change"
        world.user("ipo_bj", Role.VIEWER),
        world.user("bank1"),
        world.user("park1"),
    ):
        with pytest.raises(PermissionDenied):
            record_match_confirm(record=record, enterprise=e1, acting_user=user)
        with pytest.raises(PermissionDenied):
            record_match_reject(record=record, acting_user=user)
    # The office's administrator may; an enterprise outside the reviewer's view may not be chosen.
    with pytest.raises(ValidationError) as exc:
        record_match_confirm(record=record, enterprise=world.enterprises["e2"], acting_user=world.user("ipo_bj"))
    assert exc.value.error_dict["enterprise"][0].code == "not_found"
    done = record_match_confirm(record=record, enterprise=e1, acting_user=world.user("ipo_bj", Role.ADMIN))
    assert done.match_status == MatchStatus.CONFIRMED


def test_confirm_refuses_another_uscc_and_reject_refuses_uscc_matches(world: World) -> None:
    run_import(world, RecordKind.PENALTY, csv_bytes(penalty_rows(world)))
    stranger = _by_key("京朝市监罚〔2025〕104号")
    with pytest.raises(ValidationError) as exc:
        record_match_confirm(record=stranger, enterprise=world.enterprises["e1"], acting_user=world.user("ipo_bj"))
    assert exc.value.error_dict["enterprise"][0].code == "uscc_mismatch"
    by_uscc = _by_key("京海市监罚〔2025〕101号")
    with pytest.raises(ValidationError) as exc:
        record_match_reject(record=by_uscc, acting_user=world.user("ipo_bj"))
    assert exc.value.error_dict["match_status"][0].code == "uscc_match"
    by_name = _by_key("京海市监罚〔2025〕102号")
    assert record_match_reject(record=by_name, acting_user=world.user("ipo_bj")).match_status == MatchStatus.UNMATCHED


def test_rematch_after_registration(world: World) -> None:
    run_import(world, RecordKind.PENALTY, csv_bytes(penalty_rows(world)))
    stranger = _by_key("京朝市监罚〔2025〕104号")
    firm = enterprise_create(
        uscc=UNREGISTERED_USCC, name="北京朝阳某贸易有限公司", industry_section="F", acting_user=None
    )
    with pytest.raises(PermissionDenied):
        records_rematch(acting_user=world.user("bank1"))
    assert records_rematch(acting_user=world.user("ipo_js"))["checked"] == 0  # not its records
    counts = records_rematch()
    assert counts == {"checked": 1, "changed": 1, "matched": 1, "pending": 0, "unmatched": 0}
    stranger.refresh_from_db()
    assert (stranger.match_status, stranger.enterprise) == (MatchStatus.USCC, firm)
    assert AuditEvent.objects.filter(action="credit_record.rematch").count() == 1


def test_who_may_import(world: World) -> None:
    content = csv_bytes(penalty_rows(world))
    for org, user in (("ipo_bj", "bank1"), ("ipo_bj", "park1"), ("ipo_bj", "ipo_js"), ("ipo_js", "ipo_nj")):
        with pytest.raises(PermissionDenied):
            run_import(world, RecordKind.PENALTY, content, org=org, user=user)
    with pytest.raises(PermissionDenied):
        credit_import(
            organisation=world.orgs["ipo_bj"],
            kind=RecordKind.PENALTY,
            file_name="p.csv",
            content=content,
            acting_user=world.user("ipo_bj", Role.REVIEWER),
        )
    with pytest.raises(ValidationError) as exc:
        run_import(world, RecordKind.PENALTY, content, org="bank1", user=None)
    assert exc.value.error_dict["organisation"][0].code == "not_ip_office"
    with pytest.raises(ValidationError):
        run_import(world, "bogus", content)
    # The province imports for a city office below it; the system (command line) for any office.
    assert run_import(world, RecordKind.PENALTY, content, org="ipo_nj", user="ipo_js").status == "committed"
    assert not CreditImport.objects.restrict(world.user("ipo_bj")).exists()
    assert CreditImport.objects.restrict(world.user("ipo_js")).count() == 1
    assert CreditImport.objects.restrict(world.user("bank1")).count() == 0
    assert CreditRecord.objects.restrict(world.user("ipo_nj")).count() == 4


def test_tax_rating_import(world: World) -> None:
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    rows = [
        ["纳税人名称", "纳税人识别号", "纳税信用级别", "评价年度"],
        [e1.name, e1.uscc, "A", "2024"],
        [e2.name, e2.uscc, "D", "2024"],
    ]
    batch = run_import(world, RecordKind.TAX_RATING, csv_bytes(rows))
    assert batch.rows_matched == 2
    d = CreditRecord.objects.get(tax_rating="D")
    assert (d.enterprise, d.rating_year, d.listed_on) == (e2, 2024, datetime.date(2025, 4, 30))


def test_import_queries_stay_bounded(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    e1 = world.enterprises["e1"]
    rows = [PENALTY_HEADER]
    for i in range(200):
        if i % 2:
            rows.append([e1.name, e1.uscc, f"京海市监罚〔2025〕{i}号", "虚假宣传", "海淀分局", "2025-03-05"])
        else:
            rows.append(
                [f"北京测试企业{i}有限公司", "", f"京海市监罚〔2025〕{i}号", "虚假宣传", "海淀分局", "2025-03-05"]
            )
    content = csv_bytes(rows)
    user = world.user("ipo_bj")
    with django_assert_max_num_queries(20):
        batch = run_import(world, RecordKind.PENALTY, content)
    assert batch.rows_total == 200 and CreditRecord.objects.count() == 200
    rows[1][5] = "2025-03-06"  # one listing date changed: an update
    with django_assert_max_num_queries(25):
        again = run_import(world, RecordKind.PENALTY, csv_bytes(rows))
    assert (again.rows_updated, again.rows_unchanged) == (1, 199)
    assert user.pk
