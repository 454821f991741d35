"""Collateral monitoring (质押物监测): legal-status events, alerts on pledged rights, the transfer guard, T4 figures.

* `legal_status_import` reads a csv/xlsx of gazette legal-status events (法律状态), validates the whole file, then
  records the events and applies their effects to the register in one transaction (idempotent on re-import), and
  raises alerts for the pledged rights it touched.
* `alerts_scan` raises alerts for every right under an active pledge: to the pledgee bank and, as a reminder, to
  the pledgor enterprise's organisation. Alerts are unique per (organisation, right, kind, date), so scans can run
  any number of times a day.
* `alert_digest` renders the daily plain-text digest of an organisation's unread alerts. Delivering it (e-mail,
  SMS, 信易贷 push) is a later integration: `ipledge scan_pledge_alerts --digest` only prints it.
* `ip_right_transfer` changes a right's owners, refused while the right is pledged unless the pledgee's consent is
  recorded (Civil Code Art. 444: a pledged IP right may not be transferred without the pledgee's consent).
* `turnaround_figures` gives the T4 figures per province: filings, registrations, median working days, online share.
"""

from __future__ import annotations

import calendar as _calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet

from ipledge.core.audit import audited_update, record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.identifiers import VALIDATORS
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.importing import (
    Column,
    RowError,
    _CellError,
    _Collector,
    _FileError,
    _identifier_text,
    _parse_rows,
    _read_table,
    _Row,
    parse_date,
    parse_str,
)
from ipledge.registry.models import IPRight, IPRightOwner
from ipledge.registry.services import _validate_owners, ip_right_update

from .choices import Channel, FilingStatus, FilingType, RegistrationStatus
from .models import Alert, AlertKind, AlertSeverity, LegalStatusEvent, PledgedRight, PledgeFiling, PledgeRegistration

# ---------------------------------------------------------------------------------------------------------------
# Legal-status codes (CNIPA gazette, from shared/data/cn_patent_legal_status_codes.csv)
# ---------------------------------------------------------------------------------------------------------------

CF01 = "CF01"  # 未缴年费专利权终止
CX01 = "CX01"  # 专利权有效期届满
AV01 = "AV01"  # 专利权的主动放弃
IP01 = "IP01"  # 无效公告 (an invalidation request announced)
IW01 = "IW01"  # 专利权全部无效
RR01 = "RR01"  # 权利的恢复
TR01 = "TR01"  # 专利权的转移
PP01 = "PP01"  # 专利权的保全
PD01 = "PD01"  # 专利权保全的解除
PE01 = "PE01"  # 专利权质押合同登记的生效
PC01 = "PC01"  # 专利权质押合同登记的注销
PM01 = "PM01"  # 专利权质押合同登记的变更

LEGAL_STATUS_CODES: dict[str, str] = {
    "AV01": "专利权的主动放弃",
    "CB03": "著录事项变更",
    "CD02": "外观设计专利公报更正",
    "CF01": "未缴年费专利权终止",
    "CX01": "专利权有效期届满",
    "CP01": "专利权人的姓名或者名称的变更",
    "CP02": "专利权人的地址的变更",
    "CP03": "专利权人的姓名或者名称、地址的变更",
    "DD01": "文件的公告送达",
    "EC01": "专利实施许可合同备案的注销",
    "EE01": "专利实施许可合同备案的生效",
    "EM01": "专利实施许可合同备案的变更",
    "GR01": "外观设计专利权授予",
    "IP01": "无效公告",
    "IW01": "专利权全部无效",
    "PC01": "专利权质押合同登记的注销",
    "PE01": "专利权质押合同登记的生效",
    "PM01": "专利权质押合同登记的变更",
    "PD01": "专利权保全的解除",
    "PP01": "专利权的保全",
    "RR01": "权利的恢复",
    "TR01": "专利权的转移",
}

