"""Typical-case services (典型案例, O5): nomination, the yearly review and selection, and publication.

Lifecycle
---------
- `case_create`: an organisation nominates a case (已推荐) for a selection year: a park administration, a bank, an IP
  office or any other service organisation (guarantors and insurers have risk-sharing cases), never an enterprise
  (`TypicalCase.scope_q`). The park, enterprise, bank and loan it links must be ones the nominator can see; the
  case's region is the park's, else the enterprise's, else the nominator's.
- `case_update`: the nominating organisation edits its case while it is nominated; the reviewing IP office may polish
  the text while it is under review or selected, before publication.
- `case_withdraw`: the nominating organisation withdraws it (已撤回) before review starts.
- `case_review_open` → `case_review_score` → `case_decide`: the provincial IP office covering the case (or CNIPA;
  city and county offices nominate but do not select) opens the review (评审中), scores it 0–100 with a note, then selects it (已入选) or not (未入选, a note is required). The
  reviewer is never the nominator (maker-checker; also a database constraint), and is always a person: a case cannot
  be reviewed with an API key, which stands for no one.
- `case_publish`: the IP office publishes a selected case (已发布, `published_on`); only published cases reach the
  public showcase (成效展示).

Every change locks the case row, checks its status and bumps `version`; a caller that read an older version
(`expected_version`) gets a `stale` error instead of overwriting someone else's change.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, record_event, snapshot
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.models import Loan
from ipledge.registry.models import Enterprise, Park

from ..choices import CaseCategory, CaseStatus
from ..models import TypicalCase

FIRST_YEAR = 2015  # the earliest selection year accepted: older practice is history, not a case for the current plan
MAX_SCORE = 100
MAX_TITLE = 200
MAX_SUMMARY = 500
TEXT_FIELDS = ("title", "summary", "practice", "results")
EDITABLE_FIELDS = ("year", "title", "category", "summary", "practice", "results", "figures")
LINK_FIELDS = ("park", "enterprise", "bank", "loan")
# Statuses in which the reviewing IP office may still polish the text before it goes public.
REVIEWER_EDIT_STATUSES = (CaseStatus.UNDER_REVIEW, CaseStatus.SELECTED)


REVIEWING_LEVELS = (AdminLevel.PROVINCIAL, AdminLevel.NATIONAL)


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


class _Errors:
    def __init__(self) -> None:
        self.items: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        self.items.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    def raise_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------


def may_nominate(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or TypicalCase.scope_q(scope, Action.ADD) is not None


def _in_scope(user: Any, case: TypicalCase, action: str) -> bool:
    return TypicalCase.objects.restrict(user, action).filter(pk=case.pk).exists()


def is_nominator(user: Any, case: TypicalCase) -> bool:
    """An officer (with a writing role) of the nominating organisation or of one above it."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.CHANGE):
        return False
    if scope.is_platform:
        return True
    org = case.nominated_by_org
    return scope.organisation_id is not None and org.tree_path.startswith(scope.org_tree_path)


def may_review(user: Any, case: TypicalCase) -> bool:
    """An officer (approving role) of the provincial IP office covering the case, or of CNIPA, or the platform.
    City and county offices nominate but do not select: the selection is the province's (O5)."""
    scope = scope_for(user)
    if scope is None:
        return False
    if not scope.is_platform and scope.admin_level not in REVIEWING_LEVELS:
        return False
    return _in_scope(user, case, Action.APPROVE)


def may_edit(user: Any, case: TypicalCase) -> bool:
    """The nominator while the case is nominated; an IP office covering it (writing role) during review."""
    if case.status == CaseStatus.NOMINATED and is_nominator(user, case):
        return True
    if case.status not in REVIEWER_EDIT_STATUSES:
        return False
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.IP_OFFICE):
        return False
    return _in_scope(user, case, Action.CHANGE)


def may_see_review(user: Any, case: TypicalCase) -> bool:
    """The review (score, note, reviewer, history) is for the nominating organisation and the officials of the case's
    region; others reach a published case only as published."""
    scope = scope_for(user)
    if scope is None:
        return False
    if scope.is_platform:
        return True
    if scope.organisation_id is not None and case.nominated_by_org.tree_path.startswith(scope.org_tree_path):
        return True
    return scope.is_government and scope.region_prefix is not None and case.region_code.startswith(scope.region_prefix)


