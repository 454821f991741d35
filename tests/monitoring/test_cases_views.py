"""Typical-case pages: the library and the selection list only what the user may see, a case outside the scope
answers 404, nomination and the whole review run through the forms, and out-of-scope actions change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.monitoring.choices import CaseStatus
from ipledge.monitoring.models import TypicalCase
from tests.monitoring.factories_cases import TITLES, add_cases, case

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _listed(response: Any) -> set[str]:
    return {row.title for row in response.context["table"].data.data}


def test_library_lists_only_visible_cases_and_filters(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    url = reverse("monitoring:cases")
    assert _listed(client_for(world.user("bank1_br2")).get(url)) == {TITLES["js_published"]}
    assert TITLES["bj_rejected"] in _listed(client_for(world.user("bank1")).get(url))  # its sub-branch nominated it
    beijing = client_for(world.user("ipo_bj", Role.VIEWER))
    assert _listed(beijing.get(url)) == {TITLES["bj_nominated"], TITLES["bj_rejected"], TITLES["js_published"]}
    assert _listed(beijing.get(url, {"status": "rejected"})) == {TITLES["bj_rejected"]}
    assert _listed(beijing.get(url, {"region": "320000"})) == {TITLES["js_published"]}
    assert _listed(client_for(world.user("park1")).get(url)) == {TITLES["bj_nominated"], TITLES["js_published"]}
    page = beijing.get(url)
    assert page.status_code == 200 and "典型案例库" in page.content.decode()


def test_case_detail_scope(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    bank = client_for(world.user("bank1"))
    assert bank.get(reverse("monitoring:case_detail", args=[case("bj_nominated").pk])).status_code == 404
    published = bank.get(reverse("monitoring:case_detail", args=[case("js_published").pk]))
    assert published.status_code == 200 and TITLES["js_published"] in published.content.decode()
    assert 'class="case-score' not in published.content.decode()
    # The review note and history stay with the nominator (bank2) and the officials of the region.
    assert "review-note" not in published.content.decode() and "history-panel" not in published.content.decode()
    nominator = client_for(world.user("bank2", Role.VIEWER)).get(
        reverse("monitoring:case_detail", args=[case("js_published").pk])
    )
    assert "做法可复制" in nominator.content.decode() and "history-panel" in nominator.content.decode()


def test_selection_ranks_by_score(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    response = client_for(world.user("cnipa", Role.VIEWER)).get(reverse("monitoring:case_selection"), {"year": 2025})
    assert response.status_code == 200
    table = response.context["table"]
    assert [row.title for row in table.data.data] == [
        TITLES["js_published"],
        TITLES["js_review"],
        TITLES["bj_rejected"],
    ]
    assert [table.ranks[row.pk] for row in table.data.data] == [1, 2, 3]


def test_create_page_and_nomination(world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("monitoring:case_create")
    assert client_for(world.user("ent1")).get(url).status_code == 404
    assert client_for(world.user("park1", Role.VIEWER)).get(url).status_code == 404
    park = client_for(world.user("park1"))
    assert park.get(url).status_code == 200
    form = {
        "year": "2025",
        "title": "海淀园知识产权金融服务站",
        "category": "park_service",
        "summary": "园区设立服务站",
        "practice": "一站式受理",
        "results": "服务企业120家",
        "figures": "服务企业数: 120\n融资额（万元）：8000",
        "park": str(world.parks["p1"].pk),
    }
    bad = park.post(url, {**form, "figures": "没有冒号的一行"})
    assert bad.status_code == 200 and not TypicalCase.objects.exists()
    outside = park.post(url, {**form, "enterprise": world.enterprises["e2"].uscc})  # a Jiangsu enterprise
    assert outside.status_code == 200 and "enterprise" in outside.context["form"].errors
    form["enterprise"] = world.enterprises["e1"].uscc
    response = park.post(url, form)
    created = TypicalCase.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("monitoring:case_detail", args=[created.pk])
    assert created.figures == {"服务企业数": "120", "融资额（万元）": "8000"}
    assert created.nominated_by == world.user("park1") and created.status == CaseStatus.NOMINATED
    assert created.enterprise == world.enterprises["e1"]


def test_review_through_the_pages(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    target = case("bj_nominated")
    reviewer = client_for(world.user("ipo_bj", Role.REVIEWER))
    detail = reviewer.get(reverse("monitoring:case_detail", args=[target.pk])).content.decode()
    assert "case-review-open" in detail
    # Another province's reviewer and the bank cannot act on it: 404, nothing changes.
    for outsider in (world.user("ipo_js", Role.REVIEWER), world.user("bank1", Role.ADMIN)):
        assert client_for(outsider).post(reverse("monitoring:case_review_open", args=[target.pk])).status_code == 404
    assert case("bj_nominated").status == CaseStatus.NOMINATED
    reviewer.post(reverse("monitoring:case_review_open", args=[target.pk]))
    bad = reviewer.post(reverse("monitoring:case_review", args=[target.pk]), {"review-score": "120", "review-note": ""})
    assert bad.status_code == 400
    reviewer.post(reverse("monitoring:case_review", args=[target.pk]), {"review-score": "81", "review-note": "可推广"})
    reviewer.post(reverse("monitoring:case_decide", args=[target.pk]), {"decide-decision": "select"})
    reviewer.post(reverse("monitoring:case_publish", args=[target.pk]))
    done = case("bj_nominated")
    assert (done.status, done.review_score, done.review_note) == (CaseStatus.PUBLISHED, 81, "可推广")


def test_withdraw_and_edit_pages(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    target = case("bj_nominated")
    park = client_for(world.user("park1"))
    edit_url = reverse("monitoring:case_edit", args=[target.pk])
    assert park.get(edit_url).status_code == 200
    assert client_for(world.user("park2")).get(edit_url).status_code == 404
    form = {
        "year": "2025",
        "title": "海淀园专利池质押融资（修订）",
        "category": "product_innovation",
        "summary": target.summary,
        "practice": target.practice,
        "results": target.results,
        "park": str(world.parks["p1"].pk),
    }
    assert park.post(edit_url, form).status_code == 302
    assert case_title(target.pk) == "海淀园专利池质押融资（修订）"
    assert (
        client_for(world.user("ipo_bj")).post(reverse("monitoring:case_withdraw", args=[target.pk])).status_code == 403
    )
    park.post(reverse("monitoring:case_withdraw", args=[target.pk]), {"withdraw-note": "重新准备材料"})
    assert TypicalCase.objects.get(pk=target.pk).status == CaseStatus.WITHDRAWN
    locked = park.post(edit_url, form)
    assert locked.status_code == 400 and "case-not-editable" in locked.content.decode()


def case_title(pk: int) -> str:
    return TypicalCase.objects.get(pk=pk).title
