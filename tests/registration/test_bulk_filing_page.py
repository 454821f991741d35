"""The bulk-filing page (集中代办): an agency uploads a whole workbook; a good file creates the filings, a bad one
lists the errors by row, column, value and rule (with a downloadable error workbook) and writes nothing."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_uscc
from ipledge.registration.choices import FilingStatus
from ipledge.registration.forms import BULK_MAX_BYTES
from ipledge.registration.models import PledgeFiling
from tests.registration.test_bulk_filing import _good_rows, _xlsx
from tests.world import add_pledges

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(content: bytes, name: str = "batch.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX)


def test_agency_uploads_a_good_file_and_the_filings_are_created(client, world):
    add_pledges(world)  # annual fees paid; one filing of the agency exists already
    before = set(PledgeFiling.objects.values_list("pk", flat=True))
    client.force_login(world.user("agency"))
    page = client.get(reverse("registration:bulk_filing"))
    assert page.status_code == 200 and reverse("registration:bulk_template").encode() in page.content
    # The navigation offers the page to the agency.
    assert reverse("registration:bulk_filing").encode() in page.content
    rows = _good_rows(world)
    response = client.post(reverse("registration:bulk_filing"), {"file": _upload(_xlsx(rows))})
    assert response.status_code == 200
    created = PledgeFiling.objects.exclude(pk__in=before).order_by("pk")
    assert created.count() == 2
    assert all(f.status == FilingStatus.AWAITING_PLEDGOR and f.filed_by_org == world.orgs["agency"] for f in created)
    html = response.content.decode()
    for filing in created:
        assert reverse("registration:filing_detail", args=[filing.pk]) in html
    assert AuditEvent.objects.filter(action="pledge_filing.bulk").count() == 1


def test_bad_file_shows_the_errors_and_writes_nothing(client, world):
    client.force_login(world.user("agency"))
    rows = _good_rows(world)
    rows[0][0] = make_uscc(region_code="110108", serial=987654)  # valid code, no such enterprise
    rows[1][3] = "1000.005"
    response = client.post(reverse("registration:bulk_filing"), {"file": _upload(_xlsx(rows))})
    assert response.status_code == 200
    assert not PledgeFiling.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="pledge_filing").exists()
    errors = response.context["errors"]
    found = {(e.row, e.column, e.rule) for e in errors}
    assert (2, "出质人统一社会信用代码", "not_found") in found
    assert (3, "被担保债权数额（元）", "decimal_places") in found
    html = response.content.decode()
    assert "decimal_places" in html and "1000.005" in html and "被担保债权数额（元）" in html
    token = response.context["error_token"]
    download = client.get(reverse("registration:bulk_errors", args=[token]))
    assert download.status_code == 200 and download["Content-Type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["行号", "列名", "值", "规则", "说明"]
    assert sheet.max_row == len(errors) + 1
    assert client.get(reverse("registration:bulk_errors", args=["not-the-token"])).status_code == 404


def test_at_most_100_errors_are_listed(client, world):
    client.force_login(world.user("bank1_sub"))
    row = _good_rows(world)[0]
    rows = [[*row[:3], "-1", *row[4:]] for _ in range(120)]
    response = client.post(reverse("registration:bulk_filing"), {"file": _upload(_xlsx(rows))})
    assert response.context["error_count"] >= 120
    assert len(response.context["errors"]) == 100
    assert not PledgeFiling.objects.exists()


def test_wrong_extension_and_oversized_files_are_refused_by_the_form(client, world):
    client.force_login(world.user("agency"))
    wrong = client.post(reverse("registration:bulk_filing"), {"file": _upload(b"x", name="batch.pdf")})
    assert wrong.status_code == 200 and wrong.context["form"].errors["file"][0] == "只支持 .xlsx 或 .csv 文件。"
    big = client.post(reverse("registration:bulk_filing"), {"file": _upload(b"0" * (BULK_MAX_BYTES + 1))})
    assert "file" in big.context["form"].errors and "result" not in big.context
    assert not PledgeFiling.objects.exists()


def test_template_download(client, world):
    client.force_login(world.user("agency"))
    response = client.get(reverse("registration:bulk_template"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert str(sheet["A1"].value).startswith("出质人统一社会信用代码")


@pytest.mark.parametrize(
    ("org", "role"),
    [("park1", Role.OPERATOR), ("ent1", Role.OPERATOR), ("ipo_bj", Role.ADMIN), ("agency", Role.VIEWER)],
)
def test_others_get_404(client, world, org, role):
    client.force_login(world.user(org, role))
    assert client.get(reverse("registration:bulk_filing")).status_code == 404
    assert client.post(reverse("registration:bulk_filing"), {"file": _upload(b"x")}).status_code == 404
    assert client.get(reverse("registration:bulk_template")).status_code == 404
    page = client.get(reverse("registration:public_query"))
    assert reverse("registration:bulk_filing").encode() not in page.content
    assert not PledgeFiling.objects.exists()


def test_page_in_english(client, world):
    client.cookies["django_language"] = "en"
    client.force_login(world.user("agency"))
    rows = _good_rows(world)
    rows[1][3] = "1000.005"
    html = client.post(reverse("registration:bulk_filing"), {"file": _upload(_xlsx(rows))}).content.decode()
    assert "Bulk filing" in html and "Download the bulk-filing template (.xlsx)" in html
    assert "1 error found, nothing was filed" in html
    assert "批量申请" not in html and "校验并提交" not in html