def _require_reviewer(user: User, case: TypicalCase, what: str) -> None:
    if not may_review(user, case):
        raise PermissionDenied(f"only the provincial IP office covering the case (or CNIPA) may {what}")
    if not user.pk:
        raise _error("reviewer", _("评审须由具名人员办理，不能使用API密钥。"), "person_required")
    if case.nominated_by_id == user.pk:
        raise _error("reviewer", _("评审人不能是推荐人本人（审评分离）。"), "maker_is_checker")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _check_text(values: Mapping[str, Any], errors: _Errors) -> None:
    labels = {"title": _("案例名称"), "summary": _("摘要"), "practice": _("主要做法"), "results": _("取得成效")}
    for name in TEXT_FIELDS:
        if name in values and not str(values[name] or "").strip():
            errors.add(name, _("请填写%(label)s。"), "required", {"label": labels[name]})
    if len(str(values.get("title") or "")) > MAX_TITLE:
        errors.add("title", _("案例名称不能超过%(max)s个字符。"), "max_length", {"max": MAX_TITLE})
    if len(str(values.get("summary") or "")) > MAX_SUMMARY:
        errors.add("summary", _("摘要不能超过%(max)s个字符。"), "max_length", {"max": MAX_SUMMARY})
    if "category" in values and values["category"] not in CaseCategory.values:
        errors.add("category", _("案例类型无效。"), "invalid_choice")
    if "year" in values:
        year = values["year"]
        last = business_date().year
        if not isinstance(year, int) or not FIRST_YEAR <= year <= last:
            errors.add("year", _("评选年度须在%(first)s到%(last)s之间。"), "range", {"first": FIRST_YEAR, "last": last})
    figures = values.get("figures")
    if figures is not None and not isinstance(figures, dict):
        errors.add("figures", _("案例数据须为“名称: 数值”的键值对。"), "invalid")


def _check_links(user: User, links: Mapping[str, Any], errors: _Errors) -> None:
    """The linked records must be ones the nominator can see, and agree with each other."""
    park: Park | None = links.get("park")
    enterprise: Enterprise | None = links.get("enterprise")
    bank: Organisation | None = links.get("bank")
    loan: Loan | None = links.get("loan")
    if park is not None and not Park.objects.restrict(user, Action.VIEW).filter(pk=park.pk).exists():
        errors.add("park", _("园区不存在或不在您的权限范围内。"), "not_found")
    if enterprise is not None and not Enterprise.objects.restrict(user, Action.VIEW).filter(pk=enterprise.pk).exists():
        errors.add("enterprise", _("企业不存在或不在您的权限范围内。"), "not_found")
    if bank is not None and bank.kind != OrganisationKind.BANK:
        errors.add("bank", _("所选机构不是银行。"), "not_bank")
    if loan is not None:
        if not Loan.objects.restrict(user, Action.VIEW).filter(pk=loan.pk).exists():
            errors.add("loan", _("贷款不存在或不在您的权限范围内。"), "not_found")
        else:
            if enterprise is not None and loan.borrower_id != enterprise.pk:
                errors.add("loan", _("贷款的借款企业与所选企业不一致。"), "other_enterprise")
            if bank is not None and not loan.bank.tree_path.startswith(bank.tree_path):
                errors.add("loan", _("贷款不是所选银行（或其下属机构）发放的。"), "other_bank")


def _region_code(nominator: Organisation, links: Mapping[str, Any]) -> str:
    park: Park | None = links.get("park")
    if park is not None:
        return str(park.region.code)
    enterprise: Enterprise | None = links.get("enterprise")
    if enterprise is not None and enterprise.region_code:
        return str(enterprise.region_code)
    loan: Loan | None = links.get("loan")
    if loan is not None and loan.region_code:
        return str(loan.region_code)
    return nominator.region.code if nominator.region_id else ""  # type: ignore[union-attr]


def _clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    for name in TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    if "figures" in cleaned and cleaned["figures"] is None:
        cleaned["figures"] = {}
    return cleaned


# ---------------------------------------------------------------------------
# Nomination
# ---------------------------------------------------------------------------


