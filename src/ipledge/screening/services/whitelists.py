"""Whitelist services (授信白名单): criteria (基准标准 and 园区细化标准), screening runs into versioned whitelists,
park overrides, submission and the province's approval (maker-checker), and enterprises' applications (自主申报).

Top-down and bottom-up (上下联动、总分结合):
- A provincial (or the national) IP office publishes the baseline criteria for a region and a period; publishing
  a new baseline for the same region and period retires the old one in the same transaction.
- A park's administration may publish its own criteria for its park on the published baseline that covers it:
  they may tighten the baseline, never loosen it (`engine.rules.tightening_violations`, checked at publishing).
- The park screens its enterprises (active members on the screening date, plus pending applicants) into a draft
  version. The engine runs twice, once on the baseline alone and once on the effective rules (baseline merged with
  the park's), so every entry says whether it fails the baseline or only the park's tightening.
- The park may take an enterprise out (with a note) or put one in that passes the baseline (its failures are the
  park's own), then submits; a reviewer or admin of an IP office whose region covers the park approves or returns.
  The submitter never approves. Approval supersedes the previous version and answers pending applications.

Reason codes stored on entries (`WhitelistEntry.reasons`) and in diffs:
- the engine's codes (`engine.spec`: "exclusion:<rule>", "below_min_score", … and "passed") for what fails the
  baseline, or for an included enterprise;
- the same codes prefixed "park:" ("park:below_min_score") for what fails only the park's tightening;
- "park:removed_by_park" (the park took an enterprise out) and "park:added_by_park" (it put one in whose only
  failures were the park's own rules; those failures stay listed next to it);
- "not_candidate" in a diff's "removed" list: the enterprise is no longer a member of the park nor an applicant.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, audited_update, record_event, snapshot
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, Scope, scope_for
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Enterprise, Park, ParkMembership

from ..choices import ApplicationStatus, CriteriaLevel, CriteriaStatus, EntrySource, VersionStatus
from ..engine.spec import REASON_PASSED, CriteriaSpec, ExclusionRule, ScorecardSpec
from ..models import Criteria, Scorecard, Whitelist, WhitelistApplication, WhitelistEntry, WhitelistVersion

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

PARK_PREFIX = "park:"
REASON_REMOVED_BY_PARK = "park:removed_by_park"
REASON_ADDED_BY_PARK = "park:added_by_park"
REASON_NOT_CANDIDATE = "not_candidate"

# A period is a year, a half-year or a quarter: 2027, 2027H1, 2027Q3.
PERIOD_RE = re.compile(r"^(19|20)\d{2}(H[12]|Q[1-4])?$")
MAX_MIN_SCORE = Decimal("9999.99")
MAX_SMALL_INT = 32767

CRITERIA_FIELDS = (
    "name",
    "period",
    "scorecard",
    "min_score",
    "min_invention_patents",
    "require_high_tech_or_specialised",
    "allowed_sizes",
    "exclusions",
    "note",
    "baseline",
)
TIGHTEN_ONLY = gettext_noop("园区标准只能在基准标准基础上从严，不能放宽")


def _error(
    field: str, message: str | StrPromise, code: str, params: Mapping[str, Any] | None = None
) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=dict(params) if params else None)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _scope(user: User | None) -> Scope | None:
    return scope_for(user) if user is not None else None


def _is_platform(user: User | None) -> bool:
    """The platform operator (a superuser), or the system itself when a command runs without a user."""
    if user is None:
        return True
    scope = scope_for(user)
    return scope is not None and scope.is_platform


def _in_tree(scope: Scope, org: Organisation | None) -> bool:
    return org is not None and org.tree_path.startswith(scope.org_tree_path)


def validate_period(period: str, field: str = "period") -> str:
    value = (period or "").strip().upper()
    if not PERIOD_RE.match(value):
        raise _error(field, _("期次格式应为年度（如 2027）、半年度（如 2027H1）或季度（如 2027Q3）。"), "period_format")
    return value


def criteria_spec(criteria: Criteria) -> CriteriaSpec:
    """The engine's view of stored criteria."""
    return CriteriaSpec(
        exclusions=tuple(ExclusionRule.from_json(rule) for rule in criteria.exclusions or ()),
        min_score=float(criteria.min_score),
        min_invention_patents=int(criteria.min_invention_patents),
        require_high_tech_or_specialised=bool(criteria.require_high_tech_or_specialised),
        allowed_sizes=tuple(criteria.allowed_sizes or ()),
    )


def scorecard_spec(scorecard: Scorecard) -> ScorecardSpec:
    return ScorecardSpec.from_json(scorecard.definition)


# ---------------------------------------------------------------------------
# Criteria (筛选标准)
# ---------------------------------------------------------------------------


# Labels of the criteria fields a violation can name (the model's verbose names, by field).
def _criteria_label(field: str) -> str:
    try:
        return str(getattr(Criteria._meta.get_field(field), "verbose_name", field))
    except Exception:  # noqa: BLE001 - a name that is not a model field is shown as given
        return field