# Effects on the register. Codes not listed here (TR01, the pledge codes PE01/PC01/PM01 that mirror our own
# registrations, licence and bibliographic changes) are recorded only; TR01 raises a `transferred` alert.
STATUS_EFFECTS: dict[str, str] = {
    CF01: LegalStatus.LAPSED,
    CX01: LegalStatus.EXPIRED,
    AV01: LegalStatus.ABANDONED,
    IW01: LegalStatus.INVALIDATED,
    RR01: LegalStatus.VALID,
}
FLAG_EFFECTS: dict[str, dict[str, bool]] = {
    IP01: {"invalidation_pending": True},
    IW01: {"invalidation_pending": False},
    PP01: {"preserved": True},
    PD01: {"preserved": False},
}
TERMINATED = (LegalStatus.LAPSED, LegalStatus.EXPIRED, LegalStatus.ABANDONED, LegalStatus.REVOKED)
TERMINATION_CODES = {LegalStatus.LAPSED: CF01, LegalStatus.EXPIRED: CX01, LegalStatus.ABANDONED: AV01}

FEE_DUE_DAYS = 60
FEE_GRACE_MONTHS = 6  # 专利法实施细则: annual fees may be paid with a surcharge within six months of the due date
TRADEMARK_RENEWAL_MONTHS = 12  # 商标法第四十条: renewal within the twelve months before expiry

IMPORTERS = frozenset({OrganisationKind.IP_OFFICE})


def _error(field_name: str, message: str, code: str) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code)})


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, clamped to the end of a shorter month (31 Aug + 6 → 28/29 Feb)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return datetime.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _right_region(right: IPRight) -> str:
    owner = right.owners.select_related("enterprise").filter(enterprise__isnull=False).first()
    return owner.enterprise.region_code if owner and owner.enterprise else ""


# ---------------------------------------------------------------------------------------------------------------
# Legal-status import
# ---------------------------------------------------------------------------------------------------------------


def _parse_patent_number(value: Any) -> str:
    result = VALIDATORS["patent-no"](_identifier_text(value))
    if not result.valid:
        raise _CellError(result.rule or "invalid", result.message_zh or "专利申请号无效。")
    assert result.canonical is not None
    return result.canonical


def _parse_code(value: Any) -> str:
    code = parse_str(value, max_length=8).upper()
    if code not in LEGAL_STATUS_CODES:
        raise _CellError("unknown_code", f"未知的法律状态代码“{code}”。")
    return code


LEGAL_STATUS_COLUMNS: tuple[Column, ...] = (
    Column("number", "申请号", _parse_patent_number, ("patent_number", "专利号", "申请号/专利号"), True, text=True),
    Column("code", "法律状态代码", _parse_code, ("code", "代码"), True),
    Column("event_date", "法律状态公告日", parse_date, ("event_date", "公告日", "生效日"), True),
    Column("description", "说明", lambda v: parse_str(v, max_length=2000), ("description", "法律状态信息"), False),
)


@dataclass
class LegalStatusImportResult:
    rows: int = 0
    applied: int = 0  # new events recorded (and their effects applied)
    unchanged: int = 0  # events already on record
    alerts: int = 0  # alerts raised for the pledged rights the new events touched
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _import_permission(user: User) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied("只有知识产权管理部门可以导入法律状态。")
    if not scope.is_platform and scope.kind not in IMPORTERS:
        raise PermissionDenied("只有知识产权管理部门可以导入法律状态。")


def legal_status_import(*, filename: str, content: bytes, acting_user: User) -> LegalStatusImportResult:
    """Validate a whole file of legal-status events, then record and apply all of it or nothing.

    The gazette is national, so an office's import is not limited to rights of its region. Events are applied in
    date order; an event already on record (same right, code and date) is skipped, so re-importing changes nothing.
    """
    _import_permission(acting_user)
    result = LegalStatusImportResult()
    errors = _Collector()
    try:
        header, raw_rows = _read_table(filename, content)
    except _FileError as exc:
        result.errors.append(RowError(row=0, column="", value=filename, rule=exc.rule, message=exc.message))
        return result
    if not header:
        result.errors.append(RowError(row=1, column="", value="", rule="missing_column", message="文件没有表头行。"))
        return result
    result.rows = len(raw_rows)
    rows = _parse_rows(header, raw_rows, LEGAL_STATUS_COLUMNS, errors)
    if any(e.row == 1 for e in errors.errors):
        result.errors = sorted(errors.errors, key=lambda e: e.row)
        return result
    rights = _validate_events(rows, errors)
    if errors.errors:
        result.errors = sorted(errors.errors, key=lambda e: (e.row, e.column))
        return result
    try:
        with transaction.atomic():
            touched = _apply_events(rows, rights, filename=filename, acting_user=acting_user, result=result)
            record_event(
                acting_user=acting_user,
                action="registration.legal_status_import",
                object_type="registration.legalstatusevent",
                object_repr=filename[:255],
                extra={
                    "filename": filename,
                    "rows": result.rows,
                    "applied": result.applied,
                    "unchanged": result.unchanged,
                },
            )
            if touched:
                result.alerts = _scan(today=business_date(), right_ids=touched)
    except IntegrityError:
        # A concurrent import recorded one of these events first; nothing of this one was kept.
        result.applied = result.unchanged = result.alerts = 0
        result.errors.append(
            RowError(
                row=0,
                column="",
                value=filename,
                rule="concurrent_import",
                message="另一导入正在写入相同事件，请稍后重试。",
            )
        )
    return result


