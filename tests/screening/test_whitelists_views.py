"""Whitelist pages (授信白名单) driven through the forms: the province writes and publishes the baseline (exclusions as
checkboxes with dates and parameters), the park writes criteria that loosen it (shown side by side, refused at
publishing) then tighten it, screens its park, overrides, submits; the province approves from its queue; the
enterprise applies and sees why it is in. And who may not: Jiangsu's office gets 404, the park cannot approve."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import Region
from ipledge.screening.choices import ApplicationStatus, CriteriaLevel, CriteriaStatus, EntrySource, VersionStatus
from ipledge.screening.models import Criteria, WhitelistApplication, WhitelistEntry, WhitelistVersion
from tests.screening.factories import PERIOD, add_scorecard
from tests.screening.factories_whitelists import AS_OF, TODAY, screening_world
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(world: World, org: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(org, role))
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


CRITERIA_FORM = {
    "name": "北京市2026年度授信白名单基准标准",
    "period": PERIOD,
    "min_score": "50",
    "min_invention_patents": "0",
    "dishonest_on": "on",
    "serious_violation_on": "on",
    "tax_rating_on": "on",
    "tax_rating_ratings": ["D"],
    "penalties_max_count": "2",
    "penalties_within_days": "1095",
    "note": "",
}


def test_criteria_pages(world: World) -> None:
    card = add_scorecard(world)
    province = client_for(world, "ipo_bj", Role.ADMIN)
    page = province.get(reverse("screening:criteria_create"))
    assert page.status_code == 200 and "硬性排除条件" in text(page)
    assert 'name="tax_rating_ratings"' in text(page) and 'name="penalties_from"' in text(page)
    # A bad date range and a rating rule without ratings are refused next to their fields.
    bad = {
        **CRITERIA_FORM,
        "region": Region.objects.get(code="110000").pk,
        "scorecard": card.pk,
        "abnormal_on": "on",
        "abnormal_from": "2026-06-01",
        "abnormal_to": "2026-01-01",
        "tax_rating_ratings": [],
    }
    response = province.post(reverse("screening:criteria_create"), bad)
    assert response.status_code == 200
    assert "失效日不能早于生效日" in text(response) and "请至少选择一个等级" in text(response)
    assert not Criteria.objects.exists()
    good = {**bad, "abnormal_to": "", "tax_rating_ratings": ["D"]}
    response = province.post(reverse("screening:criteria_create"), good)
    baseline = Criteria.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "screening:criteria_detail", args=[baseline.pk]
    )
    assert (baseline.level, baseline.status, baseline.owner) == (
        CriteriaLevel.BASELINE,
        CriteriaStatus.DRAFT,
        world.orgs["ipo_bj"],
    )
    assert [r["rule"] for r in baseline.exclusions] == ["dishonest", "serious_violation", "abnormal", "tax_rating"]
    assert baseline.exclusions[2]["effective_from"] == "2026-06-01"
    detail = province.get(reverse("screening:criteria_detail", args=[baseline.pk]))
    assert "经营异常名录，2026-06-01 至 长期" in text(detail)
    # The edit form comes back filled in; drafts only.
    edit = province.get(reverse("screening:criteria_edit", args=[baseline.pk]))
    assert edit.status_code == 200 and edit.context["form"].initial["tax_rating_ratings"] == ["D"]
    response = province.post(reverse("screening:criteria_publish", args=[baseline.pk]))
    assert response.status_code == 302
    baseline.refresh_from_db()
    assert baseline.status == CriteriaStatus.PUBLISHED
    edit = province.get(reverse("screening:criteria_edit", args=[baseline.pk]))
    assert edit.status_code == 200 and "只有草稿状态的标准可以修改" in text(edit)

    # The park writes criteria that loosen the minimum and drop a rule: shown side by side, refused at publishing.
    park = client_for(world, "park1", Role.ADMIN)
    page = park.get(reverse("screening:criteria_create"))
    assert page.status_code == 200 and "园区细化标准依据" in text(page)
    loose = {
        **CRITERIA_FORM,
        "park": world.parks["p1"].pk,
        "min_score": "45",
        "name": "海淀园细化标准",
        "penalties_on": "on",
    }
    del loose["serious_violation_on"]
    response = park.post(reverse("screening:criteria_create"), loose)
    refinement = Criteria.objects.get(level=CriteriaLevel.PARK)
    assert response.status_code == 302 and refinement.baseline == baseline and refinement.scorecard == card
    detail = park.get(reverse("screening:criteria_detail", args=[refinement.pk]))
    verdicts = {row["key"]: row["verdict"] for row in detail.context["comparison"]}
    assert verdicts["min_score"] == "loosens" and verdicts["exclusion:serious_violation"] == "loosens"
    assert verdicts["exclusion:penalties"] == "tightens" and verdicts["exclusion:dishonest"] == "same"
    response = park.post(reverse("screening:criteria_publish", args=[refinement.pk]), follow=True)
    messages = flashed(response)
    assert any("最低评分 45 低于基准标准的 50" in m and "不能放宽" in m for m in messages), messages
    assert any("缺少基准标准的硬性排除条件“严重违法失信名单”" in m and "从严" in m for m in messages), messages
    refinement.refresh_from_db()
    assert refinement.status == CriteriaStatus.DRAFT
    # Tightened through the edit form, it publishes.
    tight = {
        **loose,
        "min_score": "65",
        "serious_violation_on": "on",
        "abnormal_on": "on",
        "abnormal_from": "2026-01-01",
    }
    response = park.post(reverse("screening:criteria_edit", args=[refinement.pk]), tight)
    assert response.status_code == 302
    response = park.post(reverse("screening:criteria_publish", args=[refinement.pk]), follow=True)
    refinement.refresh_from_db()
    assert refinement.status == CriteriaStatus.PUBLISHED, flashed(response)
    assert refinement.status == CriteriaStatus.PUBLISHED and refinement.min_score == 65

    # Everyone reads published criteria; only IP offices and parks write them.
    listing = client_for(world, "bank1", Role.VIEWER).get(reverse("screening:criteria_list"))
    assert {c.pk for c in listing.context["table"].data.data} == {baseline.pk, refinement.pk}
    assert client_for(world, "bank1").get(reverse("screening:criteria_create")).status_code == 404
    assert client_for(world, "ipo_js").get(reverse("screening:criteria_edit", args=[baseline.pk])).status_code == 404
    assert (
        client_for(world, "ipo_js").post(reverse("screening:criteria_publish", args=[refinement.pk])).status_code == 404
    )


def test_screen_override_submit_approve_through_the_pages(world: World) -> None:
    sw = screening_world(world)
    park = client_for(world, "park1")
    reviewer = client_for(world, "ipo_bj", Role.REVIEWER)
    enterprise = client_for(world, "ent1")

    # The enterprise applies to its park.
    page = enterprise.get(reverse("screening:application_create"))
    assert page.status_code == 200 and list(page.context["form"].fields["park"].queryset) == [world.parks["p1"]]
    with as_of(TODAY):
        response = enterprise.post(
            reverse("screening:application_create"), {"park": world.parks["p1"].pk, "period": PERIOD, "statement": "x"}
        )
    assert response.status_code == 302
    application = WhitelistApplication.objects.get()
    mine = enterprise.get(reverse("screening:my_status"))
    assert [row.state for row in mine.context["rows"]] == ["pending"]
    assert mine.context["entries"].count() == 0

    # The park screens itself.
    page = park.get(reverse("screening:screen_park"))
    assert page.status_code == 200 and page.context["form"].fields["park"].initial == world.parks["p1"]
    response = park.post(
        reverse("screening:screen_park"), {"park": world.parks["p1"].pk, "period": "2030", "as_of": ""}
    )
    assert response.status_code == 200 and "没有覆盖" in text(response)
    response = park.post(
        reverse("screening:screen_park"), {"park": world.parks["p1"].pk, "period": PERIOD, "as_of": AS_OF.isoformat()}
    )
    version = WhitelistVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "screening:version_detail", args=[version.pk]
    )
    page = park.get(response["Location"])
    assert page.status_code == 200
    rows = {row["entry"].enterprise_id: row for row in page.context["rows"]}
    assert len(rows) == 7 and page.context["can_submit"]
    assert [r.code for r in rows[sw.ents["dishonest"].pk]["why"]][0] == "exclusion:dishonest"
    assert "exclusion:dishonest" in text(page) or "dishonest" in text(page)
    assert [p["name"] for p in rows[sw.ents["e1"].pk]["points"]] == ["invention_patents", "is_high_tech"]
    assert rows[sw.ents["e1"].pk]["points"][1]["points"] == 20.0
    assert rows[sw.ents["e1"].pk]["entry"].source == EntrySource.APPLIED
    assert rows[sw.ents["e1b"].pk]["can_add"] is False and rows[sw.ents["e1"].pk]["can_remove"] is True
    filtered = park.get(reverse("screening:version_detail", args=[version.pk]), {"included": "in"})
    assert {row["entry"].included for row in filtered.context["rows"]} == {True}

    # Override: take "repaired" out with a note; a note is required.
    entry = version.entries.get(enterprise=sw.ents["repaired"])
    response = park.post(
        reverse("screening:entry_override", args=[entry.pk]), {"include": "0", "note": ""}, follow=True
    )
    assert any("必填" in m or "required" in m.lower() for m in flashed(response)), flashed(response)
    response = park.post(reverse("screening:entry_override", args=[entry.pk]), {"include": "0", "note": "拟迁出"})
    assert response.status_code == 302 and response["Location"].endswith(f"#entry-{entry.pk}")
    entry.refresh_from_db()
    assert not entry.included and entry.park_note == "拟迁出"
    # Putting in one that fails the baseline is refused with the rule.
    bad = version.entries.get(enterprise=sw.ents["dishonest"])
    response = park.post(reverse("screening:entry_override", args=[bad.pk]), {"include": "1", "note": "x"}, follow=True)
    assert any("未通过省级基准标准" in m for m in flashed(response))

    # Submit; the province sees it first in its list and approves; Jiangsu cannot even see it.
    assert park.post(reverse("screening:version_submit", args=[version.pk])).status_code == 302
    listing = reviewer.get(reverse("screening:whitelist_list"))
    assert [v.pk for v in listing.context["queue_table"].data.data] == [version.pk]
    assert text(listing).index("approval-queue") < text(listing).index("whitelist-table")
    js = client_for(world, "ipo_js", Role.REVIEWER)
    assert js.get(reverse("screening:version_detail", args=[version.pk])).status_code == 404
    assert js.post(reverse("screening:version_approve", args=[version.pk])).status_code == 404
    park_admin = client_for(world, "park1", Role.ADMIN)
    assert park_admin.post(reverse("screening:version_approve", args=[version.pk])).status_code == 403
    assert park.post(reverse("screening:version_approve", args=[version.pk])).status_code == 404  # no approving role
    page = reviewer.get(reverse("screening:version_detail", args=[version.pk]))
    assert page.context["can_decide"] and not page.context["can_submit"]
    response = reviewer.post(reverse("screening:version_return", args=[version.pk]), {"return-note": ""})
    assert response.status_code == 200 and response.context["return_form"].errors
    response = reviewer.post(reverse("screening:version_approve", args=[version.pk]), {"approve-note": "同意"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED and version.decided_by == world.user("ipo_bj", Role.REVIEWER)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.INCLUDED

    # The enterprise sees it is in, why, and the points.
    mine = enterprise.get(reverse("screening:my_status"))
    (row,) = mine.context["rows"]
    assert row.state == "in" and [r.code for r in row.reasons] == ["passed"] and row.points
    assert set(mine.context["entries"].values_list("enterprise_id", flat=True)) == {sw.ents["e1"].pk}
    assert "已纳入白名单" in text(mine)
    # Whitelist pages: the park's list and detail; a subscribed bank sees only approved, included entries.
    wl = version.whitelist
    detail = park.get(reverse("screening:whitelist_detail", args=[wl.pk]))
    assert detail.status_code == 200 and detail.context["current"] == version
    assert client_for(world, "park2").get(reverse("screening:whitelist_detail", args=[wl.pk])).status_code == 404
    from ipledge.screening.models import Subscription

    Subscription.objects.create(bank=world.orgs["bank1_sub"], park=world.parks["p1"])
    bank = client_for(world, "bank1_sub", Role.VIEWER)
    page = bank.get(reverse("screening:version_detail", args=[version.pk]))
    assert page.status_code == 200 and {row["entry"].included for row in page.context["rows"]} == {True}
    assert not page.context["can_submit"] and not page.context["can_decide"]

    # Re-screening from the whitelist page makes version 2 with the diff.
    response = park.post(reverse("screening:whitelist_screen", args=[wl.pk]), {"as_of": AS_OF.isoformat()})
    v2 = WhitelistVersion.objects.get(number=2)
    assert response.status_code == 302 and v2.previous == version
    page = park.get(reverse("screening:version_detail", args=[v2.pk]))
    assert [item["enterprise_id"] for item in page.context["diff"]["added"]] == [sw.ents["repaired"].pk]


def test_applications_pages(world: World) -> None:
    screening_world(world)
    enterprise = client_for(world, "ent1")
    with as_of(TODAY):
        enterprise.post(reverse("screening:application_create"), {"park": world.parks["p1"].pk, "period": PERIOD})
        again = enterprise.post(
            reverse("screening:application_create"), {"park": world.parks["p1"].pk, "period": PERIOD}
        )
    assert again.status_code == 200 and "本期已向该园区提交过申请" in text(again)
    application = WhitelistApplication.objects.get()
    listing = enterprise.get(reverse("screening:application_list"))
    assert [a.pk for a in listing.context["table"].data.data] == [application.pk]
    assert "application-withdraw" in text(listing)
    park_list = client_for(world, "park1", Role.VIEWER).get(reverse("screening:application_list"))
    assert [a.pk for a in park_list.context["table"].data.data] == [application.pk]
    assert not client_for(world, "park2").get(reverse("screening:application_list")).context["table"].data.data.exists()
    assert (
        client_for(world, "ent2").post(reverse("screening:application_withdraw", args=[application.pk])).status_code
        == 404
    )
    assert enterprise.post(reverse("screening:application_withdraw", args=[application.pk])).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert client_for(world, "park1").get(reverse("screening:application_create")).status_code == 404
    assert client_for(world, "park1").get(reverse("screening:my_status")).status_code == 404
    assert client_for(world, "ipo_bj").get(reverse("screening:screen_park")).status_code == 404


def test_cli_screen(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from django.core.management.base import CommandError

    sw = screening_world(world)
    call_command(
        "screening",
        "screen",
        "--park",
        str(world.parks["p1"].pk),
        "--period",
        PERIOD,
        "--as-of",
        "2026-03-01",
        "--json",
    )
    counts = json.loads(capsys.readouterr().out.strip())
    assert counts["candidates"] == 7 and counts["included"] == 3 and counts["excluded"] == 4
    assert counts["version"] == 1 and counts["added"] == 3 and counts["as_of"] == "2026-03-01"
    version = WhitelistVersion.objects.get()
    assert version.prepared_by is None and version.entries.filter(enterprise=sw.ents["e1"], included=True).exists()
    call_command(
        "screening", "screen", "--park", str(world.parks["p1"].pk), "--period", PERIOD, "--as-of", "2026-03-01"
    )
    assert "7 screened, 3 included" in capsys.readouterr().out
    with pytest.raises(CommandError, match="没有覆盖"):
        call_command("screening", "screen", "--park", str(world.parks["p1"].pk), "--period", "2031")
    with pytest.raises(CommandError, match="--park"):
        call_command("screening", "screen", "--park", "999999", "--period", PERIOD)
    with pytest.raises(CommandError, match="--as-of"):
        call_command("screening", "screen", "--park", str(world.parks["p1"].pk), "--period", PERIOD, "--as-of", "x")
    assert WhitelistEntry.objects.count() == 7