@transaction.atomic
def case_create(
    *,
    year: int,
    title: str,
    category: str,
    summary: str,
    practice: str,
    results: str,
    acting_user: User,
    park: Park | None = None,
    enterprise: Enterprise | None = None,
    bank: Organisation | None = None,
    loan: Loan | None = None,
    figures: Mapping[str, Any] | None = None,
) -> TypicalCase:
    """Nominate a typical case for the year's selection, in the name of the acting user's organisation."""
    if not may_nominate(acting_user):
        raise PermissionDenied("your organisation or role may not nominate typical cases")
    nominator: Organisation | None = getattr(acting_user, "organisation", None)
    values = _clean_values(
        {
            "year": year,
            "title": title,
            "category": category,
            "summary": summary,
            "practice": practice,
            "results": results,
            "figures": dict(figures or {}),
        }
    )
    links = {"park": park, "enterprise": enterprise, "bank": bank, "loan": loan}
    errors = _Errors()
    if nominator is None:
        errors.add("nominated_by_org", _("推荐须以所属机构的名义，平台账号请使用机构账号办理。"), "no_organisation")
    _check_text(values, errors)
    _check_links(acting_user, links, errors)
    errors.raise_any()
    assert nominator is not None
    region_code = _region_code(nominator, links)
    if not region_code:
        raise _error("park", _("请关联园区或企业，以确定案例所在地区。"), "region_required")
    scope = scope_for(acting_user)
    if (
        scope is not None
        and scope.kind == OrganisationKind.IP_OFFICE
        and scope.region_prefix is not None
        and not region_code.startswith(scope.region_prefix)
    ):
        raise _error("park", _("知识产权局只能推荐本辖区内的案例。"), "outside_region")
    case = TypicalCase(
        **values,
        **links,
        region_code=region_code,
        status=CaseStatus.NOMINATED,
        nominated_by_org=nominator,
        nominated_by=_actor(acting_user),
        nominated_on=business_date(),
    )
    return audited_create(instance=case, acting_user=acting_user, action="typical_case.nominate")


