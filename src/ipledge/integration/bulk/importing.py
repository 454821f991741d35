"""Import of a whole file, all or nothing, through the owning app's services.

Every file passes ``ipledge.core.uploads`` first (size, type by content, zip-bomb and XML checks); then the header
row is checked (an unknown column, a duplicate or a missing required column is named), every cell is parsed and
every row is resolved against the database (natural key, references within the user's reach). Only then are the
rows written, in one transaction, each through its service (which audits it); a service refusal on any row rolls
every row back, and the result names each failing row, column and rule. Rows are upserted by natural key and
counted as created, updated or unchanged.

Enterprises and IP rights reuse the registry's importer (``ipledge.registry.importing``, the same rules as the
registry's own import page); the columns an export adds for reading only (masked personal data, the size class,
the region code) are dropped before it reads the file, so an exported file can be edited and imported back.
"""

import csv
import datetime
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from ipledge.core import exports, uploads
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Region
from ipledge.core.scoping import Action, scope_for
from ipledge.monitoring.choices import FinancialsSource, MeasureCategory, MeasureStatus
from ipledge.monitoring.models import EnterpriseFinancials, MeasureEntry
from ipledge.monitoring.services import financials as financial_services
from ipledge.monitoring.services import measures as measure_services
from ipledge.registry import importing as registry_importing
from ipledge.registry.models import Enterprise, IPRight, Park

from .registry import BY_KEY, may_add

POLICY = uploads.REGISTRY_IMPORT
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class RowError:
    """One refusal: ``row`` is the spreadsheet row (header = 1, 0 = the whole file), ``column`` its header."""

    row: int
    column: str
    rule: str
    message: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "rule": self.rule, "message": self.message, "value": self.value}


@dataclass
class ImportOutcome:
    entity: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# One cell-refusal type across the importers: the registry's parsers raise it and so do ours.
CellError = registry_importing._CellError


class Rejected(Exception):
    """Raised inside the write transaction to roll every row back."""


# ----------------------------------------------------------------------------------------------------- cells


parse_uscc = registry_importing.parse_uscc
parse_date = registry_importing.parse_date
parse_int = registry_importing.parse_int
parse_money = registry_importing.parse_money
parse_bool = registry_importing.parse_bool


def parse_text(limit: int) -> Callable[[Any], str]:
    return lambda v: registry_importing.parse_str(v, max_length=limit)


def parse_choice(choices: Any, rule: str) -> Callable[[Any], str]:
    by_text = {str(label): value for value, label in choices.choices} | {v: v for v in choices.values}

    def run(value: Any) -> str:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if text in by_text:
            return str(by_text[text])
        allowed = "、".join(str(label) for _v, label in choices.choices)
        raise CellError(rule, _("应为以下之一：%(allowed)s。") % {"allowed": allowed})

    return run


def parse_region_code(value: Any) -> str:
    text = str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else str(value).strip()
    if not (text.isdigit() and len(text) == 6):
        raise CellError("region_code", _("地区代码应为6位数字（GB/T 2260）。"))
    return text


@dataclass(frozen=True)
class ImportColumn:
    key: str
    label: str
    parse: Callable[[Any], Any]
    required: bool = False
    example: str = ""
    note: str = ""


