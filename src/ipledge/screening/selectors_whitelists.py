"""Reads of the whitelist pages and API (授信白名单): criteria, whitelists per role, a version with its entries, the
province's approval queue, an enterprise's own status ("why am I in or out"), and the words for reason codes.

Every read starts from `restrict(user, action)`: a bank sees approved versions and their included entries only, an
enterprise its own entries once approved, a park its own whitelists, an IP office those of its region."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ipledge.core.choices import OrganisationKind
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for

from .choices import ApplicationStatus, CriteriaLevel, EntrySource, VersionStatus
from .engine.spec import (
    REASON_PASSED,
    RULES,
    CriteriaSpec,
    ExclusionRule,
    ScorecardSpec,
)
from .models import Criteria, Whitelist, WhitelistApplication, WhitelistEntry, WhitelistVersion
from .services.whitelists import (
    PARK_PREFIX,
    REASON_ADDED_BY_PARK,
    REASON_NOT_CANDIDATE,
    REASON_REMOVED_BY_PARK,
    criteria_spec,
)

# ---------------------------------------------------------------------------
# Reason codes in words
# ---------------------------------------------------------------------------


def rule_label(rule: str) -> str:
    from .explain import rule_label as label

    return label(rule)


def _engine_text(code: str) -> str:
    from .explain import describe_reason

    return describe_reason(code)


def describe(code: str) -> str:
    """One reason code in words, including the whitelist's own codes and the "park:" prefix."""
    if code == REASON_REMOVED_BY_PARK:
        return _("园区调出（见园区意见）")
    if code == REASON_ADDED_BY_PARK:
        return _("园区推荐纳入（通过省级基准标准，园区细化标准未通过项由园区认可）")
    if code == REASON_NOT_CANDIDATE:
        return _("不再是园区在册企业，也未申请")
    if code.startswith(PARK_PREFIX):
        return _("园区细化标准：%(text)s") % {"text": _engine_text(code[len(PARK_PREFIX) :])}
    return _engine_text(code)


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    park_only: bool
    passed: bool


def reasons(codes: Sequence[str] | None) -> list[Reason]:
    return [
        Reason(code=c, text=describe(c), park_only=c.startswith(PARK_PREFIX), passed=c == REASON_PASSED)
        for c in codes or ()
    ]


@functools.lru_cache(maxsize=64)
def _card(scorecard_id: int, fingerprint: str) -> ScorecardSpec:
    return ScorecardSpec.from_json(json.loads(fingerprint))


def point_rows(entry: WhitelistEntry) -> list[dict[str, Any]]:
    """Points per characteristic of an entry, in its card's order with the card's labels and (for the expert card)
    the documented reason for each weight: what the score is made of, beyond the card's base points."""
    scorecard = entry.version.scorecard
    from .explain import describe_points

    card = _card(scorecard.pk, json.dumps(scorecard.definition, sort_keys=True))
    return describe_points(card, entry.points or {}, entry.values or {})


# ---------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------


