"""Uploads (ipledge.core.uploads): size and type by content, zip and XML bombs refused before any reader opens the
file, safe names, and every upload point going through it; stored files outside the web root, served only through
permission-checked downloads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import translation

from ipledge.core import uploads
from ipledge.core.uploads import UploadRefused
from tests.api_helpers import API, assert_error, session_client
from tests.world import PDF_BYTES, add_pledges

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
    )
    + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
)


def xlsx_bytes(rows: list[list[object]] | None = None) -> bytes:
    book = openpyxl.Workbook()
    for row in rows or [["企业名称", "统一社会信用代码"], ["甲", "x"]]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("质押合同")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rezip(content: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a ZIP with some entries replaced or added (names written as given, unsanitised)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info)))
        for name, data in (add or {}).items():
            dst.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def rule_of(content: bytes, policy: uploads.Policy = uploads.REGISTRY_IMPORT, filename: str = "f.xlsx") -> str:
    with pytest.raises(UploadRefused) as excinfo:
        uploads.check(content, filename=filename, policy=policy)
    error = excinfo.value
    assert error.field == "file" and error.message_dict["file"]  # a ValidationError naming the field
    assert error.error_dict["file"][0].code == error.rule
    return error.rule


# --------------------------------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("content", "policy", "name", "kind"),
    [
        (PDF_BYTES, uploads.DOCUMENT, "合同.pdf", uploads.PDF),
        (PNG, uploads.DOCUMENT, "id.png", uploads.PNG),
        (JPEG, uploads.DOCUMENT, "id.jpg", uploads.JPEG),
        (JPEG, uploads.DOCUMENT, "scan", uploads.JPEG),  # no extension: the content decides
        ("企业名称,统一社会信用代码\n甲,x\n".encode(), uploads.REGISTRY_IMPORT, "e.csv", uploads.TEXT),
        ("企业名称,统一社会信用代码\n甲,x\n".encode("gb18030"), uploads.REGISTRY_IMPORT, "e.csv", uploads.TEXT),
        (b"\xef\xbb\xbfname\nx\n", uploads.MARKET_IMPORT, "p.csv", uploads.TEXT),
    ],
)
def test_accepted_kinds_are_recognised_by_content(content, policy, name, kind):
    checked = uploads.check(content, filename=name, policy=policy)
    assert checked.kind == kind and checked.size == len(content)
    assert checked.content_type == uploads.CONTENT_TYPES[kind]


def test_office_files_are_told_apart_by_their_content_types():
    assert uploads.check(xlsx_bytes(), filename="x", policy=uploads.REGISTRY_IMPORT).kind == uploads.XLSX
    assert uploads.check(docx_bytes(), filename="x", policy=uploads.DOCUMENT).kind == uploads.DOCX
    # A Word file is not a spreadsheet, whatever its name; a plain ZIP is neither.
    assert rule_of(docx_bytes(), filename="e.csv") == "file_type"
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("a.txt", "x")
    assert rule_of(plain.getvalue(), filename="e.csv") == "file_type"


@pytest.mark.parametrize(
    ("content", "policy", "name", "rule"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00", uploads.DOCUMENT, "contract.pdf", "file_format"),  # an executable renamed
        (b"MZ\x90\x00\x03\x00\x00\x00", uploads.DOCUMENT, "contract", "file_type"),
        (PDF_BYTES, uploads.REGISTRY_IMPORT, "e.csv", "file_type"),  # a PDF is no import file
        (b"name,uscc\n", uploads.REGISTRY_IMPORT, "e.xlsx", "file_format"),  # text named .xlsx
        (b"a,b\x00c\n", uploads.REGISTRY_IMPORT, "e.csv", "file_type"),  # NUL bytes: binary
        ("企业".encode("utf-16"), uploads.REGISTRY_IMPORT, "e.csv", "encoding"),
        (b"\xff\xfe\xfa\xfb\x80\x81", uploads.REGISTRY_IMPORT, "e.csv", "encoding"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16, uploads.REGISTRY_IMPORT, "e.xls", "file_format"),
        (b"", uploads.DOCUMENT, "a.pdf", "empty_file"),
        (b"PK\x03\x04garbage", uploads.REGISTRY_IMPORT, "e.xlsx", "file_format"),
    ],
)
def test_wrong_types_are_refused_with_their_rule(content, policy, name, rule):
    assert rule_of(content, policy, name) == rule


def test_size_limit_per_use():
    big = b"%PDF-" + b"0" * (uploads.MARKET_IMPORT.max_bytes + 1)
    assert rule_of(big, uploads.MARKET_IMPORT, "p.csv") == "file_too_large"
    with pytest.raises(UploadRefused):
        uploads.check_size(uploads.DOCUMENT.max_bytes + 1, policy=uploads.DOCUMENT)
    uploads.check_size(uploads.DOCUMENT.max_bytes, policy=uploads.DOCUMENT)
    upload = SimpleUploadedFile("big.pdf", b"%PDF-1.4")
    upload.size = uploads.DOCUMENT.max_bytes + 1  # the declared size is refused before the body is read
    with pytest.raises(UploadRefused):
        uploads.read(upload, policy=uploads.DOCUMENT)


def test_messages_are_chinese_by_default_and_english_when_english_is_active():
    with pytest.raises(UploadRefused) as excinfo:
        uploads.check(b"", filename="a.pdf", policy=uploads.DOCUMENT)
    assert excinfo.value.messages == ["文件为空。"]
    with translation.override("en"):
        assert excinfo.value.messages == ["The file is empty."]


# --------------------------------------------------------------------------------------------------- archives


def test_zip_bomb_by_total_declared_size():
    bomb = rezip(xlsx_bytes(), add={"xl/media/filler.xml": b"<a/>" + b" " * (3 * 1024 * 1024)})
    small = uploads.Policy("t", 20 * 1024 * 1024, frozenset({uploads.XLSX}), max_unpacked_bytes=2 * 1024 * 1024)
    assert len(bomb) < 100_000  # small on disk, large inflated
    assert rule_of(bomb, small) == "file_too_large"


def test_zip_bomb_by_compression_ratio():
    bomb = rezip(xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": b"<a/>" + b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert rule_of(bomb) == "zip_bomb"


def test_zip_bomb_by_entry_count():
    many = rezip(xlsx_bytes(), add={f"xl/x/{n}.xml": b"<a/>" for n in range(uploads.MAX_ENTRIES + 1)})
    assert rule_of(many) == "zip_bomb"


@pytest.mark.parametrize("name", ["../../evil.xml", "/etc/evil.xml", "xl\\..\\evil.xml", "C:/evil.xml", "xl/../x.xml"])
def test_unsafe_entry_names_are_refused(name):
    assert rule_of(rezip(xlsx_bytes(), add={name: b"<a/>"})) == "path_traversal"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("xl/embeddings/inner.zip", b"PK\x03\x04rest"),
        ("xl/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"),  # an embedded legacy file
        ("word/media/image1.png", b"PK\x03\x04 a ZIP disguised as an image"),
        ("xl/embeddings/book.xlsx", b"anything"),
    ],
)
def test_nested_archives_are_refused(name, data):
    assert rule_of(rezip(xlsx_bytes(), add={name: data})) == "nested_archive"
    assert rule_of(rezip(docx_bytes(), add={name: data}), uploads.DOCUMENT, "c.docx") == "nested_archive"


def test_billion_laughs_is_refused_with_a_clear_error():
    bomb = rezip(xlsx_bytes(), add={"xl/sharedStrings.xml": LAUGHS})
    with pytest.raises(UploadRefused) as excinfo:
        uploads.check(bomb, filename="bomb.xlsx", policy=uploads.REGISTRY_IMPORT)
    assert excinfo.value.rule == "xml_entities" and "XML" in excinfo.value.message_zh
    # UTF-16 does not hide the DTD either.
    utf16 = LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    assert rule_of(rezip(xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": utf16})) == "xml_entities"


def test_openpyxl_parses_with_defusedxml_as_a_second_line():
    """Even past our own check, openpyxl never expands the entities: it parses with defusedxml (and lxml without
    entity resolution)."""
    import openpyxl as opx
    from defusedxml import ElementTree, EntitiesForbidden
    from openpyxl.xml import functions

    assert opx.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    with pytest.raises(EntitiesForbidden):
        ElementTree.fromstring(LAUGHS)
    book = rezip(xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": LAUGHS.replace(b"<sst", b"<worksheet")})
    with pytest.raises((EntitiesForbidden, ValueError)) as excinfo:
        workbook = opx.load_workbook(io.BytesIO(book), read_only=True)
        list(workbook.worksheets[0].iter_rows(values_only=True))
    error = excinfo.value
    assert isinstance(error, EntitiesForbidden) or isinstance(error.__cause__, EntitiesForbidden)


def test_an_ordinary_large_workbook_passes_the_archive_checks():
    rows = [["企业名称", "统一社会信用代码", "行业门类", "从业人员"]]
    rows += [[f"测试企业{n}有限公司", f"91110108{n:010d}", "C", n % 500] for n in range(20_000)]
    content = xlsx_bytes(rows)
    assert uploads.check(content, filename="e.xlsx", policy=uploads.REGISTRY_IMPORT).kind == uploads.XLSX


# --------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\质押合同.pdf", "质押合同.pdf"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # no right-to-left override
        ("..", "file"),
        ("", "file"),
    ],
)
def test_display_names_are_only_the_last_component_without_controls(given, shown):
    assert uploads.display_name(given) == shown


def test_content_disposition_has_an_ascii_fallback_and_an_rfc5987_name():
    header = uploads.content_disposition('质押合同 "final".pdf')
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E8%B4%A8%E6%8A%BC%E5%90%88%E5%90%8C%20%22final%22.pdf" in header
    assert header.count('"') == 2  # the client's quote cannot break out of the quoted fallback
    assert uploads.content_disposition("a\r\nSet-Cookie: x.pdf").count("\n") == 0


# --------------------------------------------------------------------------------------------------- call sites


@pytest.mark.django_db
def test_every_importer_refuses_a_bomb_before_reading(world):
    from ipledge.market.importing import parse_product_template
    from ipledge.registration.bulk import bulk_file
    from ipledge.registry.importing import import_registry_file
    from ipledge.screening.importing import parse_records

    bomb = rezip(xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": b"<a/>" + b"\0" * (20 * 1024 * 1024)})
    laughs = rezip(xlsx_bytes(), add={"xl/sharedStrings.xml": LAUGHS})
    traversal = rezip(xlsx_bytes(), add={"../x.xml": b"<a/>"})
    for content, rule in ((bomb, "zip_bomb"), (laughs, "xml_entities"), (traversal, "path_traversal")):
        result = import_registry_file(
            kind="enterprises",
            filename="e.xlsx",
            content=content,
            acting_user=world.user("park1"),
            park=world.parks["p1"],
        )
        assert [e.rule for e in result.errors] == [rule]
        assert [
            e.rule for e in bulk_file(filename="b.xlsx", content=content, acting_user=world.user("agency")).errors
        ] == [rule]
        assert [
            e.rule
            for e in parse_records("abnormal", "r.xlsx", content, today=world.parks["p1"].created_at.date()).errors
        ] == [rule]
        assert [e.rule for e in parse_product_template("p.xlsx", content).errors] == [rule]
        # Named .csv changes nothing: the content is a ZIP, so it is checked as one.
        result = import_registry_file(
            kind="enterprises",
            filename="e.csv",
            content=content,
            acting_user=world.user("park1"),
            park=world.parks["p1"],
        )
        assert [e.rule for e in result.errors] == [rule]


@pytest.mark.django_db
def test_document_service_stores_under_its_digest_with_the_sniffed_type(world):
    from ipledge.registration.choices import DocumentType
    from ipledge.registration.services import document_add

    add_pledges(world)
    filing = world.filings["f2"]
    document = document_add(
        filing=filing,
        doc_type=DocumentType.OTHER,
        filename="..\\..\\scan\u202e.jpg",
        content=JPEG,
        acting_user=world.user("bank2"),
    )
    assert document.content_type == "image/jpeg" and document.original_name == "scan.jpg"
    assert Path(document.file.name).name == f"{document.sha256}.jpg" and document.file.name.startswith("filings/")
    bomb = rezip(docx_bytes(), add={"word/embeddings/x.zip": b"PK\x03\x04"})
    with pytest.raises(ValidationError) as excinfo:
        document_add(
            filing=filing, doc_type=DocumentType.OTHER, filename="c.docx", content=bomb, acting_user=world.user("bank2")
        )
    assert excinfo.value.error_dict["file"][0].code == "nested_archive"
    docx = document_add(
        filing=filing,
        doc_type=DocumentType.OTHER,
        filename="c.docx",
        content=docx_bytes(),
        acting_user=world.user("bank2"),
    )
    assert docx.content_type == uploads.CONTENT_TYPES[uploads.DOCX]


@pytest.mark.django_db
def test_document_upload_api_and_page_refuse_with_the_field_and_rule(world, client):
    add_pledges(world)
    filing = world.filings["f2"]
    bank = session_client(world.user("bank2"))
    bomb = rezip(docx_bytes(), replace={"word/document.xml": b"<a/>" + b" " * (20 * 1024 * 1024)})
    response = bank.post(
        f"{API}/pledge-filings/{filing.pk}/documents", {"doc_type": "other", "file": SimpleUploadedFile("c.docx", bomb)}
    )
    body = assert_error(response, 400, field="file", rule="zip_bomb")
    assert "压缩" in body["errors"][0]["message"] and "compression" in body["errors"][0]["message_en"]
    client.force_login(world.user("bank2"))
    page = client.post(
        reverse("registration:document_upload", args=[filing.pk]),
        {"doc_type": "other", "file": SimpleUploadedFile("c.docx", bomb)},
    )
    assert page.status_code == 200 and "压缩比" in page.context["document_form"].errors["file"][0]
    assert not filing.documents.filter(original_name="c.docx").exists()


# --------------------------------------------------------------------------------------------------- storage


def test_media_is_outside_the_web_root_and_not_routed():
    import runpy

    import ipledge.settings.base

    # The test settings swap in an in-memory storage (mutating base's dict), so read base.py afresh.
    base = runpy.run_path(ipledge.settings.base.__file__)
    assert base["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    location = Path(base["STORAGES"]["default"]["OPTIONS"]["location"]).resolve()
    assert location == (Path(base["DATA_DIR"]) / "media").resolve()
    static_root = Path(base["STATIC_ROOT"]).resolve()
    package = Path(__import__("ipledge").__file__).resolve().parent
    assert not location.is_relative_to(static_root) and not static_root.is_relative_to(location)
    assert not location.is_relative_to(package)  # nothing under the served static directories
    assert not getattr(settings, "MEDIA_URL", "") or settings.MEDIA_URL in ("", "/")
    for path in ("/media/filings/2026/01/x.pdf", "/filings/2026/01/x.pdf"):
        with pytest.raises(Resolver404):
            resolve(path)


@pytest.mark.django_db
def test_documents_are_served_only_through_the_permission_checked_download(world):
    add_pledges(world)
    document = world.filings["f2"].documents.first()
    stored = document.file.name
    anonymous = Client()
    assert anonymous.get(f"/media/{stored}").status_code == 404
    assert anonymous.get(f"/static/../media/{stored}").status_code == 404
    url = reverse("registration:document_download", args=[document.pk])
    owner = session_client(world.user("bank2"))
    response = owner.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == "application/pdf"
    for other in ("bank1", "ent1", "park1"):
        assert session_client(world.user(other)).get(url).status_code == 404
    assert anonymous.get(url).status_code in (302, 404)
    api = owner.get(f"{API}/pledge-filings/{world.filings['f2'].pk}/documents/{document.pk}")
    assert api.status_code == 200 and "filename*=UTF-8''" in api["Content-Disposition"]
    assert api["X-Content-Type-Options"] == "nosniff"