def _header_key(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().rstrip("*").strip().lower()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------------------------------------------- files


def read_table(content: bytes, checked: uploads.CheckedUpload) -> tuple[list[Any], list[tuple[int, tuple[Any, ...]]]]:
    """The header cells and every data row with its spreadsheet row number (blank rows skipped)."""
    if checked.kind == uploads.XLSX:
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a malformed package
            raise CellError("file_format", _("无法读取工作簿。")) from exc
        try:
            if not book.worksheets:
                raise CellError("file_format", _("工作簿中没有工作表。"))
            source: Iterator[tuple[Any, ...]] = iter(list(book.worksheets[0].iter_rows(values_only=True)))
        finally:
            book.close()
    else:
        try:
            source = iter([tuple(r) for r in csv.reader(io.StringIO(checked.text or "", newline=""))])
        except csv.Error as exc:
            raise CellError("file_format", _("CSV格式错误。")) from exc
    header: list[Any] | None = None
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for number, row in enumerate(source, start=1):
        if header is None:
            header = list(row)
            continue
        if all(_blank(cell) for cell in row):
            continue
        if len(rows) >= registry_importing.MAX_ROWS:
            raise CellError("file_too_large", _("数据行过多，请拆分文件后导入。"))
        # A cell our export neutralised ('=…, '+86…) comes back as the text it was, not with the apostrophe.
        rows.append((number, tuple(exports.restore(cell) for cell in row)))
    return header or [], rows


# ----------------------------------------------------------------------------------------------------- importers


@dataclass
class Row:
    number: int
    values: dict[str, Any]
    raw: dict[str, Any]


@dataclass
class Plan:
    row: Row
    existing: Model | None
    data: dict[str, Any]


class Importer:
    """An entity read through our own column table and written through its app's services."""

    entity: str = ""
    columns: tuple[ImportColumn, ...] = ()
    field_columns: dict[str, str] = {}

    def __init__(self) -> None:
        exported = BY_KEY[self.entity].headers
        own = {_header_key(c.label) for c in self.columns}
        self.ignored = frozenset(_header_key(h) for h in exported) - own

    def may_import(self, user: Any) -> bool:
        raise NotImplementedError

    def resolve(self, row: Row, user: Any) -> Plan:
        """Natural key and references; raises CellError-carrying ``RowProblem`` on the first problem."""
        raise NotImplementedError

    def key(self, row: Row) -> Any:
        raise NotImplementedError

    def apply(self, plan: Plan, user: Any) -> str:
        raise NotImplementedError

    # -- the shared flow

    def run(self, *, content: bytes, checked: uploads.CheckedUpload, user: Any) -> ImportOutcome:
        outcome = ImportOutcome(entity=self.entity)
        try:
            header, raw_rows = read_table(content, checked)
        except CellError as exc:
            outcome.errors.append(RowError(0, "file", exc.rule, exc.message))
            return outcome
        outcome.rows = len(raw_rows)
        positions, labels = self._check_header(header, outcome)
        if outcome.errors:
            return outcome
        rows = self._parse(raw_rows, positions, labels, outcome)
        plans: list[Plan] = []
        seen: dict[Any, int] = {}
        for row in rows:
            if any(e.row == row.number for e in outcome.errors):
                continue
            natural = self.key(row)
            if natural in seen:
                column = self.columns[0]
                outcome.errors.append(
                    RowError(
                        row.number,
                        labels.get(column.key, column.label),
                        "duplicate_in_file",
                        _("与第%(row)s行重复。") % {"row": seen[natural]},
                    )
                )
                continue
            seen[natural] = row.number
            try:
                plans.append(self.resolve(row, user))
            except RowProblem as exc:
                outcome.errors.append(
                    RowError(
                        row.number, labels.get(exc.key, exc.key), exc.rule, exc.message, _display(row.raw.get(exc.key))
                    )
                )
        if outcome.errors:
            return outcome
        try:
            with transaction.atomic():
                for plan in plans:
                    try:
                        with transaction.atomic():
                            result = self.apply(plan, user)
                    except ValidationError as exc:
                        self._service_errors(plan.row, exc, labels, outcome)
                        continue
                    except PermissionDenied:
                        outcome.errors.append(RowError(plan.row.number, "", "not_permitted", _("无权写入该行。")))
                        continue
                    setattr(outcome, result, getattr(outcome, result) + 1)
                if outcome.errors:
                    raise Rejected
        except Rejected:
            outcome.created = outcome.updated = outcome.unchanged = 0
        return outcome

    def _check_header(self, header: list[Any], outcome: ImportOutcome) -> tuple[dict[str, int], dict[str, str]]:
        by_label = {_header_key(c.label): c for c in self.columns} | {_header_key(c.key): c for c in self.columns}
        positions: dict[str, int] = {}
        labels: dict[str, str] = {}
        for index, cell in enumerate(header):
            if _blank(cell):
                continue
            written = str(cell).strip()
            key = _header_key(written)
            if key in self.ignored:
                continue
            column = by_label.get(key)
            if column is None:
                outcome.errors.append(
                    RowError(1, written, "unknown_column", _("无法识别的列名“%(name)s”。") % {"name": written})
                )
            elif column.key in positions:
                outcome.errors.append(
                    RowError(1, written, "duplicate_column", _("列“%(name)s”重复出现。") % {"name": written})
                )
            else:
                positions[column.key] = index
                labels[column.key] = written
        for column in self.columns:
            if column.required and column.key not in positions:
                outcome.errors.append(
                    RowError(1, column.label, "missing_column", _("缺少必填列“%(name)s”。") % {"name": column.label})
                )
        return positions, labels

    def _parse(
        self,
        raw_rows: list[tuple[int, tuple[Any, ...]]],
        positions: dict[str, int],
        labels: dict[str, str],
        outcome: ImportOutcome,
    ) -> list[Row]:
        by_key = {c.key: c for c in self.columns}
        rows: list[Row] = []
        for number, cells in raw_rows:
            row = Row(number=number, values={}, raw={})
            for key, index in positions.items():
                value = cells[index] if index < len(cells) else None
                if _blank(value):
                    continue
                row.raw[key] = value
                try:
                    row.values[key] = by_key[key].parse(value)
                except CellError as exc:
                    outcome.errors.append(RowError(number, labels[key], exc.rule, exc.message, _display(value)))
            for column in self.columns:
                if column.required and column.key not in row.raw:
                    outcome.errors.append(
                        RowError(number, labels.get(column.key, column.label), "required", _("此项为必填项。"))
                    )
            rows.append(row)
        return rows

    def _service_errors(self, row: Row, exc: ValidationError, labels: dict[str, str], outcome: ImportOutcome) -> None:
        items = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD_ERRORS, exc.error_list)]
        for name, errors in items:
            key = self.field_columns.get(name, name)
            column = "" if name == NON_FIELD_ERRORS else labels.get(key, key)
            for error in errors:
                message = str(error.message % error.params if error.params else error.message)
                outcome.errors.append(
                    RowError(row.number, column, error.code or "invalid", message, _display(row.raw.get(key)))
                )