def _violation_field(field: str) -> str:
    """The Criteria field a violation's dotted or indexed field name belongs to ("exclusions[2].params" →
    "exclusions")."""
    head = re.split(r"[.\[]", field or "", maxsplit=1)[0]
    return head if head in CRITERIA_FIELDS else "exclusions"


def _lazy(render: Any) -> Any:
    """A message rendered when it is shown, in the language of the moment (the API renders zh-hans and English)."""
    return lazy(render, str)()


def _exclusion_error(violations: Sequence[Any]) -> ValidationError:
    from ..explain import describe_violation

    errors = []
    for v in violations:
        index = re.match(r"exclusions\[(\d+)\]", v.field or "")

        def render(v: Any = v, index: Any = index) -> str:
            where = gettext("第 %(n)s 条硬性排除条件") % {"n": int(index.group(1)) + 1} if index else ""
            return f"{where}：{describe_violation(v)}" if where else describe_violation(v)

        errors.append(ValidationError(_lazy(render), code=v.code))
    return ValidationError({"exclusions": errors})


def _tightening_error(violations: Sequence[Any]) -> ValidationError:
    """Each loosened field named with what loosens it, and the rule: a park may tighten, never loosen."""
    from ..explain import describe_violation

    by_field: dict[str, list[ValidationError]] = {}
    for v in violations:
        field = _violation_field(v.field)

        def render(v: Any = v) -> str:
            text = describe_violation(v)
            # The explanation usually says it already ("只能从严"); otherwise the rule is added to it.
            return text if "从严" in text else f"{text}{gettext(TIGHTEN_ONLY)}。"

        by_field.setdefault(field, []).append(ValidationError(_lazy(render), code=v.code or "loosens_baseline"))
    return ValidationError(by_field)


def _normalise_exclusions(raw: Any) -> list[dict[str, Any]]:
    from ..engine.rules import validate_exclusions

    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        raise _error("exclusions", _("硬性排除条件应为规则列表。"), "invalid")
    rows = [dict(r) if isinstance(r, Mapping) else r for r in raw]
    violations = validate_exclusions(rows)
    if violations:
        raise _exclusion_error(violations)
    return [ExclusionRule.from_json(r).to_json() for r in rows]


def _clean_min_score(value: Any) -> Decimal:
    try:
        score = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise _error("min_score", _("最低评分应为数字。"), "invalid") from exc
    if not score.is_finite() or score < 0 or score > MAX_MIN_SCORE:
        raise _error("min_score", _("最低评分应在 0 至 9999.99 之间。"), "range")
    return score


