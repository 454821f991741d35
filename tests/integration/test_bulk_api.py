"""Bulk API: the entity list, a file export, an import answering counts or the row errors, the transfers list."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.services import api_key_create
from ipledge.integration.models import BulkTransfer
from ipledge.monitoring.models import EnterpriseFinancials
from tests.world import World

pytestmark = pytest.mark.django_db

BASE = "/api/v1/integration/bulk"
FIN_HEADER = "统一社会信用代码,年度,研发投入（元）,营业收入（元）,从业人员,有效专利数,已实施专利数"


def key_client(world: World, org: str) -> Client:
    _key, secret = api_key_create(
        organisation=world.orgs[org], name="bulk", role=Role.OPERATOR, acting_user=world.user(org, Role.ADMIN)
    )
    return Client(HTTP_X_API_KEY=secret)


def test_bulk_api_flow(world: World) -> None:
    office = key_client(world, "ipo_bj")
    entities = office.get(f"{BASE}/entities").json()
    by_key = {e["key"]: e for e in entities}
    assert by_key["enterprises"]["importable"] and not by_key["loans"]["importable"]
    assert by_key["loans"]["columns"][0]["label"] == "贷款编号"

    response = office.get(f"{BASE}/enterprises/export", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert world.enterprises["e1"].uscc in {r[0] for r in rows[1:]}
    assert office.get(f"{BASE}/unknown/export").status_code == 404
    assert office.get(f"{BASE}/loans/export", {"format": "pdf"}).status_code == 422

    e1 = world.enterprises["e1"]
    bad = SimpleUploadedFile("f.csv", f"\ufeff{FIN_HEADER}\n{e1.uscc},2024,1.234,,,,\n".encode())
    response = office.post(f"{BASE}/financials/import", {"file": bad})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "rows.2.研发投入（元）" and error["rule"] == "decimal_places"
    assert EnterpriseFinancials.objects.count() == 0

    good = SimpleUploadedFile("f.csv", f"\ufeff{FIN_HEADER}\n{e1.uscc},2024,1.23,,,,\n".encode())
    response = office.post(f"{BASE}/financials/import", {"file": good})
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    transfer = BulkTransfer.objects.get(pk=response.json()["transfer_id"])
    assert transfer.created_by is None and transfer.organisation == world.orgs["ipo_bj"]  # an API key: no user FK

    listed = office.get(f"{BASE}/transfers").json()
    assert listed["count"] == 3 and {t["status"] for t in listed["items"]} == {"exported", "rejected", "applied"}
    bank = key_client(world, "bank1")
    assert bank.get(f"{BASE}/transfers").json()["count"] == 0
    refused = bank.post(f"{BASE}/enterprises/import", {"file": SimpleUploadedFile("e.csv", b"a,b\n")})
    assert refused.status_code == 403
