"""Every uploaded file goes through here before anything else reads it.

* Size: a limit per use (``Policy.max_bytes``), checked on the declared size before the body is read and again on
  the bytes.
* Type: an allow-list per use, decided by the content (magic bytes and, for Office files, the parts declared in
  ``[Content_Types].xml``), never by the file name or the client's content type.
* Archives (xlsx, docx): the ZIP directory is checked before openpyxl or python-docx opens it: entry count, total
  declared uncompressed size, per-entry compression ratio, no nested archive, no entry name with ``..``, an absolute
  path, a drive letter or a backslash, and no XML part with a DTD (entity expansion, "billion laughs"). Python's
  ``zipfile`` never inflates an entry beyond its declared size (and checks its CRC), so the declared sizes bound
  what a reader can be made to inflate. openpyxl parses with defusedxml/lxml without entity resolution as a second
  line (``openpyxl.DEFUSEDXML`` is asserted by the tests).
* Text (CSV, JSON): UTF-8 (with or without BOM) or GB18030, and no NUL byte.
* Names: a stored file is named by us (digest + the extension of the sniffed type); the client's name is kept only
  as display text, reduced to its last path component without control characters.

Refusals are ``UploadRefused``: a Django ``ValidationError`` on the field (``file`` by default) whose code is the
rule and whose message renders in zh-hans, or in English when English is active (the API's ``message_en``).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import get_language

PDF, PNG, JPEG, XLSX, DOCX, TEXT = "pdf", "png", "jpeg", "xlsx", "docx", "text"

CONTENT_TYPES = {
    PDF: "application/pdf",
    PNG: "image/png",
    JPEG: "image/jpeg",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    TEXT: "text/plain",
}
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", XLSX: ".xlsx", DOCX: ".docx", TEXT: ".csv"}
KIND_LABELS = {PDF: "PDF", PNG: "PNG", JPEG: "JPG", XLSX: "Excel (.xlsx)", DOCX: "Word (.docx)", TEXT: "CSV"}

_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls / .doc (Compound File Binary)
_ARCHIVE_MAGICS = (_ZIP_MAGIC, b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", _OLE2_MAGIC)
_ARCHIVE_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xls", ".docx", ".docm", ".jar", ".gz", ".tgz", ".7z", ".rar", ".bz2")

MAX_ENTRIES = 1_000
MAX_RATIO = 200  # deflate's limit is about 1032:1; real workbooks stay far below 100:1
RATIO_MIN_BYTES = 1024 * 1024  # a tiny entry may compress absurdly well (a run of blanks) and harms nobody
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
_DTD_SCAN_BYTES = 64 * 1024
_MB = 1024 * 1024


@dataclass(frozen=True)
class Policy:
    """What one upload point accepts."""

    name: str
    max_bytes: int
    kinds: frozenset[str]
    max_unpacked_bytes: int = 100 * _MB
    max_entries: int = MAX_ENTRIES


DOCUMENT = Policy("document", 20 * _MB, frozenset({PDF, PNG, JPEG, DOCX}), max_unpacked_bytes=200 * _MB)
REGISTRY_IMPORT = Policy("registry_import", 20 * _MB, frozenset({XLSX, TEXT}), max_unpacked_bytes=200 * _MB)
BULK_FILING = Policy("bulk_filing", 20 * _MB, frozenset({XLSX, TEXT}), max_unpacked_bytes=200 * _MB)
SCREENING_IMPORT = Policy("screening_import", 50 * _MB, frozenset({XLSX, TEXT}), max_unpacked_bytes=500 * _MB)
MARKET_IMPORT = Policy("market_import", 10 * _MB, frozenset({XLSX, TEXT}), max_unpacked_bytes=100 * _MB)


def _bilingual_text(zh: str, en: str) -> str:
    return en if (get_language() or "zh-hans").lower().startswith("en") else zh


bilingual = lazy(_bilingual_text, str)


class UploadRefused(ValidationError):
    """A refused upload: a ValidationError on ``field`` with the rule as its code."""

    def __init__(self, rule: str, message: str, message_en: str, *, field: str = "file") -> None:
        super().__init__({field: [ValidationError(bilingual(message, message_en), code=rule)]})
        self.rule = rule
        self.field = field
        self.message_zh = message
        self.message_en = message_en

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}: {self.message_en}"

    def field_error(self) -> ValidationError:
        """The same refusal as a plain error, for a form's ``clean_<field>`` (which must not raise a dict)."""
        return ValidationError(bilingual(self.message_zh, self.message_en), code=self.rule)

    @property
    def text(self) -> str:
        """The message in the active language."""
        return _bilingual_text(self.message_zh, self.message_en)


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    size: int
    display_name: str
    text: str | None = field(default=None, repr=False)  # decoded, for TEXT

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