def _validate_events(rows: list[_Row], errors: _Collector) -> dict[str, IPRight]:
    numbers = {row.values["number"] for row in rows if "number" in row.values}
    rights = {r.number: r for r in IPRight.objects.filter(kind=IPKind.PATENT, number__in=numbers)}
    first_row: dict[tuple[str, str, datetime.date], int] = {}
    for row in rows:
        number = row.values.get("number")
        if number is not None and number not in rights:
            errors.row(row, "number", "unknown_right", f"登记簿中没有申请号为{number}的专利。")
        code, day = row.values.get("code"), row.values.get("event_date")
        if number is None or code is None or day is None:
            continue
        key = (number, code, day)
        if key in first_row:
            errors.row(row, "code", "duplicate_in_file", f"与第{first_row[key]}行的事件重复。")
        else:
            first_row[key] = row.number
    return rights


def _apply_events(
    rows: list[_Row],
    rights: Mapping[str, IPRight],
    *,
    filename: str,
    acting_user: User,
    result: LegalStatusImportResult,
) -> set[int]:
    right_ids = [r.pk for r in rights.values()]
    on_record = set(
        LegalStatusEvent.objects.filter(ip_right_id__in=right_ids).values_list("ip_right_id", "code", "event_date")
    )
    touched: set[int] = set()
    for row in sorted(rows, key=lambda r: (r.values["event_date"], r.number)):
        right = rights[row.values["number"]]
        code, day = row.values["code"], row.values["event_date"]
        if (right.pk, code, day) in on_record:
            result.unchanged += 1
            continue
        LegalStatusEvent.objects.create(
            ip_right=right,
            code=code,
            event_date=day,
            description=row.values.get("description", ""),
            source_file=filename[:255],
            imported_by=acting_user if acting_user.pk else None,
        )
        on_record.add((right.pk, code, day))
        _apply_effect(right, code, acting_user=acting_user)
        result.applied += 1
        touched.add(right.pk)
    return touched


def _apply_effect(right: IPRight, code: str, *, acting_user: User) -> None:
    status = STATUS_EFFECTS.get(code)
    if status is not None:
        ip_right_update(right=right, data={"legal_status": status}, acting_user=acting_user)
    flags = FLAG_EFFECTS.get(code)
    if flags:
        # The register flags are not among ip_right_update's editable fields; the same audited update, same action.
        audited_update(
            instance=right,
            data=flags,
            acting_user=acting_user,
            action="ip_right.update",
            region_code=_right_region(right),
        )


# ---------------------------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    kind: str
    severity: str
    due_on: datetime.date | None
    message: str


def _label(right: IPRight) -> str:
    return f"{right.get_kind_display()}{right.number}「{right.title}」"


def _latest(events: Mapping[tuple[int, str], list[datetime.date]], right_id: int, code: str) -> datetime.date | None:
    dates = events.get((right_id, code))
    return max(dates) if dates else None