def _clean_min_patents(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _error("min_invention_patents", _("最少有效发明专利数应为整数。"), "invalid") from exc
    if number < 0 or number > MAX_SMALL_INT:
        raise _error("min_invention_patents", _("最少有效发明专利数应在 0 至 32767 之间。"), "range")
    return number


def _clean_sizes(values: Iterable[Any]) -> list[str]:
    sizes = [str(v) for v in values or ()]
    unknown = [s for s in sizes if s not in SizeClass.values]
    if unknown:
        raise _error(
            "allowed_sizes",
            _("企业规模取值无效：%(values)s（可选：%(allowed)s）。"),
            "choice",
            {"values": "、".join(unknown), "allowed": "、".join(SizeClass.values)},
        )
    return [s for s in SizeClass.values if s in sizes]  # canonical order, no duplicates


def baseline_for(*, region: Region, period: str) -> Criteria | None:
    """The published baseline for `period` whose region covers `region`, the most specific one first."""
    code = region.code
    found = [
        c
        for c in Criteria.objects.filter(
            level=CriteriaLevel.BASELINE, status=CriteriaStatus.PUBLISHED, period=period
        ).select_related("region", "scorecard", "owner")
        if code.startswith(c.region.prefix)
    ]
    return max(found, key=lambda c: len(c.region.prefix), default=None)


def _scorecard_default() -> Scorecard:
    from .scorecards import scorecard_default

    return scorecard_default()


def _check_owner(*, owner: Organisation, level: str, acting_user: User | None) -> None:
    if not _is_platform(acting_user):
        scope = _scope(acting_user)
        if scope is None or not scope.may(Action.ADD) or not _in_tree(scope, owner):
            raise PermissionDenied("only the owning organisation's officers make its criteria")
    if level == CriteriaLevel.BASELINE:
        if owner.kind != OrganisationKind.IP_OFFICE or owner.admin_level not in (
            AdminLevel.PROVINCIAL,
            AdminLevel.NATIONAL,
        ):
            raise _error("owner", _("基准标准由省级（或国家）知识产权管理部门制定。"), "baseline_owner")
    elif level == CriteriaLevel.PARK:
        if owner.kind != OrganisationKind.PARK_ADMIN:
            raise _error("owner", _("园区细化标准由园区管理机构制定。"), "park_owner")
    else:
        raise _error("level", _("层级无效。"), "choice")


def _owner_covers(owner: Organisation, region: Region) -> bool:
    if owner.admin_level == AdminLevel.NATIONAL:
        return True
    return owner.region is not None and region.code.startswith(owner.region.prefix)


@transaction.atomic
def criteria_create(
    *,
    owner: Organisation,
    level: str,
    period: str,
    name: str,
    min_score: Decimal | float | int | str,
    acting_user: User | None,
    region: Region | None = None,
    scorecard: Scorecard | None = None,
    min_invention_patents: int = 0,
    require_high_tech_or_specialised: bool = False,
    allowed_sizes: Iterable[str] = (),
    exclusions: Sequence[Mapping[str, Any]] = (),
    park: Park | None = None,
    baseline: Criteria | None = None,
    note: str = "",
) -> Criteria:
    """A draft baseline (an IP office, for a region within its jurisdiction) or a draft park refinement (the park's
    administration, for its park, on the published baseline covering it for the period)."""
    _check_owner(owner=owner, level=level, acting_user=acting_user)
    period = validate_period(period)
    name = (name or "").strip()
    if not name:
        raise _error("name", _("请填写名称。"), "required")
    if level == CriteriaLevel.BASELINE:
        if park is not None or baseline is not None:
            raise _error("park", _("基准标准不关联园区或其他基准标准。"), "baseline_shape")
        if region is None:
            raise _error("region", _("请选择适用地区。"), "required")
        if not _owner_covers(owner, region):
            raise _error("region", _("适用地区须在制定机构的辖区内。"), "out_of_jurisdiction")
        scorecard = scorecard or _scorecard_default()
    else:
        if park is None:
            raise _error("park", _("园区细化标准须指定园区。"), "required")
        if park.administering_org is None or not park.administering_org.tree_path.startswith(owner.tree_path):
            raise _error("park", _("只能为本机构管理的园区制定细化标准。"), "not_own_park")
        if region is not None and region.pk != park.region_id:
            raise _error("region", _("园区细化标准的适用地区即园区所在地区。"), "park_region")
        region = park.region
        baseline = _park_baseline(park=park, period=period, baseline=baseline)
        if scorecard is not None and scorecard.pk != baseline.scorecard_id:
            raise _error("scorecard", _("园区细化标准须使用基准标准的评分卡，最低评分才可比较。"), "scorecard_mismatch")
        scorecard = baseline.scorecard
    criteria = Criteria(
        name=name,
        level=level,
        owner=owner,
        region=region,
        park=park,
        baseline=baseline,
        period=period,
        status=CriteriaStatus.DRAFT,
        scorecard=scorecard,
        min_score=_clean_min_score(min_score),
        min_invention_patents=_clean_min_patents(min_invention_patents),
        require_high_tech_or_specialised=bool(require_high_tech_or_specialised),
        allowed_sizes=_clean_sizes(allowed_sizes),
        exclusions=_normalise_exclusions(list(exclusions)),
        note=(note or "").strip(),
        created_by=_actor(acting_user),
    )
    return audited_create(instance=criteria, acting_user=acting_user, action="criteria.create")


def _park_baseline(*, park: Park, period: str, baseline: Criteria | None) -> Criteria:
    current = baseline_for(region=park.region, period=period)
    if baseline is None:
        if current is None:
            raise _error(
                "baseline",
                _("%(period)s 期没有覆盖园区所在地区的已发布基准标准，园区细化标准须依据基准标准制定。"),
                "no_baseline",
                {"period": period},
            )
        return current
    if baseline.level != CriteriaLevel.BASELINE or baseline.period != period:
        raise _error("baseline", _("所依据的基准标准须为同一期次的基准标准。"), "baseline_period")
    if baseline.status != CriteriaStatus.PUBLISHED or current is None or baseline.pk != current.pk:
        raise _error(
            "baseline", _("所依据的基准标准须为覆盖园区所在地区的现行（已发布）基准标准。"), "baseline_not_current"
        )
    return baseline


def _editable(criteria: Criteria, acting_user: User | None) -> Criteria:
    if (
        not _is_platform(acting_user)
        and not Criteria.objects.restrict(acting_user, Action.CHANGE).filter(pk=criteria.pk).exists()
    ):
        raise PermissionDenied("only the owning organisation's officers change its criteria")
    locked = (
        Criteria.objects.select_for_update(of=("self",))
        .select_related("region", "park", "baseline")
        .get(pk=criteria.pk)
    )
    if locked.status != CriteriaStatus.DRAFT:
        raise _error("status", _("只有草稿状态的标准可以修改或发布。"), "not_draft")
    return locked


@transaction.atomic
def criteria_update(*, criteria: Criteria, data: Mapping[str, Any], acting_user: User | None) -> Criteria:
    """Change a draft's fields (name, period, thresholds, exclusions, note; a park's baseline)."""
    criteria = _editable(criteria, acting_user)
    unknown = sorted(set(data) - set(CRITERIA_FIELDS))
    if unknown:
        raise _error(unknown[0], _("该字段不能修改。"), "read_only")
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = (data["name"] or "").strip()
        if not changes["name"]:
            raise _error("name", _("请填写名称。"), "required")
    if "period" in data:
        changes["period"] = validate_period(data["period"])
    if "min_score" in data:
        changes["min_score"] = _clean_min_score(data["min_score"])
    if "min_invention_patents" in data:
        changes["min_invention_patents"] = _clean_min_patents(data["min_invention_patents"])
    if "require_high_tech_or_specialised" in data:
        changes["require_high_tech_or_specialised"] = bool(data["require_high_tech_or_specialised"])
    if "allowed_sizes" in data:
        changes["allowed_sizes"] = _clean_sizes(data["allowed_sizes"])
    if "exclusions" in data:
        changes["exclusions"] = _normalise_exclusions(data["exclusions"])
    if "note" in data:
        changes["note"] = (data["note"] or "").strip()
    period = changes.get("period", criteria.period)
    if criteria.level == CriteriaLevel.PARK:
        assert criteria.park is not None
        if "scorecard" in data and data["scorecard"] is not None:
            changes["scorecard"] = data["scorecard"]
        if "baseline" in data or "period" in changes:
            changes["baseline"] = _park_baseline(park=criteria.park, period=period, baseline=data.get("baseline"))
        baseline: Criteria | None = changes.get("baseline", criteria.baseline)
        assert baseline is not None
        if changes.get("scorecard") is not None and changes["scorecard"].pk != baseline.scorecard_id:
            raise _error("scorecard", _("园区细化标准须使用基准标准的评分卡，最低评分才可比较。"), "scorecard_mismatch")
        changes["scorecard"] = baseline.scorecard
    else:
        if data.get("baseline") is not None:
            raise _error("baseline", _("基准标准不关联其他基准标准。"), "baseline_shape")
        if data.get("scorecard") is not None:
            changes["scorecard"] = data["scorecard"]
    return audited_update(instance=criteria, data=changes, acting_user=acting_user, action="criteria.update")


@transaction.atomic
def criteria_publish(*, criteria: Criteria, acting_user: User | None) -> Criteria:
    """Publish a draft. A baseline retires the published baseline of the same region and period; a park's criteria
    must tighten, never loosen, the baseline they rest on, and retire the park's earlier criteria for the period."""
    from ..engine.rules import tightening_violations

    criteria = _editable(criteria, acting_user)
    if criteria.level == CriteriaLevel.BASELINE:
        previous = Criteria.objects.select_for_update().filter(
            level=CriteriaLevel.BASELINE,
            status=CriteriaStatus.PUBLISHED,
            region_id=criteria.region_id,
            period=criteria.period,
        )
    else:
        assert criteria.park is not None and criteria.baseline is not None
        baseline = criteria.baseline
        current = baseline_for(region=criteria.park.region, period=criteria.period)
        if current is None or current.pk != baseline.pk:
            raise _error(
                "baseline",
                _("所依据的基准标准已停用或不再覆盖本园区，请改为依据现行基准标准后再发布。"),
                "baseline_not_current",
            )
        violations = tightening_violations(criteria_spec(baseline), criteria_spec(criteria))
        if violations:
            raise _tightening_error(violations)
        previous = Criteria.objects.select_for_update().filter(
            level=CriteriaLevel.PARK, status=CriteriaStatus.PUBLISHED, park_id=criteria.park_id, period=criteria.period
        )
    for old in previous.exclude(pk=criteria.pk):
        audited_update(
            instance=old, data={"status": CriteriaStatus.RETIRED}, acting_user=acting_user, action="criteria.retire"
        )
    try:
        return audited_update(
            instance=criteria,
            data={
                "status": CriteriaStatus.PUBLISHED,
                "published_by": _actor(acting_user),
                "published_at": business_now(),
            },
            acting_user=acting_user,
            action="criteria.publish",
        )
    except IntegrityError as exc:  # a concurrent publish of the same region and period won the race
        raise _error("status", _("该地区（园区）本期已有发布的标准，请刷新后重试。"), "unique") from exc


# ---------------------------------------------------------------------------
# Screening into a draft version (筛选)
# ---------------------------------------------------------------------------


def _require_park_admin(park: Park, acting_user: User | None, action: str = Action.CHANGE) -> None:
    if _is_platform(acting_user):
        return
    scope = _scope(acting_user)
    if (
        scope is None
        or scope.kind != OrganisationKind.PARK_ADMIN
        or not scope.may(action)
        or not _in_tree(scope, park.administering_org)
    ):
        raise PermissionDenied("only the park's administration may do this")


def candidate_ids(*, park: Park, period: str, as_of: datetime.date) -> tuple[list[int], set[int]]:
    """Enterprises to screen: active members of the park on `as_of`, and pending applicants for the period; the
    second value is the applicants."""
    members = set(
        ParkMembership.objects.filter(park=park, joined_on__lte=as_of)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=as_of))
        .values_list("enterprise_id", flat=True)
    )
    applicants = set(
        WhitelistApplication.objects.filter(park=park, period=period, status=ApplicationStatus.PENDING).values_list(
            "enterprise_id", flat=True
        )
    )
    return sorted(members | applicants), applicants


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    return Decimal(str(round(number, 2)))


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else round(value, 4)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def combine_reasons(baseline_reasons: Sequence[str], effective_reasons: Sequence[str], included: bool) -> list[str]:
    """One entry's reasons from the two runs: the baseline's failures as they are, the failures that only the
    park's tightening adds prefixed "park:"; an included enterprise keeps the effective run's codes."""
    if included:
        return list(effective_reasons) or [REASON_PASSED]
    base = [r for r in baseline_reasons if r != REASON_PASSED]
    park_only = [f"{PARK_PREFIX}{r}" for r in effective_reasons if r != REASON_PASSED and r not in base]
    return base + park_only