class RowProblem(Exception):
    def __init__(self, key: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.rule = rule
        self.message = message


def _differences(instance: Model, data: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if getattr(instance, name) != value}


class FinancialsImporter(Importer):
    """Yearly enterprise figures, keyed by (USCC, year); written by ``monitoring.services.financials``."""

    entity = "financials"
    columns = (
        ImportColumn("uscc", "统一社会信用代码", parse_uscc, True, "91320115MA1XXXXXX0", "18位，须为已登记企业"),
        ImportColumn("year", "年度", parse_int, True, "2025", "2000年至今"),
        ImportColumn("rd_spending", "研发投入（元）", parse_money, False, "1200000.00", "元，最多两位小数"),
        ImportColumn("revenue", "营业收入（元）", parse_money, False, "35000000.00", "元，最多两位小数"),
        ImportColumn("employees", "从业人员", parse_int, False, "120", "人"),
        ImportColumn("patents_held", "有效专利数", parse_int, False, "12", "件"),
        ImportColumn("patents_implemented", "已实施专利数", parse_int, False, "8", "件，不超过有效专利数"),
    )
    field_columns = {"enterprise": "uscc"}

    def may_import(self, user: Any) -> bool:
        return may_add(user, EnterpriseFinancials) and financial_services.writable_enterprises(user).exists()

    def key(self, row: Row) -> Any:
        return (row.values.get("uscc"), row.values.get("year"))

    def resolve(self, row: Row, user: Any) -> Plan:
        uscc, year = row.values["uscc"], row.values["year"]
        enterprise = financial_services.writable_enterprises(user, Action.ADD).filter(uscc=uscc).first()
        if enterprise is None:
            raise RowProblem("uscc", "unknown_enterprise", _("企业未在平台登记，或无权填报其经营数据。"))
        existing = EnterpriseFinancials.objects.filter(enterprise=enterprise, year=year).first()
        if existing is not None and not (
            EnterpriseFinancials.objects.restrict(user, Action.CHANGE).filter(pk=existing.pk).exists()
        ):
            raise RowProblem("year", "not_permitted", _("无权修改该企业该年度的经营数据。"))
        figures = {k: v for k, v in row.values.items() if k in financial_services.FIGURES}
        return Plan(row=row, existing=existing, data={"enterprise": enterprise, "year": year, "figures": figures})

    def apply(self, plan: Plan, user: Any) -> str:
        if plan.existing is None:
            financial_services.financials_create(
                enterprise=plan.data["enterprise"],
                year=plan.data["year"],
                figures=plan.data["figures"],
                source=FinancialsSource.IMPORT,
                acting_user=user,
            )
            return CREATED
        changed = _differences(plan.existing, plan.data["figures"])
        if not changed:
            return UNCHANGED
        assert isinstance(plan.existing, EnterpriseFinancials)
        financial_services.financials_update(financials=plan.existing, figures=changed, acting_user=user)
        return UPDATED


class MeasuresImporter(Importer):
    """Measures (工作措施), keyed by (implementing body, title, start date); written by ``services.measures``."""

    entity = "measures"
    columns = (
        ImportColumn("title", "措施名称", parse_text(200), True, "设立知识产权质押融资风险补偿资金池", ""),
        ImportColumn("issuing_body", "实施单位", parse_text(200), True, "江苏省知识产权局", ""),
        ImportColumn("document_no", "文号", parse_text(100), False, "苏知发〔2025〕12号", ""),
        ImportColumn(
            "category",
            "措施类别",
            parse_choice(MeasureCategory, "invalid_choice"),
            True,
            str(MeasureCategory.RISK_COMPENSATION.label),
            "、".join(str(label) for label in MeasureCategory.labels),
        ),
        ImportColumn("region_code", "地区代码", parse_region_code, True, "320000", "6位行政区划代码"),
        ImportColumn("park", "园区", parse_text(200), False, "", "园区全称；园区管委会填报时必填"),
        ImportColumn("started_on", "实施日期", parse_date, True, "2025-03-01", "如2025-03-01"),
        ImportColumn("ended_on", "截止日期", parse_date, False, "", "已完成的措施必填"),
        ImportColumn(
            "status",
            "状态",
            parse_choice(MeasureStatus, "invalid_choice"),
            False,
            str(MeasureStatus.ONGOING.label),
            "、".join(str(label) for label in MeasureStatus.labels),
        ),
        ImportColumn("description", "主要内容", parse_text(20000), True, "省级财政出资1亿元设立风险补偿资金池。", ""),
        ImportColumn("results", "取得成效", parse_text(20000), False, "", ""),
        ImportColumn("is_public", "公开", parse_bool, False, "否", "是/否"),
    )
    field_columns = {"region": "region_code"}

    def may_import(self, user: Any) -> bool:
        return measure_services.may_write_measures(user)

    def key(self, row: Row) -> Any:
        return (row.values.get("issuing_body"), row.values.get("title"), row.values.get("started_on"))

    def resolve(self, row: Row, user: Any) -> Plan:
        region = Region.objects.filter(code=row.values["region_code"]).first()
        if region is None:
            raise RowProblem("region_code", "unknown_region", _("地区代码不存在。"))
        park = None
        if "park" in row.values:
            parks = list(Park.objects.restrict(user, Action.VIEW).filter(name=row.values["park"])[:2])
            if not parks:
                raise RowProblem("park", "unknown_park", _("园区不存在或不在您的权限范围内。"))
            if len(parks) > 1:
                raise RowProblem("park", "ambiguous_park", _("有多个同名园区，请联系平台处理。"))
            park = parks[0]
        data: dict[str, Any] = {
            "region": region,
            "park": park,
            "category": row.values["category"],
            "title": row.values["title"],
            "issuing_body": row.values["issuing_body"],
            "document_no": row.values.get("document_no", ""),
            "started_on": row.values["started_on"],
            "ended_on": row.values.get("ended_on"),
            "status": row.values.get("status", MeasureStatus.ONGOING),
            "description": row.values["description"],
            "results": row.values.get("results", ""),
            "is_public": row.values.get("is_public", False),
        }
        existing = (
            MeasureEntry.objects.restrict(user, Action.VIEW)
            .filter(issuing_body=data["issuing_body"], title=data["title"], started_on=data["started_on"])
            .first()
        )
        if (
            existing is not None
            and not MeasureEntry.objects.restrict(user, Action.CHANGE).filter(pk=existing.pk).exists()
        ):
            raise RowProblem("title", "not_permitted", _("无权修改该措施（由其他单位填报）。"))
        return Plan(row=row, existing=existing, data=data)

    def apply(self, plan: Plan, user: Any) -> str:
        if plan.existing is None:
            measure_services.measure_create(acting_user=user, **plan.data)
            return CREATED
        changed = _differences(plan.existing, plan.data)
        if not changed:
            return UNCHANGED
        assert isinstance(plan.existing, MeasureEntry)
        measure_services.measure_update(measure=plan.existing, data=changed, acting_user=user)
        return UPDATED


# ----------------------------------------------------------------------------------------------------- registry


class RegistryImporter:
    """Enterprises and IP rights through ``ipledge.registry.importing`` (its rules, upserts and audit events)."""

    def __init__(self, entity: str, model: type[Model]) -> None:
        self.entity = entity
        self.model = model
        own: set[str] = set()
        for column in registry_importing.COLUMNS[entity]:
            own.update(_header_key(name) for name in (column.key, column.label, *column.aliases))
        self.ignored = frozenset(_header_key(h) for h in BY_KEY[entity].headers) - own
        self.columns = registry_importing.COLUMNS[entity]

    def may_import(self, user: Any) -> bool:
        return may_add(user, self.model)

    def _park(self, user: Any) -> Park | None:
        scope = scope_for(user)
        if scope is not None and scope.kind == OrganisationKind.PARK_ADMIN and self.entity == "enterprises":
            return Park.objects.restrict(user, Action.CHANGE).order_by("pk").first()
        return None

    def run(self, *, content: bytes, checked: uploads.CheckedUpload, user: Any) -> ImportOutcome:
        outcome = ImportOutcome(entity=self.entity)
        try:
            header, rows = read_table(content, checked)
        except CellError as exc:
            outcome.errors.append(RowError(0, "file", exc.rule, exc.message))
            return outcome
        keep = [i for i, cell in enumerate(header) if _blank(cell) or _header_key(cell) not in self.ignored]

        def lines() -> Iterator[list[str]]:
            yield [_csv_value(header[i]) for i in keep]
            expected = 2
            for number, cells in rows:
                # Keep the spreadsheet's row numbers: blank lines count in the registry's reader.
                while expected < number:
                    yield []
                    expected += 1
                yield [_csv_value(cells[i]) if i < len(cells) else "" for i in keep]
                expected += 1

        try:
            result = registry_importing.import_registry_file(
                kind=self.entity,
                filename="bulk.csv",
                content=exports.internal_csv_text(lines()).encode("utf-8"),
                acting_user=user,
                park=self._park(user),
            )
        except PermissionDenied as exc:
            outcome.errors.append(RowError(0, "", "not_permitted", str(exc)))
            return outcome
        outcome.rows = result.rows
        outcome.created, outcome.updated, outcome.unchanged = result.created, result.updated, result.unchanged
        outcome.errors = [RowError(e.row, e.column, e.rule, e.message, e.value) for e in result.errors]
        return outcome


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


AnyImporter = Importer | RegistryImporter


def importers() -> dict[str, AnyImporter]:
    found: dict[str, AnyImporter] = {
        "enterprises": RegistryImporter("enterprises", Enterprise),
        "ip_rights": RegistryImporter("ip_rights", IPRight),
        "measures": MeasuresImporter(),
        "financials": FinancialsImporter(),
    }
    policies = _policies_importer()
    if policies is not None:
        found["policies"] = policies
    return found


def _policies_importer() -> AnyImporter | None:
    try:
        from ipledge.portal.services import policies  # noqa: F401 - written by the policy library's work
    except ImportError:
        return None
    return PoliciesImporter()


def parse_codes(value: Any) -> list[str]:
    text = unicodedata.normalize("NFKC", str(value))
    return sorted(
        {part.strip().upper() for part in text.replace("；", ";").replace(",", ";").split(";") if part.strip()}
    )


def parse_url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("https://", "http://")) or len(text) > 500:
        raise CellError("url", _("原文链接应为以http://或https://开头的网址。"))
    return text