def _findings(
    right: IPRight,
    registration: PledgeRegistration,
    events: Mapping[tuple[int, str], list[datetime.date]],
    today: datetime.date,
) -> Iterator[_Finding]:
    label = _label(right)
    live = right.legal_status == LegalStatus.VALID
    paid_until = right.annual_fee_paid_until
    if right.kind == IPKind.PATENT and live and paid_until is not None:
        if today <= paid_until <= today + datetime.timedelta(days=FEE_DUE_DAYS):
            yield _Finding(
                AlertKind.FEE_DUE,
                AlertSeverity.WARNING,
                paid_until,
                f"{label}的年费缴至{paid_until}，请在到期前缴纳下一年度年费。",
            )
        grace_end = add_months(paid_until, FEE_GRACE_MONTHS)
        if paid_until < today <= grace_end:
            yield _Finding(
                AlertKind.FEE_GRACE,
                AlertSeverity.CRITICAL,
                grace_end,
                f"{label}的年费已于{paid_until}到期未缴，处于滞纳期；须在{grace_end}前补缴年费及滞纳金，否则专利权终止。",
            )
    if right.legal_status in TERMINATED:
        code = TERMINATION_CODES.get(LegalStatus(right.legal_status))
        yield _Finding(
            AlertKind.LAPSED,
            AlertSeverity.CRITICAL,
            _latest(events, right.pk, code) if code else None,
            f"{label}的法律状态为“{right.get_legal_status_display()}”，质押物灭失。",
        )
    if right.legal_status == LegalStatus.INVALIDATED:
        yield _Finding(
            AlertKind.INVALIDATED,
            AlertSeverity.CRITICAL,
            _latest(events, right.pk, IW01),
            f"{label}已被宣告无效，质押物灭失。",
        )
    elif right.invalidation_pending:
        yield _Finding(
            AlertKind.INVALIDATION_PENDING,
            AlertSeverity.WARNING,
            _latest(events, right.pk, IP01),
            f"{label}正处于无效宣告请求审查中。",
        )
    for day in sorted(events.get((right.pk, TR01), [])):
        if day >= registration.registered_on:
            yield _Finding(
                AlertKind.TRANSFERRED,
                AlertSeverity.CRITICAL,
                day,
                f"据法律状态公告，{label}于{day}发生权利转移（TR01）；出质后转让须经质权人同意。",
            )
    if right.preserved:
        yield _Finding(
            AlertKind.PRESERVED,
            AlertSeverity.CRITICAL,
            _latest(events, right.pk, PP01),
            f"{label}已被采取保全措施。",
        )
    maturity = registration.performance_end
    if live and right.term_end is not None and maturity is not None and right.term_end < maturity:
        yield _Finding(
            AlertKind.TERM_BEFORE_MATURITY,
            AlertSeverity.WARNING,
            right.term_end,
            f"{label}的保护期限于{right.term_end}届满，早于债务履行期限届满日{maturity}。",
        )
    if (
        right.kind == IPKind.TRADEMARK
        and right.term_end is not None
        and today <= right.term_end <= add_months(today, TRADEMARK_RENEWAL_MONTHS)
    ):
        yield _Finding(
            AlertKind.TRADEMARK_RENEWAL,
            AlertSeverity.WARNING,
            right.term_end,
            f"{label}的注册有效期于{right.term_end}届满，已进入续展期，请及时办理续展。",
        )


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def alerts_scan(*, today: datetime.date | None = None) -> int:
    """Raise the alerts due on `today` (default: the business date) for every right under an active pledge.

    Returns the number of alerts created; alerts already raised are not repeated.
    """
    return _scan(today=today or business_date(), right_ids=None)


