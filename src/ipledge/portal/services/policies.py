"""Policy library services (政策工具箱和资源库, M1/S6): drafting, editing, publishing, withdrawing policies and their
attachments.

Who may
-------
- Issuers are government bodies (IP offices, financial regulators, development and reform commissions) and park
  administrations (`Policy.scope_q`, ADD). A policy belongs to its issuer's organisation (`owner_org`); only that
  organisation (or one above it in the tree) edits, publishes and withdraws it (CHANGE).
- A government body issues policies for its own region or a region within it (a national body also for the whole
  country: no region); a park policy only for a park inside that region. A park administration issues policies for
  the parks it administers only; their region is the park's.

Lifecycle: draft (草稿) → published (已发布) → withdrawn (已撤回) → published again. Editing is allowed in every status
(a correction of a published policy is visible at once). Every change locks the row, checks `expected_version`
(`stale` when someone else changed it), bumps `version`, rebuilds `search_text` and writes an audit event in the
same transaction.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core import uploads
from ipledge.core.audit import record_event, save_validated, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_now
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Park
from ipledge.registry.rules import INDUSTRY_SECTIONS

from ..choices import PolicyKind, PolicyStatus
from ..models import Policy, PolicyAttachment
from ..search import build_search_text

EDITABLE_FIELDS = (
    "title",
    "issuing_body",
    "document_number",
    "kind",
    "region",
    "park",
    "issued_on",
    "effective_from",
    "effective_until",
    "summary",
    "body",
    "size_classes",
    "industry_sections",
    "source_url",
)
AUDITED_FIELDS = (*EDITABLE_FIELDS, "status", "published_at", "version")
MAX_ATTACHMENTS = 20


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


def _person(user: User | None) -> User | None:
    """The API-key principal is an unsaved user: never stored as a foreign key."""
    return user if user is not None and user.pk else None


# ---------------------------------------------------------------------------
# Who may
# ---------------------------------------------------------------------------


def may_issue(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or Policy.scope_q(scope, Action.ADD) is not None


def may_change(user: Any, policy: Policy) -> bool:
    return Policy.objects.restrict(user, Action.CHANGE).filter(pk=policy.pk).exists()


def _require_change(user: Any, policy: Policy) -> None:
    if not may_change(user, policy):
        raise PermissionDenied("only the issuing organisation changes its policies")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _codes(values: Iterable[Any] | None) -> list[str]:
    return sorted({str(v).strip() for v in (values or []) if str(v).strip()})


def _check(actor: Any, owner: Organisation, values: Mapping[str, Any], errors: _Errors) -> None:
    labels = {"title": _("政策名称"), "issuing_body": _("发文机关"), "body": _("正文")}
    for name, label in labels.items():
        if not str(values.get(name) or "").strip():
            errors.add(name, _("请填写%(label)s。"), "required", {"label": label})
    if values.get("kind") not in PolicyKind.values:
        errors.add("kind", _("政策类型无效。"), "invalid_choice")
    bad_sizes = [v for v in values.get("size_classes") or [] if v not in SizeClass.values]
    if bad_sizes:
        errors.add(
            "size_classes", _("企业规模代码无效：%(codes)s。"), "invalid_choice", {"codes": "、".join(bad_sizes)}
        )
    bad_sections = [v for v in values.get("industry_sections") or [] if v not in INDUSTRY_SECTIONS]
    if bad_sections:
        errors.add(
            "industry_sections",
            _("行业门类代码无效：%(codes)s（应为GB/T 4754门类A–T）。"),
            "invalid_choice",
            {"codes": "、".join(bad_sections)},
        )
    issued: datetime.date | None = values.get("issued_on")
    start: datetime.date | None = values.get("effective_from")
    end: datetime.date | None = values.get("effective_until")
    if issued is None:
        errors.add("issued_on", _("请填写发布日期。"), "required")
    if start is None:
        errors.add("effective_from", _("请填写施行日期。"), "required")
    if issued is not None and start is not None and start < issued:
        errors.add("effective_from", _("施行日期不能早于发布日期。"), "before_issue")
    if start is not None and end is not None and end < start:
        errors.add("effective_until", _("有效期至不能早于施行日期。"), "before_start")
    _check_region(actor, owner, values, errors)


def _check_region(actor: Any, owner: Organisation, values: Mapping[str, Any], errors: _Errors) -> None:
    """The region within the issuer's own; a park inside the region and, for a park administration, its own."""
    scope = scope_for(actor)
    region: Region | None = values.get("region")
    park: Park | None = values.get("park")
    platform = scope is not None and scope.is_platform
    own_prefix = None if platform else (scope.region_prefix if scope is not None else None)
    if owner.kind == OrganisationKind.PARK_ADMIN and not platform:
        if park is None:
            errors.add("park", _("园区管委会发布的政策须指定适用园区。"), "required")
        elif park.administering_org is None or not park.administering_org.tree_path.startswith(owner.tree_path):
            errors.add("park", _("只能为本单位管理的园区发布政策。"), "not_own_park")
        elif region is not None and not park.region.code.startswith(_prefix(region)):
            errors.add("region", _("适用地区须包含所选园区。"), "park_outside_region")
        return
    if region is None and park is None and own_prefix not in (None, ""):
        errors.add("region", _("请选择适用地区（全国性政策只能由国家层面机关发布）。"), "required")
        return
    if own_prefix and region is not None and not region.code.startswith(own_prefix):
        errors.add("region", _("适用地区须在本单位辖区内。"), "outside_region")
    if park is not None:
        park_code = park.region.code
        if own_prefix and not park_code.startswith(own_prefix):
            errors.add("park", _("园区不在本单位辖区内。"), "outside_region")
        if region is not None and not park_code.startswith(_prefix(region)):
            errors.add("park", _("园区不在所选适用地区内。"), "park_outside_region")