class PoliciesImporter(Importer):
    """Policies (政策), keyed by (issuing body, document number) or, without a number, (issuing body, title);
    written as drafts by ``portal.services.policies`` (publishing stays a separate, deliberate step)."""

    entity = "policies"
    field_columns = {"region": "region_code"}

    def __init__(self) -> None:
        from ipledge.portal.choices import PolicyKind

        self.columns = (
            ImportColumn("title", "政策名称", parse_text(255), True, "关于进一步推进知识产权质押融资工作的通知", ""),
            ImportColumn("issuing_body", "发文机关", parse_text(200), True, "江苏省知识产权局", ""),
            ImportColumn(
                "document_number", "文号", parse_text(100), False, "苏知发〔2025〕8号", "与发文机关一起识别政策"
            ),
            ImportColumn(
                "kind",
                "政策类型",
                parse_choice(PolicyKind, "invalid_choice"),
                True,
                str(PolicyKind.choices[0][1]),
                "、".join(str(label) for _v, label in PolicyKind.choices),
            ),
            ImportColumn("region_code", "地区代码", parse_region_code, False, "320000", "空为全国性政策"),
            ImportColumn("park", "园区", parse_text(200), False, "", "园区全称；园区管委会发布时必填"),
            ImportColumn("issued_on", "发布日期", parse_date, True, "2025-02-10", ""),
            ImportColumn("effective_from", "生效日期", parse_date, True, "2025-03-01", ""),
            ImportColumn("effective_until", "失效日期", parse_date, False, "", "空为长期有效"),
            ImportColumn("size_classes", "适用企业规模", parse_codes, False, "", "规模代码，多个以分号分隔"),
            ImportColumn("industry_sections", "适用行业门类", parse_codes, False, "", "门类字母，多个以分号分隔"),
            ImportColumn("summary", "摘要", parse_text(2000), False, "", ""),
            ImportColumn("body", "正文", parse_text(200000), True, "各设区市知识产权局：……", ""),
            ImportColumn("source_url", "原文链接", parse_url, False, "", ""),
        )
        super().__init__()

    def may_import(self, user: Any) -> bool:
        from ipledge.portal.services.policies import may_issue

        return may_issue(user)

    def key(self, row: Row) -> Any:
        body = row.values.get("issuing_body")
        number = row.values.get("document_number")
        return (body, "no", number) if number else (body, "title", row.values.get("title"))

    def resolve(self, row: Row, user: Any) -> Plan:
        from ipledge.portal.models import Policy

        region = None
        if "region_code" in row.values:
            region = Region.objects.filter(code=row.values["region_code"]).first()
            if region is None:
                raise RowProblem("region_code", "unknown_region", _("地区代码不存在。"))
        park = None
        if "park" in row.values:
            parks = list(Park.objects.restrict(user, Action.VIEW).filter(name=row.values["park"])[:2])
            if len(parks) != 1:
                raise RowProblem("park", "unknown_park", _("园区不存在、不在您的权限范围内或有重名。"))
            park = parks[0]
        data: dict[str, Any] = {
            "title": row.values["title"],
            "issuing_body": row.values["issuing_body"],
            "document_number": row.values.get("document_number", ""),
            "kind": row.values["kind"],
            "region": region,
            "park": park,
            "issued_on": row.values["issued_on"],
            "effective_from": row.values["effective_from"],
            "effective_until": row.values.get("effective_until"),
            "size_classes": row.values.get("size_classes", []),
            "industry_sections": row.values.get("industry_sections", []),
            "summary": row.values.get("summary", ""),
            "body": row.values["body"],
            "source_url": row.values.get("source_url", ""),
        }
        rows = Policy.objects.filter(issuing_body=data["issuing_body"])
        if data["document_number"]:
            rows = rows.filter(document_number=data["document_number"])
        else:
            rows = rows.filter(document_number="", title=data["title"])
        existing = rows.order_by("pk").first()
        if existing is not None and not Policy.objects.restrict(user, Action.CHANGE).filter(pk=existing.pk).exists():
            raise RowProblem("document_number", "not_permitted", _("该政策由其他单位发布，无权修改。"))
        return Plan(row=row, existing=existing, data=data)

    def apply(self, plan: Plan, user: Any) -> str:
        from ipledge.portal.models import Policy
        from ipledge.portal.services.policies import policy_create, policy_update

        if plan.existing is None:
            policy_create(actor=user, **plan.data)
            return CREATED
        changed = _differences(plan.existing, plan.data)
        if not changed:
            return UNCHANGED
        assert isinstance(plan.existing, Policy)
        policy_update(actor=user, policy=plan.existing, values=changed, expected_version=plan.existing.version)
        return UPDATED