def passes_baseline(reasons: Sequence[str]) -> bool:
    """Whether an entry's recorded failures are all the park's own (or it has none)."""
    return all(r == REASON_PASSED or r.startswith(PARK_PREFIX) for r in reasons)


def _entries_from_frames(
    *, version: WhitelistVersion, base: Any, effective: Any, card: ScorecardSpec, applicants: set[int]
) -> list[WhitelistEntry]:
    names = [c.name for c in card.characteristics]
    base_by_id = {row["enterprise_id"]: row for row in base.iter_rows(named=True)}
    entries = []
    for row in effective.iter_rows(named=True):
        ent_id = int(row["enterprise_id"])
        base_row = base_by_id.get(ent_id, row)
        included = bool(row["included"])
        entries.append(
            WhitelistEntry(
                version=version,
                enterprise_id=ent_id,
                included=included,
                source=EntrySource.APPLIED if ent_id in applicants else EntrySource.SCREENED,
                score=_decimal(row.get("score")),
                points={n: _plain(row.get(f"points_{n}")) for n in names},
                values={n: _plain(row.get(f"value_{n}")) for n in names},
                reasons=combine_reasons(list(base_row["reasons"] or []), list(row["reasons"] or []), included),
            )
        )
    return entries


def _diff_item(enterprise_id: int, name: str, reasons: Sequence[str]) -> dict[str, Any]:
    return {"enterprise_id": enterprise_id, "name": name, "reasons": list(reasons)}