def _prefix(region: Region) -> str:
    return region.prefix or region.code


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    for name in ("title", "issuing_body", "document_number", "summary", "body", "source_url"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    for name in ("size_classes", "industry_sections"):
        if name in cleaned:
            cleaned[name] = _codes(cleaned[name])
    if "industry_sections" in cleaned:
        cleaned["industry_sections"] = [c.upper() for c in cleaned["industry_sections"]]
    return cleaned


def _check_unique(values: Mapping[str, Any], errors: _Errors, exclude_pk: int | None = None) -> None:
    number = values.get("document_number") or ""
    if not number:
        return
    clash = Policy.objects.filter(issuing_body=values.get("issuing_body") or "", document_number=number)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        errors.add("document_number", _("同一发文机关的文号已存在。"), "unique")


def _derive(policy: Policy) -> None:
    """Fields kept from others: the region code (for prefix filters) and the segmented search text."""
    if policy.region is None and policy.park is not None:
        policy.region = policy.park.region
    policy.region_code = policy.region.code if policy.region is not None else ""
    policy.search_text = build_search_text(
        [policy.title, policy.document_number, policy.issuing_body, policy.summary, policy.body]
    )


def _values(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in EDITABLE_FIELDS}


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------


@transaction.atomic
def policy_create(
    *,
    actor: User,
    title: str,
    kind: str,
    issued_on: datetime.date,
    effective_from: datetime.date,
    body: str,
    issuing_body: str = "",
    document_number: str = "",
    region: Region | None = None,
    park: Park | None = None,
    effective_until: datetime.date | None = None,
    summary: str = "",
    size_classes: Iterable[str] = (),
    industry_sections: Iterable[str] = (),
    source_url: str = "",
) -> Policy:
    """Draft a policy (草稿) in the name of the actor's organisation."""
    if not may_issue(actor):
        raise PermissionDenied("only government bodies and park administrations issue policies")
    owner = getattr(actor, "organisation", None)
    if owner is None:
        raise _error("owner_org", _("发布政策须以机构名义，您的账户未关联机构。"), "no_organisation")
    values = _clean(
        {
            "title": title,
            "issuing_body": issuing_body or owner.name,
            "document_number": document_number,
            "kind": kind,
            "region": region,
            "park": park,
            "issued_on": issued_on,
            "effective_from": effective_from,
            "effective_until": effective_until,
            "summary": summary,
            "body": body,
            "size_classes": list(size_classes),
            "industry_sections": list(industry_sections),
            "source_url": source_url,
        }
    )
    errors = _Errors()
    _check(actor, owner, values, errors)
    _check_unique(values, errors)
    errors.raise_any()
    policy = Policy(**values, owner_org=owner, status=PolicyStatus.DRAFT, created_by=_person(actor))
    _derive(policy)
    save_validated(policy)
    record_event(acting_user=actor, action="policy.create", instance=policy, new=snapshot(policy, AUDITED_FIELDS))
    return policy


def _lock(policy: Policy, expected_version: int | None) -> Policy:
    locked = (
        Policy.objects.select_for_update(of=("self",))
        .select_related("owner_org", "region", "park", "park__region", "park__administering_org")
        .get(pk=policy.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise _error(
            "version",
            _("政策已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": locked.version},
        )
    return locked


def _save(
    locked: Policy, before: dict[str, Any], actor: User, action: str, extra: dict[str, Any] | None = None
) -> None:
    locked.version += 1
    _derive(locked)
    save_validated(locked)
    record_event(
        acting_user=actor,
        action=action,
        instance=locked,
        old=before,
        new=snapshot(locked, AUDITED_FIELDS),
        extra=extra,
    )


@transaction.atomic
def policy_update(*, actor: User, policy: Policy, values: Mapping[str, Any], expected_version: int | None) -> Policy:
    """Change the fields given in `values` (names from EDITABLE_FIELDS); the search text is rebuilt."""
    _require_change(actor, policy)
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise _error(unknown[0], _("此字段不能修改。"), "not_editable")
    locked = _lock(policy, expected_version)
    before = snapshot(locked, AUDITED_FIELDS)
    merged = _values(locked) | _clean(values)
    errors = _Errors()
    _check(actor, locked.owner_org, merged, errors)
    _check_unique(merged, errors, exclude_pk=locked.pk)
    errors.raise_any()
    changed = {k: v for k, v in merged.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    for name, value in changed.items():
        setattr(locked, name, value)
    if "park" in changed and "region" not in values and locked.park is not None:
        locked.region = locked.park.region
    _save(locked, before, actor, "policy.update")
    return locked


@transaction.atomic
def policy_publish(*, actor: User, policy: Policy, expected_version: int | None) -> Policy:
    """Publish a draft or withdrawn policy (已发布): from now on it is public."""
    _require_change(actor, policy)
    locked = _lock(policy, expected_version)
    if locked.status == PolicyStatus.PUBLISHED:
        raise _error("status", _("政策已发布。"), "invalid_state")
    before = snapshot(locked, AUDITED_FIELDS)
    locked.status = PolicyStatus.PUBLISHED
    locked.published_at = business_now()
    _save(locked, before, actor, "policy.publish")
    return locked


@transaction.atomic
def policy_withdraw(*, actor: User, policy: Policy, expected_version: int | None, reason: str = "") -> Policy:
    """Withdraw a published policy (已撤回): it leaves the public library, its owner keeps it."""
    _require_change(actor, policy)
    locked = _lock(policy, expected_version)
    if locked.status != PolicyStatus.PUBLISHED:
        raise _error("status", _("只有已发布的政策可以撤回。"), "invalid_state")
    before = snapshot(locked, AUDITED_FIELDS)
    locked.status = PolicyStatus.WITHDRAWN
    _save(locked, before, actor, "policy.withdraw", extra={"reason": reason.strip()[:500]} if reason else None)
    return locked


# ---------------------------------------------------------------------------
# Attachments
# ---------------------------------------------------------------------------


@transaction.atomic
def attachment_add(*, actor: User, policy: Policy, upload: Any) -> PolicyAttachment:
    """Attach a file (PDF, PNG, JPG or DOCX, checked by content through `core.uploads`), stored under its digest."""
    _require_change(actor, policy)
    locked = _lock(policy, None)
    if locked.attachments.count() >= MAX_ATTACHMENTS:
        raise _error("file", _("每项政策最多%(max)s个附件。"), "too_many", {"max": MAX_ATTACHMENTS})
    content, checked = uploads.read(upload, policy=uploads.DOCUMENT)
    digest = hashlib.sha256(content).hexdigest()
    attachment = PolicyAttachment(
        policy=locked,
        name=checked.display_name[:255],
        content_type=checked.content_type,
        size=checked.size,
        sha256=digest,
        uploaded_by=_person(actor),
    )
    attachment.file.save(f"{digest}{checked.extension}", ContentFile(content), save=False)
    save_validated(attachment)
    record_event(
        acting_user=actor,
        action="policy.attachment_add",
        instance=locked,
        extra={"attachment": attachment.pk, "name": attachment.name, "sha256": digest, "size": checked.size},
    )
    return attachment


@transaction.atomic
def attachment_remove(*, actor: User, attachment: PolicyAttachment) -> None:
    """Remove an attachment; the stored file is deleted after the transaction commits."""
    policy = attachment.policy
    _require_change(actor, policy)
    locked = _lock(policy, None)
    found = PolicyAttachment.objects.select_for_update().filter(pk=attachment.pk, policy=locked).first()
    if found is None:
        raise _error("attachment", _("附件不存在。"), "not_found")
    record_event(
        acting_user=actor,
        action="policy.attachment_remove",
        instance=locked,
        extra={"attachment": found.pk, "name": found.name, "sha256": found.sha256},
    )
    stored = found.file.name
    storage = found.file.storage
    found.delete()
    if stored and not PolicyAttachment.objects.filter(file=stored).exists():
        transaction.on_commit(lambda: storage.delete(stored))