def get(entity: str) -> AnyImporter | None:
    return importers().get(entity)


# ----------------------------------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class TemplateColumn:
    label: str
    required: bool
    example: str
    note: str


def template_columns(importer: AnyImporter) -> list[TemplateColumn]:
    if isinstance(importer, RegistryImporter):
        return [TemplateColumn(c.label, c.required, c.example, c.note) for c in importer.columns]
    return [TemplateColumn(c.label, c.required, c.example, c.note) for c in importer.columns]


def template_xlsx(importer: AnyImporter, sheet_name: str) -> bytes:
    columns = template_columns(importer)
    buffer = io.BytesIO()
    book = exports.workbook(buffer)
    sheet = book.add_worksheet(sheet_name[:31])
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text = book.add_format({"num_format": "@"})
    for col, column in enumerate(columns):
        sheet.write_string(
            0, col, column.label + ("*" if column.required else ""), required if column.required else header
        )
        sheet.set_column(col, col, max(12, len(column.label) * 2 + 4), text)
        if column.example:
            sheet.write_string(1, col, column.example, text)
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("说明")
    for col, title in enumerate(("列名", "必填", "说明")):
        notes.write_string(0, col, title, header)
    for row, column in enumerate(columns, start=1):
        notes.write_string(row, 0, column.label)
        notes.write_string(row, 1, "是" if column.required else "")
        notes.write_string(row, 2, column.note)
    rules = (
        "只读取第一个工作表；第一行为表头，带*的列必填。",
        "整个文件先全部校验：任何一行有错误，则不写入任何数据，并列出每个错误的行号、列名和规则。",
        "已存在的记录按自然键更新（企业：统一社会信用代码；知识产权：类型+号码；经营数据：信用代码+年度；措施：实施单位+名称+实施日期），内容未变的记录不写入。",
        "导出文件中的只读列（如脱敏的身份证号、企业规模）在导入时被忽略。",
    )
    start = len(columns) + 2
    for offset, rule in enumerate(rules):
        notes.write_string(start + offset, 0, rule)
    notes.set_column(0, 0, 28)
    notes.set_column(2, 2, 60)
    book.close()
    return buffer.getvalue()


def template_csv(importer: AnyImporter) -> bytes:
    columns = template_columns(importer)
    header = [c.label + ("*" if c.required else "") for c in columns]
    return ("\ufeff" + exports.csv_text([header, [c.example for c in columns]])).encode("utf-8")


__all__ = [
    "POLICY",
    "ImportOutcome",
    "RowError",
    "get",
    "importers",
    "template_csv",
    "template_xlsx",
]
