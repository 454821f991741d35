"""Whitelist API (授信白名单, W1): criteria (the province's baseline, the parks' refinements that may only tighten
it), screening a park into a draft version, the park's overrides, submission, the province's approval or return
(maker-checker), the versions with their entries ("why in or out") and diff, and enterprises' applications.

Conventions as in the disposal API: reads start from `restrict(user, "view")` (another organisation's object answers
404 like a missing one); references in a body are resolved within the caller's reach (else 400 `not_found` naming
the field); the services decide who may act (their `PermissionDenied` answers 403, their `ValidationError` 400 naming
the field and the rule, e.g. `looser_min_score`, `fails_baseline`, `maker_is_checker`). A row written with an API
key records no user (its audit event names the key); maker-checker treats a key as never a different person.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    organisation_or_400,
    region_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registry.models import Enterprise, Park

from .. import selectors_whitelists as selectors
from ..models import Criteria, Scorecard, Whitelist, WhitelistApplication, WhitelistEntry, WhitelistVersion
from ..schemas_whitelists import (
    ScreeningApplicationFilter,
    ScreeningApplicationIn,
    ScreeningApplicationOut,
    ScreeningCriteriaDetailOut,
    ScreeningCriteriaFilter,
    ScreeningCriteriaIn,
    ScreeningCriteriaOut,
    ScreeningCriteriaPatch,
    ScreeningDecisionIn,
    ScreeningDiffOut,
    ScreeningEntryFilter,
    ScreeningEntryOut,
    ScreeningOverrideIn,
    ScreeningScreenIn,
    ScreeningVersionDetailOut,
    ScreeningWhitelistDetailOut,
    ScreeningWhitelistFilter,
    ScreeningWhitelistOut,
)
from ..services import whitelists as services

router = Router(tags=["screening"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
CriteriaId = Path(..., ge=1, le=MAX_ID)
WhitelistId = Path(..., ge=1, le=MAX_ID)
VersionId = Path(..., ge=1, le=MAX_ID)
EntryId = Path(..., ge=1, le=MAX_ID)
ApplicationId = Path(..., ge=1, le=MAX_ID)

CRITERIA_FIELDS = {"park": "park_id", "baseline": "baseline_id", "scorecard": "scorecard_id", "owner": "owner_id"}


def _criteria(request: HttpRequest, criteria_id: int) -> Criteria:
    user = caller(request)
    require(user, Criteria, Action.VIEW)
    return scoped_get(Criteria, user=user, pk=criteria_id)


def _criteria_detail(criteria_id: int) -> Criteria:
    return Criteria.objects.select_related(
        "region", "park", "owner", "baseline__region", "published_by", "scorecard"
    ).get(pk=criteria_id)


def _exclusions(items: Any) -> list[dict[str, Any]]:
    return [
        {
            "rule": e.rule,
            "effective_from": e.effective_from.isoformat() if e.effective_from else None,
            "effective_to": e.effective_to.isoformat() if e.effective_to else None,
            "params": e.params,
        }
        for e in items
    ]


def _scorecard(user: Any, pk: int | None) -> Scorecard | None:
    if pk is None:
        return None
    return resolve(Scorecard, user=user, action=Action.VIEW, field="scorecard_id", label_en="scorecard", pk=pk)


def _baseline(user: Any, pk: int | None) -> Criteria | None:
    if pk is None:
        return None
    return resolve(Criteria, user=user, action=Action.VIEW, field="baseline_id", label_en="baseline criteria", pk=pk)


# ---------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------


@router.get(
    "/screening/criteria",
    response={200: list[ScreeningCriteriaOut], **error_responses(403)},
    summary="Screening criteria (筛选标准): every published baseline and park refinement, and your own drafts",
)
@paginate(Paginated)
def criteria_list(request: HttpRequest, filters: Query[ScreeningCriteriaFilter]) -> QuerySet[Criteria]:
    user = caller(request)
    require(user, Criteria, Action.VIEW)
    return selectors.criteria_list(user=user, filters=filters.dict()).select_related("published_by")


@router.post(
    "/screening/criteria",
    response={201: ScreeningCriteriaDetailOut, **WRITE_ERRORS},
    summary="A draft baseline (a provincial or national IP office, for a region in its jurisdiction) or a draft "
    "park refinement (the park's administration, on the published baseline covering the park)",
)
def criteria_create(request: HttpRequest, payload: ScreeningCriteriaIn) -> Status[Criteria]:
    user = caller(request)
    require(user, Criteria, Action.ADD)
    owner = organisation_or_400(payload.owner_id, "owner_id", "制定机构", "Owner") or getattr(
        user, "organisation", None
    )
    park = (
        resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
        if payload.park_id is not None
        else None
    )
    if owner is None and park is not None:
        owner = park.administering_org
    if owner is None:
        raise ApiError(400, "required", "请指定制定机构。", "Name the owning organisation.", field="owner_id")
    try:
        criteria = services.criteria_create(
            owner=owner,
            level=str(payload.level),
            region=region_or_400(payload.region, "region"),
            period=payload.period,
            name=payload.name,
            scorecard=_scorecard(user, payload.scorecard_id),
            min_score=payload.min_score,
            min_invention_patents=payload.min_invention_patents,
            require_high_tech_or_specialised=payload.require_high_tech_or_specialised,
            allowed_sizes=[str(s) for s in payload.allowed_sizes],
            exclusions=_exclusions(payload.exclusions),
            park=park,
            baseline=_baseline(user, payload.baseline_id),
            note=payload.note,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, CRITERIA_FIELDS) from exc
    return Status(201, _criteria_detail(criteria.pk))


@router.get(
    "/screening/criteria/{criteria_id}",
    response={200: ScreeningCriteriaDetailOut, **READ_ERRORS},
    summary="One set of criteria; a park's shows each item beside the baseline's (tightens, same or loosens)",
)
def criteria_detail(request: HttpRequest, criteria_id: int = CriteriaId) -> Criteria:
    return _criteria_detail(_criteria(request, criteria_id).pk)


@router.patch(
    "/screening/criteria/{criteria_id}",
    response={200: ScreeningCriteriaDetailOut, **WRITE_ERRORS},
    summary="Change a draft (published criteria are replaced by publishing new ones, never edited)",
)
def criteria_update(request: HttpRequest, payload: ScreeningCriteriaPatch, criteria_id: int = CriteriaId) -> Criteria:
    criteria = _criteria(request, criteria_id)
    user = caller(request)
    data: dict[str, Any] = {
        k: v for k, v in payload.dict(exclude_unset=True).items() if k not in ("baseline_id", "scorecard_id")
    }
    if "exclusions" in data:
        data["exclusions"] = _exclusions(payload.exclusions or [])
    if "allowed_sizes" in data:
        data["allowed_sizes"] = [str(s) for s in payload.allowed_sizes or []]
    if payload.baseline_id is not None:
        data["baseline"] = _baseline(user, payload.baseline_id)
    if payload.scorecard_id is not None:
        data["scorecard"] = _scorecard(user, payload.scorecard_id)
    data = {k: v for k, v in data.items() if v is not None}
    try:
        services.criteria_update(criteria=criteria, data=data, acting_user=user)
    except ValidationError as exc:
        raise renamed_fields(exc, CRITERIA_FIELDS) from exc
    return _criteria_detail(criteria.pk)


@router.post(
    "/screening/criteria/{criteria_id}/publish",
    response={200: ScreeningCriteriaDetailOut, **WRITE_ERRORS},
    summary="Publish a draft: a baseline retires the one it replaces (same region and period); a park's must "
    "tighten, never loosen, the baseline (each loosened field named)",
)
def criteria_publish(request: HttpRequest, criteria_id: int = CriteriaId) -> Criteria:
    criteria = _criteria(request, criteria_id)
    try:
        services.criteria_publish(criteria=criteria, acting_user=caller(request))
    except ValidationError as exc:
        raise renamed_fields(exc, CRITERIA_FIELDS) from exc
    return _criteria_detail(criteria.pk)


# ---------------------------------------------------------------------------
# Whitelists, screening and versions
# ---------------------------------------------------------------------------


def _whitelists(user: Any) -> QuerySet[Whitelist]:
    return selectors.whitelist_list(user=user).select_related(
        "current_version__whitelist__park",
        "current_version__prepared_by",
        "current_version__submitted_by",
        "current_version__decided_by",
    )


def _version(request: HttpRequest, version_id: int) -> WhitelistVersion:
    user = caller(request)
    require(user, WhitelistVersion, Action.VIEW)
    return scoped_get(WhitelistVersion, user=user, pk=version_id)


def _version_detail(version_id: int) -> WhitelistVersion:
    return WhitelistVersion.objects.select_related("whitelist__park", "prepared_by", "submitted_by", "decided_by").get(
        pk=version_id
    )


@router.get(
    "/screening/whitelists",
    response={200: list[ScreeningWhitelistOut], **error_responses(403)},
    summary="Credit whitelists (授信白名单) within your reach: a park's own, an IP office's region, a bank's "
    "subscriptions",
)
@paginate(Paginated)
def whitelist_list(request: HttpRequest, filters: Query[ScreeningWhitelistFilter]) -> QuerySet[Whitelist]:
    user = caller(request)
    require(user, Whitelist, Action.VIEW)
    return (
        _whitelists(user)
        .filter(**({"period": filters.period.strip().upper()} if filters.period else {}))
        .filter(**({"park_id": filters.park_id} if filters.park_id else {}))
    )


# Declared before "/screening/whitelists/{whitelist_id}", whose path pattern would otherwise take "screen".
@router.post(
    "/screening/whitelists/screen",
    response={201: ScreeningVersionDetailOut, **WRITE_ERRORS},
    summary="The park's administration screens its members and pending applicants for a period into a draft "
    "version (re-screening an open draft replaces its entries)",
)
def whitelist_screen(request: HttpRequest, payload: ScreeningScreenIn) -> Status[WhitelistVersion]:
    user = caller(request)
    park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    version = services.whitelist_screen(park=park, period=payload.period, as_of=payload.as_of, acting_user=user)
    return Status(201, _version_detail(version.pk))


@router.get(
    "/screening/whitelists/{whitelist_id}",
    response={200: ScreeningWhitelistDetailOut, **READ_ERRORS},
    summary="One whitelist with its current version and the versions you may see",
)
def whitelist_detail(request: HttpRequest, whitelist_id: int = WhitelistId) -> Whitelist:
    user = caller(request)
    require(user, Whitelist, Action.VIEW)
    whitelist = scoped_get(Whitelist, user=user, pk=whitelist_id)
    whitelist = _whitelists(user).get(pk=whitelist.pk)
    versions = list(selectors.versions_of(user=user, whitelist=whitelist).select_related("whitelist__park"))
    whitelist.versions_visible = versions  # type: ignore[attr-defined]
    if whitelist.current_version_id not in {v.pk for v in versions}:
        whitelist.current_version = None
    return whitelist


@router.get(
    "/screening/versions/{version_id}",
    response={200: ScreeningVersionDetailOut, **READ_ERRORS},
    summary="One whitelist version: status, counts, the effective rules and who prepared, submitted and decided it",
)
def version_detail(request: HttpRequest, version_id: int = VersionId) -> WhitelistVersion:
    return _version_detail(_version(request, version_id).pk)


@router.get(
    "/screening/versions/{version_id}/entries",
    response={200: list[ScreeningEntryOut], **READ_ERRORS},
    summary="The version's enterprises, in or out, with the score, the points per characteristic and the reasons "
    "(a bank receives the included ones)",
)
@paginate(Paginated)
def version_entries(
    request: HttpRequest, filters: Query[ScreeningEntryFilter], version_id: int = VersionId
) -> QuerySet[WhitelistEntry]:
    version = _version(request, version_id)
    return selectors.version_entries(
        user=caller(request),
        version=version,
        included=filters.included,
        source=str(filters.source) if filters.source else None,
        q=filters.q,
    )


@router.get(
    "/screening/versions/{version_id}/diff",
    response={200: ScreeningDiffOut, **READ_ERRORS},
    summary="Added and removed enterprises against the approved version this one replaces, each with its reasons",
)
def version_diff(request: HttpRequest, version_id: int = VersionId) -> dict[str, Any]:
    version = _version(request, version_id)
    diff = version.diff or {}
    return {
        "version_id": version.pk,
        "previous_id": version.previous_id,
        "added": diff.get("added") or [],
        "removed": diff.get("removed") or [],
        "unchanged": int(diff.get("unchanged") or 0),
    }


@router.post(
    "/screening/versions/{version_id}/submit",
    response={200: ScreeningVersionDetailOut, **WRITE_ERRORS},
    summary="The park submits its draft to the province (draft → submitted)",
)
def version_submit(request: HttpRequest, version_id: int = VersionId) -> WhitelistVersion:
    version = _version(request, version_id)
    services.version_submit(version=version, acting_user=caller(request))
    return _version_detail(version.pk)


@router.post(
    "/screening/versions/{version_id}/approve",
    response={200: ScreeningVersionDetailOut, **WRITE_ERRORS},
    summary="A reviewer or admin of the IP office covering the park (never the submitter) approves: the version "
    "becomes current, the previous one is superseded, pending applications are answered",
)
def version_approve(
    request: HttpRequest, payload: ScreeningDecisionIn, version_id: int = VersionId
) -> WhitelistVersion:
    version = _version(request, version_id)
    services.version_approve(version=version, note=payload.note, acting_user=caller(request))
    return _version_detail(version.pk)


@router.post(
    "/screening/versions/{version_id}/return",
    response={200: ScreeningVersionDetailOut, **WRITE_ERRORS},
    summary="The province returns a submitted version with its reasons (note required); the park screens again",
)
def version_return(request: HttpRequest, payload: ScreeningDecisionIn, version_id: int = VersionId) -> WhitelistVersion:
    version = _version(request, version_id)
    services.version_return(version=version, note=payload.note, acting_user=caller(request))
    return _version_detail(version.pk)


@router.post(
    "/screening/entries/{entry_id}/override",
    response={200: ScreeningEntryOut, **WRITE_ERRORS},
    summary="The park takes an enterprise out of its draft (with a note), or puts one in that passes the baseline "
    "(its only failures are the park's tightening)",
)
def entry_override(request: HttpRequest, payload: ScreeningOverrideIn, entry_id: int = EntryId) -> WhitelistEntry:
    user = caller(request)
    require(user, WhitelistEntry, Action.VIEW)
    entry = scoped_get(WhitelistEntry, user=user, pk=entry_id)
    entry = services.entry_override(entry=entry, include=payload.include, note=payload.note, acting_user=user)
    return WhitelistEntry.objects.select_related("enterprise", "version__scorecard").get(pk=entry.pk)


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------


@router.get(
    "/screening/applications",
    response={200: list[ScreeningApplicationOut], **error_responses(403)},
    summary="Applications to be considered (自主申报): an enterprise's own, a park's received, an IP office's region",
)
@paginate(Paginated)
def application_list(
    request: HttpRequest, filters: Query[ScreeningApplicationFilter]
) -> QuerySet[WhitelistApplication]:
    user = caller(request)
    require(user, WhitelistApplication, Action.VIEW)
    return selectors.application_list(user=user, filters=filters.dict())


@router.post(
    "/screening/applications",
    response={201: ScreeningApplicationOut, **WRITE_ERRORS},
    summary="An enterprise asks a park it belongs to to consider it for the period's whitelist",
)
def application_create(request: HttpRequest, payload: ScreeningApplicationIn) -> Status[WhitelistApplication]:
    user = caller(request)
    require(user, WhitelistApplication, Action.ADD)
    if payload.enterprise_id is not None:
        enterprise = resolve(Enterprise, user=user, action=Action.VIEW, field="enterprise_id", pk=payload.enterprise_id)
    else:
        enterprise = Enterprise.objects.filter(organisation_id=getattr(user, "organisation_id", None)).first()
        if enterprise is None:
            raise ApiError(400, "required", "请指定申请企业。", "Name the applying enterprise.", field="enterprise_id")
    park = resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
    try:
        application = services.application_submit(
            enterprise=enterprise, park=park, period=payload.period, statement=payload.statement, acting_user=user
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"park": "park_id", "enterprise": "enterprise_id"}) from exc
    return Status(201, selectors.application_list(user=user).get(pk=application.pk))


@router.post(
    "/screening/applications/{application_id}/withdraw",
    response={200: ScreeningApplicationOut, **WRITE_ERRORS},
    summary="The enterprise withdraws a pending application",
)
def application_withdraw(request: HttpRequest, application_id: int = ApplicationId) -> WhitelistApplication:
    user = caller(request)
    require(user, WhitelistApplication, Action.VIEW)
    application = scoped_get(WhitelistApplication, user=user, pk=application_id)
    services.application_withdraw(application=application, acting_user=user)
    return selectors.application_list(user=user).get(pk=application.pk)