def compute_diff(version: WhitelistVersion) -> dict[str, Any]:
    """Added and removed enterprises against the version's `previous` (the approved one it would replace)."""
    current = {
        e["enterprise_id"]: e
        for e in version.entries.values("enterprise_id", "enterprise__name", "included", "reasons")
    }
    now_in = {k for k, e in current.items() if e["included"]}
    before_in: set[int] = set()
    names: dict[int, str] = {}
    if version.previous_id is not None:
        for ent_id, name in WhitelistEntry.objects.filter(version_id=version.previous_id, included=True).values_list(
            "enterprise_id", "enterprise__name"
        ):
            before_in.add(ent_id)
            names[ent_id] = name
    added = [_diff_item(k, current[k]["enterprise__name"], current[k]["reasons"]) for k in sorted(now_in - before_in)]
    removed = []
    for k in sorted(before_in - now_in):
        entry = current.get(k)
        if entry is None:
            removed.append(_diff_item(k, names[k], [REASON_NOT_CANDIDATE]))
        else:
            removed.append(_diff_item(k, entry["enterprise__name"], entry["reasons"]))
    return {"added": added, "removed": removed, "unchanged": len(now_in & before_in)}


def _refresh_counts(version: WhitelistVersion) -> WhitelistVersion:
    version.candidates = version.entries.count()
    version.included = version.entries.filter(included=True).count()
    version.diff = compute_diff(version)
    version.save(update_fields=["candidates", "included", "diff"])
    return version


def _lock_whitelist(
    *, park: Park, period: str, baseline: Criteria, criteria: Criteria | None, acting_user: User | None
) -> Whitelist:
    whitelist = Whitelist.objects.select_for_update().filter(park=park, period=period).first()
    if whitelist is None:
        whitelist = audited_create(
            instance=Whitelist(
                park=park, period=period, baseline=baseline, criteria=criteria, region_code=park.region.code
            ),
            acting_user=acting_user,
            action="whitelist.create",
        )
        return Whitelist.objects.select_for_update().get(pk=whitelist.pk)
    if whitelist.baseline_id != baseline.pk or whitelist.criteria_id != (criteria.pk if criteria else None):
        whitelist.baseline, whitelist.criteria = baseline, criteria
        whitelist.save(update_fields=["baseline", "criteria"])
    return whitelist


