"""Reads of the policy library (政策工具箱和资源库).

Public pages (no login) read only published policies (`public_policies`); signed-in reads start from
`Policy.objects.restrict(user, Action.VIEW)`, which adds an issuer's own drafts and, for a government body, the
drafts of its region. `applicable_policies` answers "which policies apply to me" (哪些政策适用于我) for an
enterprise's region, park, size class and industry section on a given day.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from ipledge.core.choices import GOVERNMENT_KINDS
from ipledge.core.regions import candidate_codes
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Park

from .choices import PolicyStatus
from .models import Policy
from .search import ParsedQuery, match_q, parse_query, title_q


def _with_related(qs: QuerySet[Policy]) -> QuerySet[Policy]:
    return qs.select_related("region", "park", "owner_org")


def region_prefix(code: str) -> str:
    """Significant digits of a 6-digit code: "110000" → "11", "320100" → "3201"; other input is kept."""
    if len(code) == 6 and code.isdigit():
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def public_policies() -> QuerySet[Policy]:
    """Every published policy: what anonymous visitors may read."""
    return _with_related(Policy.objects.filter(status=PolicyStatus.PUBLISHED))


def in_force_q(today: datetime.date) -> Q:
    return Q(effective_from__lte=today) & (Q(effective_until__isnull=True) | Q(effective_until__gte=today))


def region_covers_q(region_code: str) -> Q:
    """Policies whose region is national or contains `region_code` (its county, city or province)."""
    codes = candidate_codes(region_code) if region_code else []
    return Q(region_code="") | Q(region_code__in=codes)


def applicable_policies(
    *,
    region_code: str,
    park: Park | None,
    size_class: str,
    industry_section: str,
    today: datetime.date,
) -> QuerySet[Policy]:
    """Published policies in force on `today` that apply to an enterprise with these attributes.

    A policy applies when it is national or its region contains `region_code`, it names no park or this park, and
    its size classes / industry sections are empty or contain the enterprise's. An empty `size_class` or
    `industry_section` (not known) does not narrow the list. Without a region, the park's region is used.
    """
    if not region_code and park is not None:
        region_code = park.region.code
    qs = (
        Policy.objects.filter(status=PolicyStatus.PUBLISHED)
        .filter(in_force_q(today))
        .filter(region_covers_q(region_code))
    )
    qs = qs.filter(Q(park__isnull=True) | Q(park=park)) if park is not None else qs.filter(park__isnull=True)
    # JSON list containment is not portable (SQLite has no `contains` on JSONField): check in Python.
    wanted = []
    for pk, sizes, sections in qs.values_list("pk", "size_classes", "industry_sections"):
        if size_class and sizes and size_class not in sizes:
            continue
        if industry_section and sections and industry_section not in sections:
            continue
        wanted.append(pk)
    return _with_related(Policy.objects.filter(pk__in=wanted)).order_by("-issued_on", "-pk")


def applicability_reasons(
    policy: Policy, *, region_code: str, park: Park | None, size_class: str, industry_section: str
) -> list[str]:
    """Why a policy applies (shown next to it on 哪些政策适用于我)."""
    reasons: list[str] = []
    if not policy.region_code:
        reasons.append(_("全国性政策"))
    elif policy.region_code == region_code:
        reasons.append(_("适用于您所在地区：%(region)s") % {"region": policy.region})
    else:
        reasons.append(_("您所在地区属于%(region)s") % {"region": policy.region})
    if policy.park_id is not None and park is not None and policy.park_id == park.pk:
        reasons.append(_("面向%(park)s入园企业") % {"park": park.name})
    if policy.size_classes:
        reasons.append(
            _("企业规模符合（%(size)s）") % {"size": size_class} if size_class else _("限定企业规模，请核对")
        )
    else:
        reasons.append(_("不限企业规模"))
    if policy.industry_sections:
        reasons.append(
            _("行业门类符合（%(section)s）") % {"section": industry_section}
            if industry_section
            else _("限定行业门类，请核对")
        )
    else:
        reasons.append(_("不限行业"))
    return reasons


@dataclass(frozen=True)
class PolicyFilters:
    q: str = ""
    kind: str = ""
    region_code: str = ""  # a 6-digit code or a 2/4/6-digit prefix: the region and below
    valid_on: datetime.date | None = None  # in force on that day
    expired_on: datetime.date | None = None  # no longer in force on that day
    issuing_body: str = ""
    status: str = ""


def search_policies(
    qs: QuerySet[Policy],
    *,
    q: str = "",
    kind: str = "",
    region_code: str = "",
    valid_on: datetime.date | None = None,
    issuing_body: str = "",
    expired_on: datetime.date | None = None,
    status: str = "",
) -> QuerySet[Policy]:
    """Narrow `qs` by a word query and filters; with a query, title hits come before body hits, then newest."""
    if kind:
        qs = qs.filter(kind=kind)
    if region_code:
        qs = qs.filter(region_code__startswith=region_prefix(region_code))
    if valid_on is not None:
        qs = qs.filter(in_force_q(valid_on))
    if expired_on is not None:
        qs = qs.filter(effective_until__lt=expired_on)
    if issuing_body:
        qs = qs.filter(issuing_body__icontains=issuing_body.strip())
    if status:
        qs = qs.filter(status=status)
    parsed = parse_query(q)
    if parsed.is_empty:
        return qs.order_by("-issued_on", "-pk")
    qs = qs.filter(match_q(parsed))
    title = title_q(parsed)
    if title is None:
        return qs.order_by("-issued_on", "-pk")
    return qs.annotate(
        title_hit=Case(When(title, then=Value(1)), default=Value(0), output_field=IntegerField())
    ).order_by("-title_hit", "-issued_on", "-pk")


def query_highlights(q: str) -> tuple[str, ...]:
    parsed: ParsedQuery = parse_query(q)
    return parsed.highlights


# --- signed-in reads ---------------------------------------------------------------------------------------------


def visible_policies(*, user: Any) -> QuerySet[Policy]:
    return _with_related(Policy.objects.restrict(user, Action.VIEW))


def readable_policies(*, user: Any) -> QuerySet[Policy]:
    """What a page reader may open: published ones for everybody, plus what a signed-in user may view."""
    if scope_for(user) is None:
        return public_policies()
    return visible_policies(user=user)


def managed_policies(*, user: Any) -> QuerySet[Policy]:
    """An issuer's management list: its own policies (any status) and, for a government body, its region's."""
    scope = scope_for(user)
    qs = visible_policies(user=user)
    if scope is None:
        return qs.none()
    if scope.is_platform:
        return qs
    cond: Q | None = scope.org_tree_q("owner_org__tree_path") if scope.organisation_id is not None else None
    if scope.kind in GOVERNMENT_KINDS:
        region = scope.region_q("region_code")
        if region is not None:
            cond = region if cond is None else cond | region
    return qs.filter(cond) if cond is not None else qs.none()


def editable_policies(*, user: Any) -> QuerySet[Policy]:
    return _with_related(Policy.objects.restrict(user, Action.CHANGE))


def can_add_policies(user: Any) -> bool:
    """Whether the user may create policies (the ADD rule does not depend on a row)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or Policy.scope_q(scope, Action.ADD) is not None