@transaction.atomic
def _scan(*, today: datetime.date, right_ids: Iterable[int] | None) -> int:
    pledges = PledgedRight.objects.filter(is_active=True, registration__status=RegistrationStatus.ACTIVE)
    if right_ids is not None:
        pledges = pledges.filter(ip_right_id__in=list(right_ids))
    pledge_ids = list(pledges.order_by("pk").values_list("pk", flat=True))
    created = 0
    for chunk in _chunks(pledge_ids):
        rows = list(
            PledgedRight.objects.filter(pk__in=chunk).select_related(
                "ip_right", "registration__pledgor", "registration__pledgee"
            )
        )
        ids = [p.ip_right_id for p in rows]
        events: dict[tuple[int, str], list[datetime.date]] = defaultdict(list)
        for right_id, code, day in LegalStatusEvent.objects.filter(
            ip_right_id__in=ids, code__in=[CF01, CX01, AV01, IW01, IP01, TR01, PP01]
        ).values_list("ip_right_id", "code", "event_date"):
            events[(right_id, code)].append(day)
        existing = set(
            Alert.objects.filter(ip_right_id__in=ids).values_list("organisation_id", "ip_right_id", "kind", "due_on")
        )
        new: list[Alert] = []
        for pledge in rows:
            registration = pledge.registration
            recipients = [registration.pledgee_id]
            if registration.pledgor.organisation_id is not None:
                recipients.append(registration.pledgor.organisation_id)
            for finding in _findings(pledge.ip_right, registration, events, today):
                for org_id in recipients:
                    key = (org_id, pledge.ip_right_id, finding.kind, finding.due_on)
                    if key in existing:
                        continue
                    existing.add(key)
                    new.append(
                        Alert(
                            organisation_id=org_id,
                            ip_right_id=pledge.ip_right_id,
                            registration=registration,
                            kind=finding.kind,
                            severity=finding.severity,
                            message=f"{finding.message}（质押登记号{registration.registration_no}）",
                            due_on=finding.due_on,
                            created_on=today,
                        )
                    )
        # A concurrent scan may have raised the same alert a moment ago: the unique constraints drop the copy.
        Alert.objects.bulk_create(new, ignore_conflicts=True)
        created += len(new)
    if created:
        record_event(
            acting_user=None,
            action="alert.scan",
            object_type="registration.alert",
            extra={"today": today, "created": created, "rights": None if right_ids is None else sorted(right_ids)},
        )
    return created


def alert_list(*, user: Any) -> QuerySet[Alert]:
    """The alert inbox: an organisation's own alerts (and those of the organisations below it), unread first."""
    return (
        Alert.objects.restrict(user, Action.VIEW)
        .select_related("ip_right", "registration", "organisation")
        .order_by(F("read_at").asc(nulls_first=True), "-created_on", "-pk")
    )


@transaction.atomic
def alert_mark_read(*, alert: Alert, acting_user: User) -> Alert:
    if not Alert.objects.restrict(acting_user, Action.CHANGE).filter(pk=alert.pk).exists():
        raise PermissionDenied("not your alert")
    if alert.read_at is not None:
        return alert
    return audited_update(
        instance=alert,
        data={"read_at": business_now(), "read_by": acting_user},
        acting_user=acting_user,
        action="alert.mark_read",
    )


def alert_digest(*, organisation: Organisation, day: datetime.date) -> str:
    """The daily digest (每日摘要) of an organisation's unread alerts raised up to `day`, as plain Chinese text.

    Called by the system (the scan command), not on a user's behalf, so it reads the organisation's own alerts
    directly. Empty string when there is nothing unread.
    """
    alerts = list(
        Alert.objects.filter(organisation=organisation, read_at__isnull=True, created_on__lte=day)
        .select_related("ip_right")
        .order_by("due_on", "pk")
    )
    if not alerts:
        return ""
    by_severity = {s: sum(1 for a in alerts if a.severity == s) for s in AlertSeverity.values}
    lines = [
        f"{organisation.name} 知识产权质押监测日报（{day.isoformat()}）",
        f"未读提醒{len(alerts)}条：严重{by_severity[AlertSeverity.CRITICAL]}条，"
        f"警告{by_severity[AlertSeverity.WARNING]}条，提示{by_severity[AlertSeverity.INFO]}条。",
    ]
    severity_order = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}
    alerts.sort(key=lambda a: (severity_order.get(AlertSeverity(a.severity), 3), a.due_on or day, a.pk))
    for number, alert in enumerate(alerts, start=1):
        when = f"（相关日期：{alert.due_on.isoformat()}）" if alert.due_on else ""
        lines.append(f"{number}. 【{alert.get_severity_display()}】{alert.get_kind_display()}：{alert.message}{when}")
    lines.append("请登录平台“监测提醒”查看详情并标记已读。")
    return "\n".join(lines)


def organisations_with_unread_alerts(*, day: datetime.date) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        pk__in=Alert.objects.filter(read_at__isnull=True, created_on__lte=day).values("organisation_id")
    ).order_by("tree_path")


# ---------------------------------------------------------------------------------------------------------------
# Transfer guard
# ---------------------------------------------------------------------------------------------------------------