def criteria_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Criteria]:
    qs = Criteria.objects.restrict(user, Action.VIEW).select_related("owner", "region", "park", "scorecard")
    filters = filters or {}
    if filters.get("level"):
        qs = qs.filter(level=filters["level"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("period"):
        qs = qs.filter(period=str(filters["period"]).strip().upper())
    if filters.get("park_id"):
        qs = qs.filter(park_id=filters["park_id"])
    if filters.get("region"):
        qs = qs.filter(region__code=filters["region"])
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    return qs


def may_change_criteria(user: Any, criteria: Criteria) -> bool:
    return Criteria.objects.restrict(user, Action.CHANGE).filter(pk=criteria.pk).exists()


def exclusion_text(rule: ExclusionRule) -> str:
    parts = [rule_label(rule.rule)]
    if rule.rule == "tax_rating":
        parts.append(_("等级为 %(ratings)s") % {"ratings": "、".join(rule.params.get("ratings") or [])})
    if rule.rule == "penalties":
        parts.append(
            _("%(days)s 日内超过 %(count)s 次")
            % {"days": rule.params.get("within_days", "—"), "count": rule.params.get("max_count", "—")}
        )
    if rule.effective_from or rule.effective_to:
        parts.append(
            _("%(start)s 至 %(end)s")
            % {
                "start": rule.effective_from.isoformat() if rule.effective_from else _("不限"),
                "end": rule.effective_to.isoformat() if rule.effective_to else _("长期"),
            }
        )
    return "，".join(parts)


def exclusion_rows(criteria: Criteria) -> list[dict[str, Any]]:
    return [
        {"rule": r.rule, "label": rule_label(r.rule), "text": exclusion_text(r)}
        for r in criteria_spec(criteria).exclusions
    ]


def sizes_text(sizes: Sequence[str]) -> str:
    from ipledge.registry.choices import SizeClass

    labels = dict(SizeClass.choices)
    return "、".join(str(labels.get(s, s)) for s in sizes) if sizes else _("不限")


def _spec_cells(spec: CriteriaSpec) -> dict[str, str]:
    by_rule: dict[str, list[str]] = {}
    for exclusion in spec.exclusions:
        by_rule.setdefault(exclusion.rule, []).append(exclusion_text(exclusion))
    cells = {
        "min_score": f"{spec.min_score:g}",
        "min_invention_patents": str(spec.min_invention_patents),
        "require_high_tech_or_specialised": _("是") if spec.require_high_tech_or_specialised else _("否"),
        "allowed_sizes": sizes_text(spec.allowed_sizes),
    }
    for rule in RULES:
        cells[f"exclusion:{rule}"] = "；".join(by_rule.get(rule, [])) or "—"
    return cells


COMPARE_ROWS = (
    ("min_score", gettext_noop("最低评分")),
    ("min_invention_patents", gettext_noop("最少有效发明专利数")),
    ("require_high_tech_or_specialised", gettext_noop("须为高新技术企业或专精特新企业")),
    ("allowed_sizes", gettext_noop("企业规模")),
)


def criteria_comparison(criteria: Criteria) -> list[dict[str, Any]]:
    """A park's criteria beside the baseline they rest on: each row's two values and whether the park tightens,
    keeps or (refused at publishing) loosens it."""
    from .engine.rules import tightening_violations

    if criteria.level != CriteriaLevel.PARK or criteria.baseline is None:
        return []
    base_spec, park_spec = criteria_spec(criteria.baseline), criteria_spec(criteria)
    loosened: dict[str, list[str]] = {}
    for v in tightening_violations(base_spec, park_spec):
        loosened.setdefault(_violation_key(v.field, v.message_params or {}), []).append(v.code)
    base, park = _spec_cells(base_spec), _spec_cells(park_spec)
    rows = [(key, _(label)) for key, label in COMPARE_ROWS]
    rows += [(f"exclusion:{rule}", _("排除：%(rule)s") % {"rule": rule_label(rule)}) for rule in RULES]
    result = []
    for key, label in rows:
        if key in loosened:
            verdict = "loosens"
        elif base[key] == park[key]:
            verdict = "same"
        else:
            verdict = "tightens"
        result.append({"key": key, "label": label, "baseline": base[key], "park": park[key], "verdict": verdict})
    if "exclusions" in loosened:  # a violation on the list as a whole (not one rule) marks every rule row
        for row in result:
            if row["key"].startswith("exclusion:") and row["verdict"] != "same":
                row["verdict"] = "loosens"
    return result


def _violation_key(field_name: str, params: Mapping[str, Any]) -> str:
    head = field_name.split(".", 1)[0].split("[", 1)[0]
    if head != "exclusions":
        return head
    rule = params.get("rule")
    if rule is None:
        for part in field_name.replace("[", ".").replace("]", "").split("."):
            if part in RULES:
                rule = part
    return f"exclusion:{rule}" if rule in RULES else "exclusions"


def tightening_problems(criteria: Criteria) -> list[str]:
    """What would stop a park's draft from being published, in words (empty when it only tightens)."""
    return [
        f"{row['label']}：{row['baseline']} → {row['park']}"
        for row in criteria_comparison(criteria)
        if row["verdict"] == "loosens"
    ]


# ---------------------------------------------------------------------------
# Whitelists and versions
# ---------------------------------------------------------------------------


def whitelist_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Whitelist]:
    """Parks see their own, IP offices and oversight bodies their region, banks what they subscribe to."""
    qs = Whitelist.objects.restrict(user, Action.VIEW).select_related(
        "park", "park__region", "baseline", "criteria", "current_version"
    )
    filters = filters or {}
    if filters.get("period"):
        qs = qs.filter(period=str(filters["period"]).strip().upper())
    if filters.get("park_id"):
        qs = qs.filter(park_id=filters["park_id"])
    if filters.get("q"):
        qs = qs.filter(park__name__icontains=filters["q"])
    return qs


def approval_queue(*, user: Any) -> QuerySet[WhitelistVersion]:
    """Submitted versions an IP office's reviewer or admin may decide (empty for everyone else)."""
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.IP_OFFICE):
        return WhitelistVersion.objects.none()
    return (
        WhitelistVersion.objects.restrict(user, Action.APPROVE)
        .filter(status=VersionStatus.SUBMITTED)
        .select_related("whitelist__park", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def versions_of(*, user: Any, whitelist: Whitelist) -> QuerySet[WhitelistVersion]:
    return (
        WhitelistVersion.objects.restrict(user, Action.VIEW)
        .filter(whitelist=whitelist)
        .select_related("prepared_by", "submitted_by", "decided_by")
        .order_by("-number")
    )


def version_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[WhitelistVersion]:
    qs = WhitelistVersion.objects.restrict(user, Action.VIEW).select_related("whitelist__park", "scorecard")
    filters = filters or {}
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("whitelist_id"):
        qs = qs.filter(whitelist_id=filters["whitelist_id"])
    return qs.order_by("-created_at", "-pk")


def version_entries(
    *,
    user: Any,
    version: WhitelistVersion,
    included: bool | None = None,
    source: str | None = None,
    q: str | None = None,
) -> QuerySet[WhitelistEntry]:
    """The entries of a version the user may read (a bank: the included ones), filtered."""
    qs = (
        WhitelistEntry.objects.restrict(user, Action.VIEW)
        .filter(version=version)
        .select_related("enterprise", "version__scorecard")
        .order_by("-included", "-score", "pk")
    )
    if included is not None:
        qs = qs.filter(included=included)
    if source:
        qs = qs.filter(source=source)
    if q:
        q = q.strip()
        qs = qs.filter(Q(enterprise__name__icontains=q) | Q(enterprise__uscc__iexact=q))
    return qs


def may_act_on_version(user: Any, version: WhitelistVersion, action: str) -> bool:
    scope = scope_for(user)
    if scope is None:
        return False
    if action == Action.APPROVE and not (scope.is_platform or scope.kind == OrganisationKind.IP_OFFICE):
        return False
    if action == Action.CHANGE and not (scope.is_platform or scope.kind == OrganisationKind.PARK_ADMIN):
        return False
    return WhitelistVersion.objects.restrict(user, action).filter(pk=version.pk).exists()


def may_screen(user: Any, whitelist_or_park: Any) -> bool:
    """Whether the user runs screenings for this park (its administration, with a role that may change)."""
    from ipledge.registry.models import Park

    park = whitelist_or_park.park if isinstance(whitelist_or_park, Whitelist) else whitelist_or_park
    scope = scope_for(user)
    if scope is None or not scope.may(Action.CHANGE):
        return False
    if scope.is_platform:
        return True
    if scope.kind != OrganisationKind.PARK_ADMIN:
        return False
    return Park.objects.filter(pk=park.pk, administering_org__tree_path__startswith=scope.org_tree_path).exists()


def screenable_parks(*, user: Any) -> QuerySet[Any]:
    from ipledge.registry.models import Park

    scope = scope_for(user)
    if scope is None or not scope.may(Action.CHANGE):
        return Park.objects.none()
    if scope.is_platform:
        return Park.objects.select_related("region").order_by("name")
    if scope.kind != OrganisationKind.PARK_ADMIN:
        return Park.objects.none()
    return (
        Park.objects.filter(administering_org__tree_path__startswith=scope.org_tree_path)
        .select_related("region")
        .order_by("name")
    )


# ---------------------------------------------------------------------------
# Applications and an enterprise's own status
# ---------------------------------------------------------------------------


def application_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[WhitelistApplication]:
    qs = WhitelistApplication.objects.restrict(user, Action.VIEW).select_related(
        "enterprise", "park", "answered_in", "submitted_by"
    )
    filters = filters or {}
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("period"):
        qs = qs.filter(period=str(filters["period"]).strip().upper())
    if filters.get("park_id"):
        qs = qs.filter(park_id=filters["park_id"])
    return qs


def applicable_parks(*, user: Any) -> QuerySet[Any]:
    """Parks the user's enterprise is an active member of today (where it may apply)."""
    from django.db.models import Q as Q_

    from ipledge.core.context import business_date
    from ipledge.registry.models import Park, ParkMembership

    scope = scope_for(user)
    if scope is None or scope.kind != OrganisationKind.ENTERPRISE:
        return Park.objects.none()
    today = business_date()
    members = ParkMembership.objects.filter(
        enterprise__organisation_id=scope.organisation_id, joined_on__lte=today
    ).filter(Q_(left_on__isnull=True) | Q_(left_on__gt=today))
    return Park.objects.filter(pk__in=members.values("park_id")).order_by("name")


@dataclass
class PeriodStatus:
    """One park and period for an enterprise: the current approved entry (if any) and its application."""

    park: Any
    period: str
    entry: WhitelistEntry | None = None
    application: WhitelistApplication | None = None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.entry is not None:
            return "in" if self.entry.included else "out"
        if self.application is not None and self.application.status == ApplicationStatus.PENDING:
            return "pending"
        return "none"


def my_entries(*, user: Any) -> QuerySet[WhitelistEntry]:
    """The enterprise's own entries in approved (current) versions."""
    scope = scope_for(user)
    if scope is None or scope.organisation_id is None:
        return WhitelistEntry.objects.none()
    return (
        WhitelistEntry.objects.restrict(user, Action.VIEW)
        .filter(enterprise__organisation_id=scope.organisation_id, version__status=VersionStatus.APPROVED)
        .select_related("version__whitelist__park", "version__scorecard", "enterprise")
        .order_by("-version__whitelist__period", "version__whitelist__park__name")
    )


def my_status(*, user: Any) -> list[PeriodStatus]:
    """Per park and period: whether the enterprise is in the approved whitelist and why, with its application."""
    rows: dict[tuple[int, str], PeriodStatus] = {}
    for entry in my_entries(user=user):
        whitelist = entry.version.whitelist
        rows[(whitelist.park_id, whitelist.period)] = PeriodStatus(
            park=whitelist.park, period=whitelist.period, entry=entry, reasons=reasons(entry.reasons)
        )
    scope = scope_for(user)
    applications = application_list(user=user).exclude(status=ApplicationStatus.WITHDRAWN)
    if scope is not None and scope.organisation_id is not None:
        applications = applications.filter(enterprise__organisation_id=scope.organisation_id)
    for application in applications.order_by("created_at"):
        key = (application.park_id, application.period)
        row = rows.setdefault(key, PeriodStatus(park=application.park, period=application.period))
        row.application = application
        if row.entry is None and application.answer:
            row.reasons = reasons(application.answer)
    return sorted(rows.values(), key=lambda r: (r.period, r.park.name), reverse=True)


def version_summary(version: WhitelistVersion) -> dict[str, Any]:
    counts = version.entries.aggregate(
        applied=Count("pk", filter=Q(source=EntrySource.APPLIED)),
        park_added=Count("pk", filter=Q(source=EntrySource.PARK_ADDED)),
    )
    return {
        "candidates": version.candidates,
        "included": version.included,
        "excluded": version.candidates - version.included,
        **counts,
    }


def submitted_versions_for(user: User) -> int:
    return approval_queue(user=user).count()