@transaction.atomic
def whitelist_screen(
    *, park: Park, period: str, acting_user: User | None, as_of: datetime.date | None = None
) -> WhitelistVersion:
    """Screen the park's enterprises for the period into a draft version (re-screening an open draft replaces its
    entries). The park's administration or the platform runs it."""
    from ..engine.rules import merge
    from ..engine.screen import screen
    from ..features import build_features, load_records

    _require_park_admin(park, acting_user)
    period = validate_period(period)
    as_of = as_of or business_date()
    park = Park.objects.select_related("region", "administering_org").get(pk=park.pk)
    baseline = baseline_for(region=park.region, period=period)
    if baseline is None:
        raise _error(
            "period",
            _("%(period)s 期没有覆盖%(region)s的已发布基准标准，请先由省级知识产权管理部门发布基准标准。"),
            "no_baseline",
            {"period": period, "region": park.region.full_name},
        )
    criteria = (
        Criteria.objects.filter(level=CriteriaLevel.PARK, status=CriteriaStatus.PUBLISHED, park=park, period=period)
        .select_related("baseline")
        .first()
    )
    baseline_rules = criteria_spec(baseline)
    try:
        effective_rules = merge(baseline_rules, criteria_spec(criteria)) if criteria is not None else baseline_rules
    except ValueError as exc:  # the park's sizes and a newer baseline's have none in common
        raise _error(
            "criteria",
            _("园区细化标准的企业规模与现行基准标准没有交集，请园区依据现行基准标准重新发布细化标准。"),
            "sizes_disjoint",
        ) from exc
    whitelist = _lock_whitelist(park=park, period=period, baseline=baseline, criteria=criteria, acting_user=acting_user)
    open_version = whitelist.versions.filter(status__in=[VersionStatus.DRAFT, VersionStatus.SUBMITTED]).first()
    if open_version is not None and open_version.status == VersionStatus.SUBMITTED:
        raise _error(
            "status",
            _("第 %(number)s 版已报送省级审核，须待批准或退回后才能重新筛选。"),
            "submitted_pending",
            {"number": open_version.number},
        )
    card = scorecard_spec(baseline.scorecard)
    ids, applicants = candidate_ids(park=park, period=period, as_of=as_of)
    features = build_features(ids, as_of)
    records = load_records(ids, as_of)
    base_result = screen(features, records, baseline_rules, card, as_of)
    effective_result = screen(features, records, effective_rules, card, as_of) if criteria is not None else base_result
    current = whitelist.current_version
    fields = {
        "as_of": as_of,
        "scorecard": baseline.scorecard,
        "rules": effective_rules.to_json(),
        "previous": current,
        "prepared_by": _actor(acting_user),
    }
    replaced = open_version is not None
    if open_version is not None:
        version = open_version
        for name, value in fields.items():
            setattr(version, name, value)
        version.save()
        version.entries.all().delete()
    else:
        last = whitelist.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = WhitelistVersion.objects.create(whitelist=whitelist, number=last + 1, **fields)
    WhitelistEntry.objects.bulk_create(
        _entries_from_frames(
            version=version, base=base_result, effective=effective_result, card=card, applicants=applicants
        ),
        batch_size=2000,
    )
    _refresh_counts(version)
    record_event(
        acting_user=acting_user,
        action="whitelist_version.screen",
        instance=version,
        extra={
            "period": period,
            "as_of": as_of,
            "number": version.number,
            "replaced_draft": replaced,
            "baseline_id": baseline.pk,
            "criteria_id": criteria.pk if criteria else None,
            "candidates": version.candidates,
            "included": version.included,
            "applicants": len(applicants),
            "added": len(version.diff["added"]),
            "removed": len(version.diff["removed"]),
        },
    )
    return version


# ---------------------------------------------------------------------------
# Park overrides, submission, approval (审核)
# ---------------------------------------------------------------------------


def _lock_version(version: WhitelistVersion, expected: set[str]) -> WhitelistVersion:
    locked = WhitelistVersion.objects.select_for_update().select_related("whitelist__park").get(pk=version.pk)
    if locked.status not in expected:
        raise _error(
            "status",
            _("白名单版本当前状态为“%(status)s”，不能执行此操作。"),
            "invalid_state",
            {"status": locked.get_status_display()},
        )
    return locked


def _natural_source(entry: WhitelistEntry) -> str:
    whitelist = entry.version.whitelist
    applied = WhitelistApplication.objects.filter(
        enterprise_id=entry.enterprise_id,
        park_id=whitelist.park_id,
        period=whitelist.period,
        status=ApplicationStatus.PENDING,
    ).exists()
    return EntrySource.APPLIED if applied else EntrySource.SCREENED