@transaction.atomic
def ip_right_transfer(
    *,
    right: IPRight,
    new_owners: Sequence[Mapping[str, Any]],
    acting_user: User,
    pledgee_consent: bool = False,
) -> IPRight:
    """Record a transfer (转让) of a right to new owners, as the IP office registers it.

    While the right is under an active pledge the transfer is refused unless the pledgee's consent is recorded
    (民法典第四百四十四条). `new_owners` items have `enterprise` or `holder_name`, and `share`.
    """
    scope = scope_for(acting_user)
    allowed = scope is not None and (
        scope.is_platform
        or (
            scope.kind == OrganisationKind.IP_OFFICE
            and IPRight.objects.restrict(acting_user, Action.CHANGE).filter(pk=right.pk).exists()
        )
    )
    if not allowed:
        raise PermissionDenied("only the IP office registers a transfer")
    locked = IPRight.objects.select_for_update().get(pk=right.pk)
    pledge = (
        PledgedRight.objects.filter(ip_right=locked, is_active=True).select_related("registration__pledgee").first()
    )
    if pledge is not None and not pledgee_consent:
        raise _error(
            "right",
            f"该知识产权已出质（质押登记号{pledge.registration.registration_no}，质权人"
            f"{pledge.registration.pledgee.name}），未经质权人同意不得转让。",
            "pledged_without_consent",
        )
    _validate_owners(new_owners)
    region = _right_region(locked)
    old = [str(o) for o in locked.owners.select_related("enterprise")]
    locked.owners.all().delete()
    owners = [
        IPRightOwner(
            right=locked,
            enterprise=o.get("enterprise"),
            holder_name=o.get("holder_name", ""),
            share=Decimal(str(o.get("share", 100))),
        )
        for o in new_owners
    ]
    for owner in owners:
        owner.full_clean(validate_constraints=False)
    IPRightOwner.objects.bulk_create(owners)
    record_event(
        acting_user=acting_user,
        action="ip_right.transfer",
        instance=locked,
        region_code=region or _right_region(locked),
        old={"owners": old},
        new={"owners": [str(o) for o in owners]},
        extra={
            "pledgee_consent": pledgee_consent,
            "pledge": pledge.registration.registration_no if pledge is not None else None,
        },
    )
    return locked


# ---------------------------------------------------------------------------------------------------------------
# T4 figures
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnaroundRow:
    region_code: str  # two-digit province prefix; "" for the total row
    region_name: str
    filings: int  # registration filings submitted in the period
    registered: int
    median_working_days: Decimal | None  # of the decided (registered or refused) filings
    online_share: Decimal | None  # share of filings made online, 0–1


def _median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return (Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def turnaround_figures(*, user: Any, date_from: datetime.date, date_to: datetime.date) -> list[TurnaroundRow]:
    """T4 figures per province of the pledgor over filings submitted in [date_from, date_to], plus a total row."""
    filings = (
        PledgeFiling.objects.restrict(user, Action.VIEW)
        .filter(filing_type=FilingType.REGISTRATION, submitted_on__gte=date_from, submitted_on__lte=date_to)
        .values_list("region_code", "status", "channel", "turnaround_working_days")
    )
    groups: dict[str, list[tuple[str, str, int | None]]] = defaultdict(list)
    for region_code, status, channel, days in filings:
        groups[(region_code or "00")[:2]].append((status, channel, days))
    names = {r.code[:2]: r.name for r in Region.objects.filter(code__in=[f"{p}0000" for p in groups if len(p) == 2])}
    decided = (FilingStatus.REGISTERED, FilingStatus.REFUSED)

    def row(code: str, name: str, items: list[tuple[str, str, int | None]]) -> TurnaroundRow:
        return TurnaroundRow(
            region_code=code,
            region_name=name,
            filings=len(items),
            registered=sum(1 for s, _, _ in items if s == FilingStatus.REGISTERED),
            median_working_days=_median([d for s, _, d in items if s in decided and d is not None]),
            online_share=_share(sum(1 for _, c, _ in items if c == Channel.ONLINE), len(items)),
        )

    rows = [row(code, names.get(code, "未知地区"), groups[code]) for code in sorted(groups)]
    rows.append(row("", "合计", [item for items in groups.values() for item in items]))
    return rows