def _lock(case: TypicalCase, expected_version: int | None = None) -> TypicalCase:
    locked = (
        TypicalCase.objects.select_for_update(of=("self",))
        .select_related("nominated_by_org", "park", "park__region")
        .get(pk=case.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise _error(
            "version",
            _("案例已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": locked.version},
        )
    return locked


def _require_status(case: TypicalCase, statuses: tuple[str, ...]) -> None:
    if case.status not in statuses:
        raise _error(
            "status",
            _("案例当前为“%(status)s”，不能办理此操作。"),
            "invalid_state",
            {"status": case.get_status_display()},
        )


def _change(
    case: TypicalCase, *, action: str, acting_user: User, extra: Mapping[str, Any] | None = None, **new: Any
) -> TypicalCase:
    before = snapshot(case, new.keys())
    for name, value in new.items():
        setattr(case, name, value)
    case.version += 1
    case.full_clean(validate_constraints=False)
    case.save(update_fields=[*new, "version", "updated_at"])
    record_event(
        acting_user=acting_user,
        action=action,
        instance=case,
        old=before,
        new=snapshot(case, new.keys()),
        extra=extra,
    )
    return case


@transaction.atomic
def case_update(
    *,
    case: TypicalCase,
    values: Mapping[str, Any],
    acting_user: User,
    expected_version: int | None = None,
) -> TypicalCase:
    """Change the case's content (`EDITABLE_FIELDS`) and, for the nominator, its links (`LINK_FIELDS`)."""
    case = _lock(case, expected_version)
    if not may_edit(acting_user, case):
        if not _in_scope(acting_user, case, Action.CHANGE):
            raise PermissionDenied("you may not change this case")
        raise _error(
            "status",
            _("案例当前为“%(status)s”，您不能修改。"),
            "invalid_state",
            {"status": case.get_status_display()},
        )
    unknown = set(values) - set(EDITABLE_FIELDS) - set(LINK_FIELDS)
    if unknown:
        raise _error(sorted(unknown)[0], _("不能修改此字段。"), "not_editable")
    content = _clean_values({k: v for k, v in values.items() if k in EDITABLE_FIELDS})
    links = {k: v for k, v in values.items() if k in LINK_FIELDS}
    errors = _Errors()
    if links and case.status != CaseStatus.NOMINATED:
        errors.add(next(iter(links)), _("进入评审后不能修改关联对象。"), "locked_links")
    _check_text(content, errors)
    if links:
        merged = {name: getattr(case, name) for name in LINK_FIELDS} | links
        _check_links(acting_user, merged, errors)
    errors.raise_any()
    changes = {k: v for k, v in (content | links).items() if getattr(case, k) != v}
    if links:
        merged = {name: getattr(case, name) for name in LINK_FIELDS} | links
        region_code = _region_code(case.nominated_by_org, merged)
        if region_code and region_code != case.region_code:
            changes["region_code"] = region_code
    if not changes:
        return case
    return _change(case, action="typical_case.update", acting_user=acting_user, **changes)


@transaction.atomic
def case_withdraw(
    *, case: TypicalCase, acting_user: User, note: str = "", expected_version: int | None = None
) -> TypicalCase:
    """The nominating organisation withdraws its case before the review starts."""
    case = _lock(case, expected_version)
    if not is_nominator(acting_user, case):
        raise PermissionDenied("only the nominating organisation may withdraw a case")
    _require_status(case, (CaseStatus.NOMINATED,))
    return _change(
        case,
        action="typical_case.withdraw",
        acting_user=acting_user,
        extra={"note": (note or "").strip()},
        status=CaseStatus.WITHDRAWN,
    )


# ---------------------------------------------------------------------------
# Review, selection and publication
# ---------------------------------------------------------------------------


@transaction.atomic
def case_review_open(*, case: TypicalCase, acting_user: User, expected_version: int | None = None) -> TypicalCase:
    """The IP office opens the review (评审中): the nominator can no longer withdraw or relink the case."""
    case = _lock(case, expected_version)
    _require_reviewer(acting_user, case, "open the review")
    _require_status(case, (CaseStatus.NOMINATED,))
    return _change(case, action="typical_case.review_open", acting_user=acting_user, status=CaseStatus.UNDER_REVIEW)


@transaction.atomic
def case_review_score(
    *, case: TypicalCase, score: int, note: str, acting_user: User, expected_version: int | None = None
) -> TypicalCase:
    """Score a case under review (0–100) with the reviewer's note; a later score replaces an earlier one until the
    decision, and each one stays in the audit trail."""
    case = _lock(case, expected_version)
    _require_reviewer(acting_user, case, "score cases")
    _require_status(case, (CaseStatus.UNDER_REVIEW,))
    errors = _Errors()
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= MAX_SCORE:
        errors.add("score", _("评审得分须为0到100之间的整数。"), "range")
    note = (note or "").strip()
    if not note:
        errors.add("note", _("请填写评审意见。"), "required")
    errors.raise_any()
    return _change(
        case,
        action="typical_case.review_score",
        acting_user=acting_user,
        reviewer=acting_user,
        review_score=score,
        review_note=note,
        reviewed_at=business_now(),
    )


@transaction.atomic
def case_decide(
    *, case: TypicalCase, select: bool, acting_user: User, note: str = "", expected_version: int | None = None
) -> TypicalCase:
    """Select (已入选) or reject (未入选) a scored case; rejecting needs a note for the nominator."""
    case = _lock(case, expected_version)
    _require_reviewer(acting_user, case, "decide on cases")
    _require_status(case, (CaseStatus.UNDER_REVIEW,))
    if case.review_score is None:
        raise _error("score", _("请先评分再作出入选决定。"), "not_scored")
    note = (note or "").strip()
    if not select and not note:
        raise _error("note", _("未入选须填写理由。"), "required")
    new: dict[str, Any] = {"status": CaseStatus.SELECTED if select else CaseStatus.REJECTED}
    if note:
        new["review_note"] = f"{case.review_note}\n{note}".strip() if case.review_note else note
    return _change(
        case,
        action="typical_case.select" if select else "typical_case.reject",
        acting_user=acting_user,
        extra={"note": note},
        **new,
    )


@transaction.atomic
def case_publish(
    *,
    case: TypicalCase,
    acting_user: User,
    published_on: datetime.date | None = None,
    expected_version: int | None = None,
) -> TypicalCase:
    """Publish a selected case on the public showcase (已发布)."""
    case = _lock(case, expected_version)
    _require_reviewer(acting_user, case, "publish cases")
    _require_status(case, (CaseStatus.SELECTED,))
    today = business_date()
    on = published_on or today
    if on > today:
        raise _error("published_on", _("发布日期不能晚于今天。"), "future")
    return _change(
        case, action="typical_case.publish", acting_user=acting_user, status=CaseStatus.PUBLISHED, published_on=on
    )