@transaction.atomic
def entry_override(*, entry: WhitelistEntry, include: bool, note: str, acting_user: User | None) -> WhitelistEntry:
    """The park takes an enterprise out of its draft (any, with a note), or puts one in whose only failures are
    the park's own tightening (it must pass the baseline)."""
    _require_park_admin(entry.version.whitelist.park, acting_user)
    version = _lock_version(entry.version, {VersionStatus.DRAFT})
    entry = WhitelistEntry.objects.select_related("version__whitelist").get(pk=entry.pk)
    note = (note or "").strip()
    if not note:
        raise _error("note", _("请填写园区意见（调整原因）。"), "required")
    if len(note) > 255:
        raise _error("note", _("园区意见不能超过255个字符。"), "max_length")
    reasons = list(entry.reasons or [])
    source: str
    if bool(include) == entry.included:
        message = _("该企业已在本版白名单中。") if include else _("该企业已不在本版白名单中。")
        raise _error("include", message, "no_change")
    if include:
        if not passes_baseline(reasons):
            raise _error(
                "include",
                _("该企业未通过省级基准标准，园区不能纳入（园区只能从严，不能放宽）。"),
                "fails_baseline",
            )
        remaining = [r for r in reasons if r not in (REASON_REMOVED_BY_PARK, REASON_PASSED)]
        if remaining:
            new_reasons, source = [*remaining, REASON_ADDED_BY_PARK], EntrySource.PARK_ADDED
        else:  # it passed the screen and the park had taken it out: put back as screened
            new_reasons, source = [REASON_PASSED], _natural_source(entry)
    else:
        kept = [r for r in reasons if r not in (REASON_PASSED, REASON_ADDED_BY_PARK)]
        new_reasons = [*kept, REASON_REMOVED_BY_PARK]
        source = _natural_source(entry) if entry.source == EntrySource.PARK_ADDED else entry.source
    before = snapshot(entry, ["included", "source", "reasons", "park_note"])
    entry.included, entry.source, entry.reasons, entry.park_note = bool(include), source, new_reasons, note
    entry.save(update_fields=["included", "source", "reasons", "park_note"])
    _refresh_counts(version)
    record_event(
        acting_user=acting_user,
        action="whitelist_entry.override",
        instance=entry,
        object_repr=f"{version} {entry.enterprise}"[:255],
        region_code=version.whitelist.region_code,
        old=before,
        new=snapshot(entry, ["included", "source", "reasons", "park_note"]),
    )
    return entry


def _set_version(version: WhitelistVersion, *, action: str, acting_user: User | None, **changes: Any) -> None:
    before = snapshot(version, changes.keys())
    for name, value in changes.items():
        setattr(version, name, value)
    version.save(update_fields=list(changes))
    record_event(
        acting_user=acting_user, action=action, instance=version, old=before, new=snapshot(version, changes.keys())
    )


@transaction.atomic
def version_submit(*, version: WhitelistVersion, acting_user: User | None) -> WhitelistVersion:
    """The park submits its draft to the province (draft → submitted)."""
    _require_park_admin(version.whitelist.park, acting_user)
    version = _lock_version(version, {VersionStatus.DRAFT})
    _set_version(
        version,
        action="whitelist_version.submit",
        acting_user=acting_user,
        status=VersionStatus.SUBMITTED,
        submitted_by=_actor(acting_user),
        submitted_at=business_now(),
    )
    return version


def _require_reviewer(version: WhitelistVersion, acting_user: User | None) -> None:
    """A reviewer or admin of an IP office whose region covers the park (or the platform)."""
    if _is_platform(acting_user):
        return
    scope = _scope(acting_user)
    if (
        scope is None
        or scope.kind != OrganisationKind.IP_OFFICE
        or not WhitelistVersion.objects.restrict(acting_user, Action.APPROVE).filter(pk=version.pk).exists()
    ):
        raise PermissionDenied("only a reviewer of the IP office covering the park approves its whitelist")


def _maker_checker(version: WhitelistVersion, acting_user: User | None) -> None:
    # An API key (or a command) has no user: a version submitted that way cannot be decided that way either.
    if version.submitted_by_id == (acting_user.pk if acting_user is not None else None):
        raise _error("decided_by", _("审核人不能是报送人（审批分离）。"), "maker_is_checker")


@transaction.atomic
def version_approve(*, version: WhitelistVersion, acting_user: User | None, note: str = "") -> WhitelistVersion:
    """The province approves a submitted version: it becomes the whitelist's current version, the previous
    approved one is superseded, and the period's pending applications are answered with the entry's reasons."""
    _require_reviewer(version, acting_user)
    version = _lock_version(version, {VersionStatus.SUBMITTED})
    _maker_checker(version, acting_user)
    whitelist = Whitelist.objects.select_for_update().get(pk=version.whitelist_id)
    for old in WhitelistVersion.objects.select_for_update().filter(whitelist=whitelist, status=VersionStatus.APPROVED):
        _set_version(
            old, action="whitelist_version.supersede", acting_user=acting_user, status=VersionStatus.SUPERSEDED
        )
    _set_version(
        version,
        action="whitelist_version.approve",
        acting_user=acting_user,
        status=VersionStatus.APPROVED,
        decided_by=_actor(acting_user),
        decided_at=business_now(),
        decision_note=(note or "").strip(),
    )
    whitelist.current_version = version
    whitelist.save(update_fields=["current_version"])
    _answer_applications(version, acting_user)
    return version