# ----------------------------------------------------------------------------------------------------- names

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def display_name(filename: str | None, default: str = "file") -> str:
    """The client's file name as display text only: the last path component (either separator), without control
    or bidi characters, at most 255 characters. Never used to build a path."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".").strip()
    return name[-255:] or default


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266 / RFC 5987)."""
    name = display_name(filename, default="download")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._() -]", "_", ascii_name).strip() or "download"
    if ascii_name.startswith("_") and "." in name:
        ascii_name = "download" + name[name.rfind(".") :].encode("ascii", "ignore").decode("ascii")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# ----------------------------------------------------------------------------------------------------- text


def decode_text(content: bytes) -> str:
    """UTF-8 (BOM or not) or GB18030 text without NUL bytes."""
    if b"\x00" in content:
        raise UploadRefused(
            "file_type", "文件含有二进制内容（NUL 字节），不是文本文件。", "The file holds binary data (NUL bytes)."
        )
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UploadRefused("encoding", "文件不是有效的 UTF-8 编码。", "The file is not valid UTF-8.") from exc
    for encoding in ("utf-8", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused(
        "encoding", "无法识别文件编码，请使用 UTF-8 或 GB18030。", "Unknown text encoding: use UTF-8 or GB18030."
    )


# ----------------------------------------------------------------------------------------------------- archives


def _bad_entry_name(name: str) -> bool:
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or _CONTROL.search(name):
        return True
    return any(part == ".." for part in name.split("/"))


def _content_types(archive: zipfile.ZipFile) -> set[str]:
    import defusedxml.ElementTree as SafeET  # noqa: N812

    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError as exc:
        raise UploadRefused(
            "file_type", "压缩包不是 Office 文档（缺少 [Content_Types].xml）。", "The ZIP is not an Office document."
        ) from exc
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise UploadRefused(
            "zip_bomb", "Office 文档的内容类型清单过大。", "The document's content-type list is too big."
        )
    try:
        root = SafeET.fromstring(archive.read(info))
    except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several kinds
        raise UploadRefused(
            "file_type", "Office 文档的内容类型清单无法读取。", "The document's content-type list cannot be read."
        ) from exc
    return {str(el.get("ContentType", "")) for el in root.iter() if el.get("ContentType")}


def check_archive(content: bytes, *, policy: Policy) -> str:
    """The Office kind (XLSX or DOCX) of a ZIP after its zip-bomb, path and DTD checks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UploadRefused("file_format", "文件不是有效的 ZIP/Office 文档。", "Not a valid ZIP/Office file.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > policy.max_entries:
            raise UploadRefused(
                "zip_bomb",
                f"压缩包内文件过多（{len(infos)} 个，上限 {policy.max_entries} 个）。",
                f"The archive holds too many entries ({len(infos)}, limit {policy.max_entries}).",
            )
        total = sum(info.file_size for info in infos)
        if total > policy.max_unpacked_bytes:
            mb = policy.max_unpacked_bytes // _MB
            raise UploadRefused(
                "file_too_large", f"文件解压后超过 {mb} MB，拒绝读取。", f"The file unpacks to more than {mb} MB."
            )
        for info in infos:
            if _bad_entry_name(info.filename):
                raise UploadRefused(
                    "path_traversal",
                    "压缩包内含有不安全的路径（..、绝对路径或反斜杠）。",
                    "The archive holds an unsafe entry name (.., an absolute path or a backslash).",
                )
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UploadRefused(
                    "zip_bomb",
                    f"压缩包内文件压缩比异常（超过 {MAX_RATIO}:1），拒绝读取。",
                    f"An entry's compression ratio exceeds {MAX_RATIO}:1.",
                )
        kinds = {_MAIN_PARTS[t] for t in _content_types(archive) if t in _MAIN_PARTS}
        if len(kinds) != 1:
            raise UploadRefused(
                "file_type",
                "压缩包不是 .xlsx 工作簿或 .docx 文档（启用宏的文件也不接受）。",
                "The archive is neither an .xlsx workbook nor a .docx document (macro-enabled files are refused).",
            )
        try:
            for info in infos:
                if info.is_dir() or info.file_size == 0:
                    continue
                with archive.open(info) as entry:
                    head = entry.read(_DTD_SCAN_BYTES if info.filename.lower().endswith((".xml", ".rels")) else 8)
                if info.filename.lower().endswith(_ARCHIVE_SUFFIXES) or head.startswith(_ARCHIVE_MAGICS):
                    raise UploadRefused(
                        "nested_archive",
                        "文件内嵌有其他压缩包或 Office 文件，拒绝读取。",
                        "The file embeds another archive or Office file.",
                    )
                flat = head.replace(b"\x00", b"").lower()
                if b"<!doctype" in flat or b"<!entity" in flat:
                    raise UploadRefused(
                        "xml_entities",
                        "文件中的 XML 含有 DTD/实体声明（可能是 XML 炸弹），拒绝读取。",
                        "An XML part declares a DTD or entities (a possible XML bomb).",
                    )
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, RuntimeError) as exc:
            raise UploadRefused(
                "file_format", "压缩包已损坏或已加密。", "The archive is corrupt or encrypted."
            ) from exc
        return kinds.pop()


# ----------------------------------------------------------------------------------------------------- sniffing


_CLAIMS = {".pdf": PDF, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".xlsx": XLSX, ".xlsm": XLSX, ".docx": DOCX}


def sniff(content: bytes, *, policy: Policy, filename: str | None = None) -> str:
    """The kind of a file from its bytes (running the archive checks on a ZIP). The name never grants a type; it
    can only refuse one: a name claiming a binary type the content is not (a text file named .xlsx, an executable
    named .pdf) is refused as ``file_format``."""
    kind = _sniff(content, policy=policy)
    suffix = display_name(filename, default="")
    suffix = suffix[suffix.rfind(".") :].lower() if "." in suffix else ""
    claimed = _CLAIMS.get(suffix)
    if claimed is not None and claimed != kind:
        raise UploadRefused(
            "file_format",
            f"文件内容与扩展名不符：不是有效的 {KIND_LABELS[claimed]} 文件。",
            f"The content does not match the name: not a valid {KIND_LABELS[claimed]} file.",
        )
    return kind


def _sniff(content: bytes, *, policy: Policy) -> str:
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(_ZIP_MAGIC) or content.startswith(b"PK\x05\x06"):
        return check_archive(content, policy=policy)
    if content.startswith(_OLE2_MAGIC):
        raise UploadRefused(
            "file_format",
            "不支持旧版 Office 文件（.xls/.doc），请另存为 .xlsx/.docx 或 CSV。",
            "Legacy Office files (.xls/.doc) are not accepted: save as .xlsx/.docx or CSV.",
        )
    return TEXT


def _allowed_text(policy: Policy) -> tuple[str, str]:
    labels = [KIND_LABELS[k] for k in (PDF, JPEG, PNG, DOCX, XLSX, TEXT) if k in policy.kinds]
    return "、".join(labels), ", ".join(labels)


def check_size(size: int | None, *, policy: Policy, field: str = "file") -> None:
    if size is not None and size > policy.max_bytes:
        mb = policy.max_bytes // _MB
        raise UploadRefused("file_too_large", f"文件超过 {mb} MB 上限。", f"The file exceeds {mb} MB.", field=field)


def check(content: bytes, *, filename: str | None, policy: Policy, field: str = "file") -> CheckedUpload:
    """Size, emptiness, type (by content) and archive safety of one upload; raises UploadRefused."""
    try:
        check_size(len(content), policy=policy)
        if not content.strip():
            raise UploadRefused("empty_file", "文件为空。", "The file is empty.")
        kind = sniff(content, policy=policy, filename=filename)
        text = decode_text(content) if kind == TEXT and TEXT in policy.kinds else None
        if kind not in policy.kinds:
            zh, en = _allowed_text(policy)
            raise UploadRefused(
                "file_type", f"文件类型不被接受，只接受：{zh}。", f"File type not accepted; accepted: {en}."
            )
    except UploadRefused as exc:
        if field != exc.field:
            raise UploadRefused(exc.rule, exc.message_zh, exc.message_en, field=field) from exc
        raise
    return CheckedUpload(kind=kind, size=len(content), display_name=display_name(filename), text=text)


def read(upload: Any, *, policy: Policy, field: str = "file") -> tuple[bytes, CheckedUpload]:
    """Read an uploaded file (Django's or django-ninja's) after checking its declared size; then check it."""
    check_size(getattr(upload, "size", None), policy=policy, field=field)
    content = upload.read(policy.max_bytes + 1)
    return content, check(content, filename=getattr(upload, "name", None), policy=policy, field=field)


def clean_form_file(upload: Any, *, policy: Policy) -> Any:
    """For a form's ``clean_<field>``: the declared-size check before the body is read, as a field error."""
    try:
        check_size(getattr(upload, "size", None), policy=policy)
    except UploadRefused as exc:
        raise exc.field_error() from exc
    return upload
