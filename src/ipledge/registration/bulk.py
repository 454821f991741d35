"""Bulk filing by a patent agency or a bank (集中代办): many pledge filings from one .xlsx (or CSV) file.

One row per pledged right; rows with the same 申请组号 form one (bundle) filing, and must agree on the filing's
data (parties, claim, period, scope, contract). The whole file is validated first — identifiers with their check
digits, the pledgor and every right resolved on the register, money and dates, the pledgee within the filer's
reach, each group's consistency — and every bad cell is reported with its row, column and rule. Only a clean file
is written, in one transaction, through `filing_create` (one audit event per filing) plus one summary event;
any refusal at that stage rolls back every filing of the file.

The cell parsers and the file reader are those of the registry importer (`ipledge.registry.importing`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ipledge.core import exports, uploads
from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.importing import (
    Column,
    ImportResult,
    RowError,
    _CellError,
    _Collector,
    _FileError,
    _identifier_text,
    _parse_rows,
    _read_table,
    _Row,
    _text,
    errors_workbook,
    parse_bool,
    parse_date,
    parse_kind,
    parse_money,
    parse_str,
    parse_uscc,
)
from ipledge.registry.models import Enterprise, IPRight

from .choices import ClaimKind
from .selectors import resolve_pledgor, resolve_right
from .services import FILER_KINDS, filing_create

__all__ = ["BULK_COLUMNS", "BulkFilingResult", "bulk_errors_workbook", "bulk_file", "bulk_template", "pledgee_for"]

_CLAIM_KIND_ALIASES: dict[str, str] = {
    **{k: k for k in ClaimKind.values},
    "借款合同债权": ClaimKind.LOAN,
    "借款": ClaimKind.LOAN,
    "贷款": ClaimKind.LOAN,
    "担保追偿债权": ClaimKind.GUARANTEE,
    "担保追偿": ClaimKind.GUARANTEE,
    "其他债权": ClaimKind.OTHER,
    "其他": ClaimKind.OTHER,
}


def parse_claim_kind(value: Any) -> str:
    found = _CLAIM_KIND_ALIASES.get(_text(value)) or _CLAIM_KIND_ALIASES.get(_text(value).lower())
    if found is None:
        raise _CellError("claim_kind", _("债权种类应为借款合同债权、担保追偿债权或其他债权。"))
    return found


def parse_org_id(value: Any) -> int:
    message = _("质权人机构编号应为平台上的机构编号（正整数）。")
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise _CellError("integer", message)
    if isinstance(value, int | float):
        number = int(value)
    else:
        text = _text(value)
        if not (text.isascii() and text.isdigit()):
            raise _CellError("integer", message)
        number = int(text)
    if not 1 <= number <= 2**63 - 1:
        raise _CellError("integer", message)
    return number


BULK_COLUMNS: tuple[Column, ...] = (
    Column(
        "pledgor_uscc", "出质人统一社会信用代码", parse_uscc, ("出质人信用代码",), True, "", "18位，设为文本格式", True
    ),
    Column("pledgee_id", "质权人机构编号", parse_org_id, ("质权人编号",), True, "", "平台机构编号（见机构列表）"),
    Column("claim_kind", "债权种类", parse_claim_kind, ("被担保债权种类",), False, "借款合同债权", "默认借款合同债权"),
    Column(
        "claim_amount",
        "被担保债权数额（元）",
        parse_money,
        ("被担保债权数额", "债权数额"),
        True,
        "5000000.00",
        "元，最多两位小数",
    ),
    Column("performance_start", "履行期限起", parse_date, ("债务履行期限起",), True, "2026-01-05"),
    Column("performance_end", "履行期限止", parse_date, ("债务履行期限止",), True, "2027-01-04"),
    Column(
        "guarantee_scope",
        "担保范围",
        lambda v: parse_str(v, max_length=2000),
        ("质押担保范围",),
        True,
        "主债权及利息、违约金、实现质权的费用",
    ),
    Column("contract_no", "合同编号", lambda v: parse_str(v, max_length=64), ("质押合同编号",), False, "", "", True),
    Column("kind", "权利类型", parse_kind, ("类型", "知识产权类型"), True, "专利", "专利/商标/著作权"),
    Column(
        "number", "权利号码", _identifier_text, ("号码", "专利号", "注册号"), True, "", "专利为带校验位的申请号", True
    ),
    Column("co_owner_consent", "共有人已同意", parse_bool, (), False, "否", "是/否"),
    Column(
        "group",
        "申请组号",
        lambda v: parse_str(v, max_length=32),
        ("组号",),
        False,
        "1",
        "同一组号的行合并为一件（打包）申请；留空则单独成件",
        True,
    ),
)
#: Columns every row of one group must repeat identically (the filing's own data).
GROUP_KEYS = (
    "pledgor_uscc",
    "pledgee_id",
    "claim_kind",
    "claim_amount",
    "performance_start",
    "performance_end",
    "guarantee_scope",
    "contract_no",
)


@dataclass
class BulkFilingResult:
    rows: int = 0
    created: int = 0
    filing_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def pledgee_for(user: Any, pk: int) -> Organisation | None:
    """The pledgee a filer may name: a bank it can see; for a patent agency, any bank by its exact id.

    An agency files on the bank's instruction and names it as the paper form does, but sees no bank's records, so
    its lookup is by exact key only (like `resolve_pledgor`); nothing is listed.
    """
    found = Organisation.objects.restrict(user, Action.VIEW).filter(pk=pk).first()
    if found is None:
        org = getattr(user, "organisation", None)
        if org is not None and org.kind == OrganisationKind.PATENT_AGENCY:
            found = Organisation.objects.filter(pk=pk, kind=OrganisationKind.BANK, is_active=True).first()
    return found


def _check_permission(user: User) -> None:
    scope = scope_for(user)
    org = getattr(user, "organisation", None)
    if scope is None or org is None or org.kind not in FILER_KINDS or not scope.may(Action.ADD):
        raise PermissionDenied(_("只有银行或专利代理机构的经办人员可以集中代办质押登记。"))


@dataclass
class _Group:
    key: str
    rows: list[_Row] = field(default_factory=list)
    pledgor: Enterprise | None = None
    pledgee: Organisation | None = None
    rights: list[tuple[_Row, IPRight]] = field(default_factory=list)


def _validation_codes(exc: ValidationError) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    items = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD_ERRORS, exc.error_list)]
    for _name, errors in items:
        for error in errors:
            message = str(error.message % error.params if error.params else error.message)
            pairs.append((error.code or "invalid", message))
    return pairs


def _validate(rows: list[_Row], user: User, errors: _Collector) -> list[_Group]:
    groups: dict[str, _Group] = {}
    pledgors: dict[str, Enterprise | None] = {}
    pledgees: dict[int, Organisation | None] = {}
    rights: dict[tuple[str, str], IPRight | None] = {}
    seen_rights: dict[int, tuple[str, int]] = {}
    filer = user.organisation
    assert filer is not None
    for row in rows:
        key = str(row.values.get("group") or f"#row{row.number}")
        group = groups.setdefault(key, _Group(key=key))
        group.rows.append(row)
        values = row.values
        if "pledgor_uscc" in values:
            uscc = values["pledgor_uscc"]
            if uscc not in pledgors:
                try:
                    pledgors[uscc] = resolve_pledgor(uscc)
                except ValidationError as exc:
                    pledgors[uscc] = None
                    for code, message in _validation_codes(exc):
                        errors.row(row, "pledgor_uscc", code, message)
            elif pledgors[uscc] is None:
                errors.row(row, "pledgor_uscc", "not_found", _("平台登记簿中没有该统一社会信用代码的企业。"))
            group.pledgor = group.pledgor or pledgors[uscc]
        if "pledgee_id" in values:
            pk = values["pledgee_id"]
            if pk not in pledgees:
                pledgees[pk] = pledgee_for(user, pk)
            pledgee = pledgees[pk]
            if pledgee is None:
                errors.row(row, "pledgee_id", "not_found", _("质权人机构不存在或不在您的权限范围内。"))
            elif pledgee.kind != OrganisationKind.BANK:
                errors.row(row, "pledgee_id", "pledgee_kind", _("质权人必须是银行。"))
            elif filer.kind == OrganisationKind.BANK and not pledgee.tree_path.startswith(filer.tree_path):
                errors.row(row, "pledgee_id", "pledgee_scope", _("银行只能以本行或下级机构作为质权人提交申请。"))
            else:
                group.pledgee = group.pledgee or pledgee
        amount = values.get("claim_amount")
        if amount is not None and not amount.amount > 0:
            errors.row(row, "claim_amount", "min_value", _("被担保债权数额必须大于0。"))
        start, end = values.get("performance_start"), values.get("performance_end")
        if start is not None and end is not None and end < start:
            errors.row(row, "performance_end", "date_order", _("债务履行期限止不能早于履行期限起。"))
        if "kind" in values and "number" in values:
            right_key = (values["kind"], str(values["number"]))
            if right_key not in rights:
                try:
                    rights[right_key] = resolve_right(kind=right_key[0], number=right_key[1])
                except ValidationError as exc:
                    rights[right_key] = None
                    for code, message in _validation_codes(exc):
                        errors.row(row, "number", code, message)
                right = rights[right_key]
            else:
                right = rights[right_key]
                if right is None:
                    errors.row(row, "number", "not_found", _("登记簿中没有该号码的权利。"))
            if right is not None:
                if right.pk in seen_rights:
                    other_group, other_row = seen_rights[right.pk]
                    errors.row(
                        row,
                        "number",
                        "duplicate_item",
                        _("同一权利已在第%(row)s行列出，一个文件中每项权利只能出质一次。") % {"row": other_row},
                    )
                else:
                    seen_rights[right.pk] = (key, row.number)
                    group.rights.append((row, right))
    for group in groups.values():
        first = group.rows[0]
        for row in group.rows[1:]:
            for name in GROUP_KEYS:
                refused = any(name in r.raw and name not in r.values for r in (first, row))  # reported already
                if not refused and row.values.get(name) != first.values.get(name):
                    errors.row(
                        row,
                        name,
                        "group_inconsistent",
                        _("同一申请组（%(group)s）的各行“%(column)s”必须一致（与第%(row)s行不同）。")
                        % {"group": group.key, "column": row.header(name), "row": first.number},
                    )
    return list(groups.values())


def bulk_file(*, filename: str, content: bytes, acting_user: User) -> BulkFilingResult:
    """Validate a whole bulk-filing file, then create every filing in it, or none.

    Raises PermissionDenied when the user may not file at all; every refusal of the file's content is a
    `RowError` in the result (row 0 for the file as a whole, row 1 for the header).
    """
    _check_permission(acting_user)
    result = BulkFilingResult()
    errors = _Collector()
    try:
        header, raw_rows = _read_table(filename, content, uploads.BULK_FILING)
    except _FileError as exc:
        result.errors.append(RowError(row=0, column="", value=filename, rule=exc.rule, message=exc.message))
        return result
    if not header:
        result.errors.append(RowError(row=1, column="", value="", rule="missing_column", message=_("文件没有表头行。")))
        return result
    result.rows = len(raw_rows)
    rows = _parse_rows(header, raw_rows, BULK_COLUMNS, errors)
    if any(e.row == 1 for e in errors.errors):
        result.errors = sorted(errors.errors, key=lambda e: e.row)
        return result
    if not rows:
        result.errors.append(RowError(row=2, column="", value="", rule="empty_file", message=_("文件中没有数据行。")))
        return result
    groups = _validate(rows, acting_user, errors)
    if errors.errors:
        result.errors = sorted(errors.errors, key=lambda e: e.row)
        return result

    with transaction.atomic():
        for group in groups:
            first = group.rows[0].values
            assert group.pledgor is not None and group.pledgee is not None
            try:
                with transaction.atomic():
                    filing = filing_create(
                        pledgor=group.pledgor,
                        pledgee=group.pledgee,
                        items=[
                            {"ip_right": right, "co_owner_consent": bool(row.values.get("co_owner_consent", False))}
                            for row, right in group.rights
                        ],
                        acting_user=acting_user,
                        claim_kind=first.get("claim_kind", ClaimKind.LOAN),
                        claim_amount=first["claim_amount"],
                        performance_start=first["performance_start"],
                        performance_end=first["performance_end"],
                        guarantee_scope=first["guarantee_scope"],
                        contract_no=first.get("contract_no", ""),
                    )
            except ValidationError as exc:
                for code, message in _validation_codes(exc):
                    errors.add(group.rows[0].number, "", "", code, message)
                continue
            result.filing_ids.append(filing.pk)
        if errors.errors:
            transaction.set_rollback(True)
            result.filing_ids = []
            result.errors = sorted(errors.errors, key=lambda e: e.row)
            return result
        result.created = len(result.filing_ids)
        org = acting_user.organisation
        record_event(
            acting_user=acting_user,
            action="pledge_filing.bulk",
            object_type="registration.bulk_filing",
            object_repr=filename[:255],
            region_code=org.region.code if org is not None and org.region is not None else "",
            extra={"filename": filename, "rows": result.rows, "created": result.created, "filings": result.filing_ids},
        )
    return result


def bulk_errors_workbook(result: BulkFilingResult) -> bytes:
    """An .xlsx listing every error of a refused file: 行号/列名/值/规则/说明."""
    return errors_workbook(ImportResult(kind="pledge_filings", rows=result.rows, errors=result.errors))


def bulk_template() -> bytes:
    """The empty bulk-filing workbook: headers (required ones marked *), an example row, and a 说明 sheet."""
    buffer = io.BytesIO()
    workbook = exports.workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("质押登记申请")
    header_fmt = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required_fmt = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text_fmt = workbook.add_format({"num_format": "@"})
    for col, column in enumerate(BULK_COLUMNS):
        sheet.write_string(
            0, col, column.label + ("*" if column.required else ""), required_fmt if column.required else header_fmt
        )
        sheet.set_column(col, col, max(12, len(column.label) * 2 + 4), text_fmt if column.text else None)
        if column.example:
            sheet.write_string(1, col, column.example, text_fmt if column.text else None)
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet("说明")
    for col, title in enumerate(("列名", "英文列名", "必填", "说明")):
        notes.write_string(0, col, title, header_fmt)
    for index, column in enumerate(BULK_COLUMNS, start=1):
        notes.write_string(index, 0, column.label)
        notes.write_string(index, 1, column.key)
        notes.write_string(index, 2, "是" if column.required else "")
        notes.write_string(index, 3, column.note)
    notes.write_string(
        len(BULK_COLUMNS) + 2,
        0,
        "同一申请组号的各行合并为一件打包质押申请，申请信息须一致；整个文件校验通过后才会提交。",
    )
    notes.set_column(0, 1, 24)
    notes.set_column(3, 3, 60)
    workbook.close()
    return buffer.getvalue()