def _answer_applications(version: WhitelistVersion, acting_user: User | None) -> None:
    whitelist = version.whitelist
    pending = WhitelistApplication.objects.select_for_update().filter(
        park_id=whitelist.park_id, period=whitelist.period, status=ApplicationStatus.PENDING
    )
    entries = {
        e.enterprise_id: e
        for e in WhitelistEntry.objects.filter(version=version, enterprise_id__in=pending.values("enterprise_id"))
    }
    for application in pending:
        entry = entries.get(application.enterprise_id)
        if entry is None:
            continue  # applied after this version was screened: the next screening considers it
        audited_update(
            instance=application,
            data={
                "status": ApplicationStatus.INCLUDED if entry.included else ApplicationStatus.NOT_INCLUDED,
                "answered_in": version,
                "answer": list(entry.reasons),
            },
            acting_user=acting_user,
            action="whitelist_application.answer",
        )


@transaction.atomic
def version_return(*, version: WhitelistVersion, acting_user: User | None, note: str) -> WhitelistVersion:
    """The province sends a submitted version back with its reasons; the park screens again into a new draft."""
    _require_reviewer(version, acting_user)
    version = _lock_version(version, {VersionStatus.SUBMITTED})
    note = (note or "").strip()
    if not note:
        raise _error("note", _("退回须填写审核意见。"), "required")
    _maker_checker(version, acting_user)
    _set_version(
        version,
        action="whitelist_version.return",
        acting_user=acting_user,
        status=VersionStatus.RETURNED,
        decided_by=_actor(acting_user),
        decided_at=business_now(),
        decision_note=note,
    )
    return version


# ---------------------------------------------------------------------------
# Applications (自主申报)
# ---------------------------------------------------------------------------


def _require_enterprise_user(enterprise: Enterprise, acting_user: User | None, action: str) -> None:
    if _is_platform(acting_user):
        return
    scope = _scope(acting_user)
    if (
        scope is None
        or scope.kind != OrganisationKind.ENTERPRISE
        or not scope.may(action)
        or enterprise.organisation_id is None
        or enterprise.organisation_id != scope.organisation_id
    ):
        raise PermissionDenied("only the enterprise's own officers apply for it")


@transaction.atomic
def application_submit(
    *, enterprise: Enterprise, park: Park, period: str, acting_user: User | None, statement: str = ""
) -> WhitelistApplication:
    """An enterprise asks a park it belongs to to consider it for the period's whitelist."""
    _require_enterprise_user(enterprise, acting_user, Action.ADD)
    period = validate_period(period)
    today = business_date()
    member = (
        ParkMembership.objects.filter(park=park, enterprise=enterprise, joined_on__lte=today)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=today))
        .exists()
    )
    if not member:
        raise _error("park", _("只能向本企业所在（在册）的园区申请。"), "not_member")
    statement = (statement or "").strip()
    if len(statement) > 2000:
        raise _error("statement", _("申请说明不能超过2000个字符。"), "max_length")
    current = (
        WhitelistEntry.objects.filter(
            enterprise=enterprise,
            included=True,
            version__status=VersionStatus.APPROVED,
            version__whitelist__park=park,
            version__whitelist__period=period,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if current is not None:
        raise _error("period", _("本企业已在该园区本期的白名单中，无需申请。"), "already_included")
    if (
        WhitelistApplication.objects.filter(enterprise=enterprise, park=park, period=period)
        .exclude(status=ApplicationStatus.WITHDRAWN)
        .exists()
    ):
        raise _error("period", _("本期已向该园区提交过申请。"), "unique")
    application = WhitelistApplication(
        enterprise=enterprise,
        park=park,
        period=period,
        statement=statement,
        region_code=park.region.code,
        submitted_by=_actor(acting_user),
    )
    try:
        return audited_create(instance=application, acting_user=acting_user, action="whitelist_application.submit")
    except IntegrityError as exc:  # a concurrent application won the race
        raise _error("period", _("本期已向该园区提交过申请。"), "unique") from exc


@transaction.atomic
def application_withdraw(*, application: WhitelistApplication, acting_user: User | None) -> WhitelistApplication:
    _require_enterprise_user(application.enterprise, acting_user, Action.CHANGE)
    application = WhitelistApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.PENDING:
        raise _error(
            "status",
            _("申请当前状态为“%(status)s”，不能撤回。"),
            "invalid_state",
            {"status": application.get_status_display()},
        )
    return audited_update(
        instance=application,
        data={"status": ApplicationStatus.WITHDRAWN},
        acting_user=acting_user,
        action="whitelist_application.withdraw",
    )
