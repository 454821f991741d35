"""Policies through the bulk import: drafts created by the policy service, upserted by (issuing body, number)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ipledge.integration.services.bulk import bulk_export, bulk_import, may_import
from ipledge.portal.models import Policy
from tests.world import World

pytestmark = pytest.mark.django_db

HEADER = "政策名称,发文机关,文号,政策类型,地区代码,发布日期,生效日期,正文"


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("p.csv", ("\ufeff" + text).encode("utf-8"))


def test_policies_import_create_update_and_export_back(world: World) -> None:
    user = world.user("ipo_bj")
    assert may_import(user, "policies") and not may_import(world.user("bank1"), "policies")
    row = "质押融资贴息办法,北京市知识产权局,京知发〔2026〕1号,贴息,110000,2026-01-05,2026-02-01,正文一"
    outcome, _ = bulk_import(actor=user, entity_key="policies", upload=upload(f"{HEADER}\n{row}\n"))
    assert outcome.errors == [] and outcome.created == 1
    policy = Policy.objects.get(document_number="京知发〔2026〕1号")
    assert policy.status == "draft" and policy.owner_org == world.orgs["ipo_bj"]

    changed = row.replace("正文一", "正文二")
    outcome, _ = bulk_import(actor=user, entity_key="policies", upload=upload(f"{HEADER}\n{changed}\n"))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 0)
    policy.refresh_from_db()
    assert policy.body == "正文二"

    export, _ = bulk_export(actor=user, entity_key="policies", file_format="csv")
    outcome, _ = bulk_import(actor=user, entity_key="policies", upload=SimpleUploadedFile("x.csv", export.content))
    assert outcome.errors == [] and outcome.unchanged == outcome.rows >= 1
