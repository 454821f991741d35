"""Valuation writes: run the engine for one right, a bundle or a portfolio and store the result whole and versioned;
the valuation agency's preparation and sign-off (maker-checker); banks' pledge-rate policies; comparables;
enterprise innovation scores; batch revaluation; training the learned layer.

Every service is keyword-only, atomic and writes its audit event in the same transaction. Who may act is checked
here, not in the views: a right the user cannot see cannot be valued by them (404 upstream, PermissionDenied here).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from ipledge.core.audit import audited_create, insert_validated, record_event, snapshot
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership

from . import engine_bridge as bridge
from . import selectors
from .choices import BatchStatus, ModelLabel, Scenario, ValuationMethod, ValuationStatus
from .models import (
    BundleItem,
    CohortStatistics,
    ComparableTransaction,
    InnovationScore,
    PledgeRatePolicy,
    RevaluationBatch,
    Valuation,
    ValuationBundle,
    ValuationModel,
)

logger = logging.getLogger(__name__)

VALIDITY_MONTHS = 12  # an appraisal report is customarily valid for one year from its base date
MAX_BUNDLE_RIGHTS = 200
BATCH_CHUNK = 2_000
COHORT_MAX_AGE = datetime.timedelta(days=1)
# A learned model that does not beat chance by this much is kept with its card but not switched on.
MIN_USEFUL_AUC = 0.55


def _may(user: User, action: str) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.may(action)


def _kind(user: User) -> str | None:
    scope = scope_for(user)
    return None if scope is None else scope.kind


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _decimal(value: float, places: str) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _money_or_none(fen: Any) -> Money | None:
    return None if fen is None else Money.from_fen(int(fen))


# ---------------------------------------------------------------------------
# Cohort statistics
# ---------------------------------------------------------------------------


def cohort_stats_refresh(*, acting_user: User | None = None) -> CohortStatistics:
    """Recompute the cohort statistics over every patent of the registry (one scan)."""
    frame = bridge.registry_count_frame()
    stats = bridge.fit_cohorts(frame)
    with transaction.atomic():
        row = CohortStatistics.objects.create(rights_counted=frame.height, stats=stats)
        record_event(
            acting_user=acting_user,
            action="valuation.cohorts_refresh",
            instance=row,
            extra={"rights_counted": frame.height},
        )
    return row


_cohort_cache: dict[str, Any] = {}


def cohort_stats_current() -> Any:
    """The latest cohort statistics (parsed once per process and row), recomputed when older than a day or missing."""
    latest = CohortStatistics.objects.order_by("-computed_at", "-pk").values_list("pk", "computed_at").first()
    if latest is None or timezone.now() - latest[1] > COHORT_MAX_AGE:
        row = cohort_stats_refresh()
        latest = (row.pk, row.computed_at)
    if _cohort_cache.get("key") != latest:  # id and time: a rolled-back row's id can come back
        stats = CohortStatistics.objects.values_list("stats", flat=True).get(pk=latest[0])
        _cohort_cache.update(key=latest, stats=bridge.cohort_stats_from(stats))
    return _cohort_cache["stats"]


# ---------------------------------------------------------------------------
# One right, one bundle
# ---------------------------------------------------------------------------


def _policy_for(user: User | None) -> tuple[Any, str, dict[str, Any]]:
    """The engine policy the acting organisation lends under, its name and its rules as stored."""
    org = getattr(user, "organisation", None)
    if org is not None and org.kind == OrganisationKind.BANK:
        policy = selectors.policy_for_bank(org)
        if policy is not None:
            return bridge.policy_from_rules(policy.rules), f"{policy.bank.name} · {policy.name}", policy.rules
    engine_policy = bridge.default_policy()
    return engine_policy, _("平台默认质押率规则"), bridge.policy_rules(engine_policy)


def _check_requester(user: User, *, agency: Organisation | None) -> None:
    if not _may(user, Action.ADD):
        raise PermissionDenied(_("您的角色不能发起评估。"))
    if agency is not None and agency.kind != OrganisationKind.VALUER:
        raise ValidationError({"agency": ValidationError(_("所选机构不是评估机构。"), code="agency_kind")})


def _visible_right(user: User, ip_right: IPRight) -> None:
    if not IPRight.objects.restrict(user, Action.VIEW).filter(pk=ip_right.pk).exists():
        raise PermissionDenied(_("您无权评估该知识产权。"))


def _next_version(**subject: Any) -> int:
    current = Valuation.objects.filter(**subject).aggregate(v=Max("version"))["v"]
    return (current or 0) + 1


def _ml_layer(rows: list[dict[str, Any]], cohort_stats: Any) -> dict[int, Any]:
    """Probability of revealed value and its contributions from the active learned model, when there is one."""
    model = selectors.active_model(ModelLabel.MAINTAINED)
    if model is None:
        return {}
    try:
        return {
            right_id: (model, probability, contributions)
            for right_id, probability, contributions in bridge.ml_predict(model, rows, cohort_stats)
        }
    except Exception:  # noqa: BLE001 - a broken model must not stop the indicator valuation; logged for admins
        logger.exception("valuation model %s failed; indicator model only", model.pk)
        return {}


def _valuation_from_row(
    out: dict[str, Any],
    *,
    inputs: dict[str, Any],
    scenario: str,
    as_of: datetime.date,
    policy_name: str,
    policy_rules: dict[str, Any],
    assumptions: dict[str, Any],
    acting_user: User | None,
    agency: Organisation | None,
    ml: Any = None,
) -> Valuation:
    enterprise_id = inputs.get("holder_enterprise_id")
    contributions = {k[2:]: round(float(v), 4) for k, v in out.items() if k.startswith("c_") and v}
    indicator_values = {
        k[2:]: (None if v is None else round(float(v), 4)) for k, v in out.items() if k.startswith("v_")
    }
    valuation = Valuation(  # type: ignore[misc]  # MoneyField takes Money
        version=0,
        enterprise_id=enterprise_id,
        region_code="",
        scenario=scenario,
        method=ValuationMethod.INDICATOR_ML if ml else ValuationMethod.INDICATOR,
        valuation_date=as_of,
        valid_until=_add_months(as_of, getattr(settings, "IPLEDGE_VALUATION_VALIDITY_MONTHS", VALIDITY_MONTHS)),
        score=_decimal(out["score"], "0.01"),
        grade=out["grade"],
        completeness=_decimal(out["completeness"], "0.001"),
        gate_multiplier=_decimal(out["gate_multiplier"], "0.0001"),
        gates=list(out.get("gates") or []),
        contributions=contributions,
        indicator_values=indicator_values,
        value_income=_money_or_none(out.get("value_income_fen")),
        value_cost=_money_or_none(out.get("value_cost_fen")),
        value_market=_money_or_none(out.get("value_market_fen")),
        p10=Money.from_fen(int(out["p10_fen"])),
        p50=Money.from_fen(int(out["p50_fen"])),
        p90=Money.from_fen(int(out["p90_fen"])),
        sigma=float(out["sigma"]),
        pledge_rate=_decimal(out["pledge_rate"], "0.0001"),
        loan_ceiling=Money.from_fen(int(out["loan_ceiling_fen"])),
        pledge_eligible=bool(out["pledge_eligible"]),
        pledge_reasons=list(out.get("pledge_reasons") or []),
        policy_name=policy_name[:128],
        policy=policy_rules,
        inputs={k: v for k, v in inputs.items() if k != "holder_enterprise_id"},
        assumptions=assumptions,
        requested_by_org=getattr(acting_user, "organisation", None),
        requested_by=acting_user if acting_user is not None and acting_user.pk else None,
        agency=agency,
    )
    if ml:
        model, probability, ml_contributions = ml
        valuation.ml_model = model
        valuation.ml_probability = round(float(probability), 6)
        valuation.ml_contributions = {k: round(float(v), 5) for k, v in ml_contributions.items()}
    return valuation


# What an audit event of a valuation records: the figures and who asked. The inputs, assumptions, policy and
# contributions stay on the row itself (and in its row history), not copied into every event.
AUDITED_FIELDS = (
    "ip_right",
    "bundle",
    "version",
    "enterprise",
    "scenario",
    "method",
    "valuation_date",
    "valid_until",
    "status",
    "score",
    "grade",
    "completeness",
    "gate_multiplier",
    "value_income",
    "value_cost",
    "value_market",
    "p10",
    "p50",
    "p90",
    "pledge_rate",
    "loan_ceiling",
    "pledge_eligible",
    "policy_name",
    "requested_by_org",
    "agency",
    "ml_model",
    "ml_probability",
)


def _store(valuation: Valuation, *, acting_user: User, action: str) -> Valuation:
    insert_validated(valuation)
    record_event(acting_user=acting_user, action=action, instance=valuation, new=snapshot(valuation, AUDITED_FIELDS))
    return valuation


def _region_codes(enterprise_ids: set[int]) -> dict[int, str]:
    return dict(Enterprise.objects.filter(pk__in=enterprise_ids).values_list("pk", "region_code"))


@transaction.atomic
def valuation_run(
    *,
    ip_right: IPRight,
    acting_user: User,
    scenario: str = Scenario.FINANCE,
    agency: Organisation | None = None,
    holder: Enterprise | None = None,
    as_of: datetime.date | None = None,
) -> Valuation:
    """Value one right now (机评) and store it as the next version of the right's valuations."""
    _check_requester(acting_user, agency=agency)
    _visible_right(acting_user, ip_right)
    if scenario not in Scenario.values:
        raise ValidationError({"scenario": ValidationError(_("评估场景无效。"), code="invalid_choice")})
    as_of = as_of or business_date()
    IPRight.objects.select_for_update().filter(pk=ip_right.pk).first()  # serialise versions of one right
    rows = selectors.right_input_rows([ip_right.pk], as_of=as_of, holder_id=holder.pk if holder else None)
    cohort_stats = cohort_stats_current()
    policy, policy_name, policy_rules = _policy_for(acting_user)
    frame = bridge.value(rows, scenario=scenario, policy=policy, cohort_stats=cohort_stats)
    out = frame.row(0, named=True)
    ml = _ml_layer(rows, cohort_stats).get(ip_right.pk)
    valuation = _valuation_from_row(
        out,
        inputs=rows[0],
        scenario=scenario,
        as_of=as_of,
        policy_name=policy_name,
        policy_rules=policy_rules,
        assumptions=bridge.assumptions_dict(),
        acting_user=acting_user,
        agency=agency,
        ml=ml,
    )
    valuation.ip_right = ip_right
    valuation.version = _next_version(ip_right=ip_right)
    if valuation.enterprise_id:
        valuation.region_code = _region_codes({valuation.enterprise_id}).get(valuation.enterprise_id, "")
    return _store(valuation, acting_user=acting_user, action="valuation.run")


@transaction.atomic
def bundle_create(
    *, name: str, enterprise: Enterprise, rights: Sequence[IPRight], acting_user: User
) -> ValuationBundle:
    """A bundle of rights of one holder to value together (打包)."""
    if not _may(acting_user, Action.ADD):
        raise PermissionDenied(_("您的角色不能创建评估组合。"))
    name = (name or "").strip()
    errors: dict[str, list[ValidationError]] = {}
    if not name:
        errors.setdefault("name", []).append(ValidationError(_("请填写组合名称。"), code="required"))
    unique = {r.pk: r for r in rights}
    if len(unique) < 2:
        errors.setdefault("rights", []).append(ValidationError(_("组合至少包含两项知识产权。"), code="too_few"))
    if len(unique) > MAX_BUNDLE_RIGHTS:
        errors.setdefault("rights", []).append(
            ValidationError(_("组合最多包含 %(n)s 项知识产权。"), code="too_many", params={"n": MAX_BUNDLE_RIGHTS})
        )
    visible = set(IPRight.objects.restrict(acting_user, Action.VIEW).filter(pk__in=unique).values_list("pk", flat=True))
    if len(visible) != len(unique):
        raise PermissionDenied(_("组合中有您无权查看的知识产权。"))
    held = set(
        IPRightOwner.objects.filter(right_id__in=unique, enterprise=enterprise).values_list("right_id", flat=True)
    )
    not_held = [unique[pk].number for pk in unique if pk not in held]
    if not_held:
        errors.setdefault("rights", []).append(
            ValidationError(
                _("以下知识产权的权利人不是%(enterprise)s：%(numbers)s。"),
                code="not_holder",
                params={"enterprise": enterprise.name, "numbers": "、".join(sorted(not_held))},
            )
        )
    if errors:
        raise ValidationError(errors)
    bundle = ValuationBundle(
        name=name[:128],
        enterprise=enterprise,
        created_by_org=acting_user.organisation,
        created_by=acting_user if acting_user.pk else None,
        region_code=enterprise.region_code,
    )
    insert_validated(bundle)
    BundleItem.objects.bulk_create([BundleItem(bundle=bundle, ip_right_id=pk) for pk in sorted(unique)])
    record_event(
        acting_user=acting_user,
        action="valuation_bundle.create",
        instance=bundle,
        new={**snapshot(bundle), "rights": sorted(unique)},
    )
    return bundle


@transaction.atomic
def bundle_value(
    *,
    bundle: ValuationBundle,
    acting_user: User,
    scenario: str = Scenario.FINANCE,
    agency: Organisation | None = None,
    as_of: datetime.date | None = None,
) -> Valuation:
    """Value a bundle: each right under its own kind's indicators, then together with the overlap discount and the
    concentration measure, stored as the next version of the bundle's valuations."""
    _check_requester(acting_user, agency=agency)
    if not ValuationBundle.objects.restrict(acting_user, Action.VIEW).filter(pk=bundle.pk).exists():
        raise PermissionDenied(_("您无权评估该组合。"))
    if scenario not in Scenario.values:
        raise ValidationError({"scenario": ValidationError(_("评估场景无效。"), code="invalid_choice")})
    as_of = as_of or business_date()
    ValuationBundle.objects.select_for_update().filter(pk=bundle.pk).first()
    right_ids = list(bundle.items.values_list("ip_right_id", flat=True))
    rows = selectors.right_input_rows(right_ids, as_of=as_of, holder_id=bundle.enterprise_id)
    policy, policy_name, policy_rules = _policy_for(acting_user)
    valued = bridge.value(rows, scenario=scenario, policy=policy, cohort_stats=cohort_stats_current())
    summary = bridge.bundle(valued, rows, policy=policy)
    numbers = dict(IPRight.objects.filter(pk__in=right_ids).values_list("pk", "number"))
    members = [
        {
            "right_id": out["right_id"],
            "number": numbers.get(out["right_id"], ""),
            "score": round(float(out["score"]), 2),
            "grade": out["grade"],
            "p10_fen": int(out["p10_fen"]),
            "p50_fen": int(out["p50_fen"]),
            "p90_fen": int(out["p90_fen"]),
            "pledge_rate": round(float(out["pledge_rate"]), 4),
            "loan_ceiling_fen": int(out["loan_ceiling_fen"]),
            "pledge_eligible": bool(out["pledge_eligible"]),
            "pledge_reasons": list(out["pledge_reasons"] or []),
        }
        for out in valued.iter_rows(named=True)
    ]
    aggregate = bridge.bundle_headline(valued, summary)
    valuation = _valuation_from_row(
        aggregate,
        inputs={"rights": right_ids, "holder_enterprise_id": bundle.enterprise_id},
        scenario=scenario,
        as_of=as_of,
        policy_name=policy_name,
        policy_rules=policy_rules,
        assumptions=bridge.assumptions_dict(),
        acting_user=acting_user,
        agency=agency,
    )
    valuation.bundle = bundle
    valuation.version = _next_version(bundle=bundle)
    valuation.region_code = bundle.region_code
    valuation.details = {"bundle": summary, "members": members}
    return _store(valuation, acting_user=acting_user, action="valuation.run_bundle")


# ---------------------------------------------------------------------------
# Agency review: prepare (maker) and sign off (checker)
# ---------------------------------------------------------------------------


def _agency_member(user: User, valuation: Valuation) -> bool:
    org = getattr(user, "organisation", None)
    return (
        org is not None
        and valuation.agency is not None
        and org.kind == OrganisationKind.VALUER
        and valuation.agency.tree_path.startswith(org.tree_path)
    )


@transaction.atomic
def valuation_submit(*, valuation: Valuation, acting_user: User, note: str) -> Valuation:
    """The agency's valuer takes up the automated valuation with an opinion and submits it for sign-off."""
    valuation = Valuation.objects.select_for_update().get(pk=valuation.pk)
    if not (_agency_member(acting_user, valuation) and _may(acting_user, Action.CHANGE)):
        raise PermissionDenied(_("只有受托评估机构的经办人可以提交评估。"))
    if valuation.status not in (ValuationStatus.COMPUTED, ValuationStatus.RETURNED):
        raise ValidationError(
            {
                "status": ValidationError(
                    _("当前状态（%(s)s）不能提交。"),
                    code="invalid_status",
                    params={"s": valuation.get_status_display()},
                )
            }
        )
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ValidationError(_("请填写评估意见。"), code="required")})
    before = snapshot(valuation, ["status", "prepared_by", "prepared_note"])
    valuation.status = ValuationStatus.SUBMITTED
    valuation.prepared_by = acting_user if acting_user.pk else None  # an API key is no stored user
    valuation.prepared_at = timezone.now()
    valuation.prepared_note = note
    valuation.signed_off_by = None
    valuation.signed_off_at = None
    valuation.save()
    record_event(
        acting_user=acting_user,
        action="valuation.submit",
        instance=valuation,
        old=before,
        new=snapshot(valuation, ["status", "prepared_by", "prepared_note"]),
    )
    return valuation


@transaction.atomic
def valuation_sign_off(*, valuation: Valuation, acting_user: User, approve: bool, note: str = "") -> Valuation:
    """A second person of the agency signs the valuation off (签发) or returns it (退回) with a note."""
    valuation = Valuation.objects.select_for_update().get(pk=valuation.pk)
    if not (_agency_member(acting_user, valuation) and _may(acting_user, Action.APPROVE)):
        raise PermissionDenied(_("只有受托评估机构的复核人可以签发评估。"))
    if valuation.status != ValuationStatus.SUBMITTED:
        raise ValidationError({"status": ValidationError(_("只有待复核的评估可以签发或退回。"), code="invalid_status")})
    if valuation.prepared_by_id == acting_user.pk:
        raise ValidationError({"signed_off_by": ValidationError(_("复核人不能与评估人为同一人。"), code="same_person")})
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError({"note": ValidationError(_("退回时请说明理由。"), code="required")})
    before = snapshot(valuation, ["status", "signed_off_by", "review_note"])
    valuation.status = ValuationStatus.SIGNED_OFF if approve else ValuationStatus.RETURNED
    valuation.signed_off_by = acting_user if approve else None
    valuation.signed_off_at = timezone.now() if approve else None
    valuation.review_note = note
    valuation.full_clean(validate_constraints=False)
    valuation.save()
    record_event(
        acting_user=acting_user,
        action="valuation.sign_off" if approve else "valuation.return",
        instance=valuation,
        old=before,
        new=snapshot(valuation, ["status", "signed_off_by", "review_note"]),
    )
    return valuation


# ---------------------------------------------------------------------------
# Banks' pledge-rate policies and comparables
# ---------------------------------------------------------------------------


@transaction.atomic
def pledge_policy_set(
    *,
    bank: Organisation,
    name: str,
    rules: dict[str, Any],
    acting_user: User,
    effective_from: datetime.date | None = None,
) -> PledgeRatePolicy:
    """Set a bank's own pledge-rate policy; the previous active one is retired (kept, with its history)."""
    if bank.kind != OrganisationKind.BANK:
        raise ValidationError({"bank": ValidationError(_("只有银行可以设置质押率政策。"), code="bank_kind")})
    org = getattr(acting_user, "organisation", None)
    if (
        org is None
        or org.kind != OrganisationKind.BANK
        or not bank.tree_path.startswith(org.tree_path)
        or not _may(acting_user, Action.CHANGE)
    ):
        raise PermissionDenied(_("只有本行（或上级行）的经办人或管理员可以设置质押率政策。"))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ValidationError(_("请填写政策名称。"), code="required")})
    normalised = bridge.validate_policy_rules(rules)  # ValidationError naming the field and the rule
    current = PledgeRatePolicy.objects.select_for_update().filter(bank=bank, is_active=True).first()
    if current is not None:
        current.is_active = False
        current.save(update_fields=["is_active"])
    policy = PledgeRatePolicy(
        bank=bank, name=name[:128], rules=normalised, effective_from=effective_from or business_date()
    )
    insert_validated(policy)
    record_event(
        acting_user=acting_user,
        action="pledge_policy.set",
        instance=policy,
        old={"policy": current.pk, "rules": current.rules} if current else None,
        new={"policy": policy.pk, "rules": normalised},
    )
    return policy


@transaction.atomic
def comparable_record(
    *,
    transaction_kind: str,
    price: Money,
    transacted_on: datetime.date,
    source: str,
    acting_user: User,
    ip_right: IPRight | None = None,
    kind: str = "",
    patent_type: str = "",
    ipc_section: str = "",
    score: Decimal | None = None,
    region_code: str = "",
) -> ComparableTransaction:
    """Record a completed transfer, licence or disposal with its price as a market comparable."""
    if not _may(acting_user, Action.ADD) or _kind(acting_user) not in (
        OrganisationKind.IP_OFFICE,
        OrganisationKind.VALUER,
        OrganisationKind.DISPOSAL_PLATFORM,
        None,
    ):
        raise PermissionDenied(_("只有知识产权局、评估机构和交易处置平台可以登记可比交易。"))
    if ip_right is not None:
        kind = ip_right.kind
        patent_type = ip_right.patent_type
        ipc_section = (ip_right.main_ipc or "")[:1].upper()
    if kind not in IPKind.values:
        raise ValidationError({"kind": ValidationError(_("知识产权类型无效。"), code="invalid_choice")})
    if transacted_on > business_date():
        raise ValidationError({"transacted_on": ValidationError(_("成交日不能晚于今天。"), code="future_date")})
    comparable = ComparableTransaction(  # type: ignore[misc]  # MoneyField takes Money
        ip_right=ip_right,
        transaction_kind=transaction_kind,
        kind=kind,
        patent_type=patent_type if kind == IPKind.PATENT else "",
        ipc_section=ipc_section.upper()[:1] if kind == IPKind.PATENT else "",
        price=price,
        score=score,
        transacted_on=transacted_on,
        source=source.strip()[:255],
        region_code=region_code,
        recorded_by_org=getattr(acting_user, "organisation", None),
    )
    return audited_create(instance=comparable, acting_user=acting_user, action="comparable.record")


# ---------------------------------------------------------------------------
# Enterprise innovation score (V1)
# ---------------------------------------------------------------------------


@transaction.atomic
def innovation_score_compute(
    *, enterprise: Enterprise, acting_user: User, as_of: datetime.date | None = None
) -> InnovationScore:
    """Score an enterprise's innovation capability with its IP as the core indicator (explainable, graded)."""
    if not Enterprise.objects.restrict(acting_user, Action.VIEW).filter(pk=enterprise.pk).exists():
        raise PermissionDenied(_("您无权评价该企业。"))
    if _kind(acting_user) in (OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM):
        raise PermissionDenied(_("您的机构只能查看评价结果。"))
    as_of = as_of or business_date()
    right_ids = list(
        IPRightOwner.objects.filter(enterprise=enterprise).values_list("right_id", flat=True).order_by("right_id")
    )
    rows = selectors.right_input_rows(right_ids, as_of=as_of, holder_id=enterprise.pk) if right_ids else []
    valued = (
        bridge.value(
            rows, scenario=Scenario.FINANCE, policy=bridge.default_policy(), cohort_stats=cohort_stats_current()
        )
        if rows
        else None
    )
    result = bridge.enterprise_score(enterprise, rows, valued, as_of=as_of)
    score = InnovationScore(
        enterprise=enterprise,
        computed_on=as_of,
        score=_decimal(result["score"], "0.01"),
        grade=result["grade"],
        completeness=_decimal(result["completeness"], "0.001"),
        components=result["components"],
        rights_valued=len(rows),
    )
    return audited_create(instance=score, acting_user=acting_user, action="innovation_score.compute")


# ---------------------------------------------------------------------------
# Batch revaluation (background task)
# ---------------------------------------------------------------------------


def batch_right_ids(batch: RevaluationBatch) -> list[int]:
    """Valid rights held by enterprises of the batch's park (current members) or registered in its region."""
    if batch.park_id is not None:
        members = ParkMembership.objects.filter(park_id=batch.park_id, left_on__isnull=True).values("enterprise_id")
        holders = Q(enterprise_id__in=members)
    else:
        assert batch.region is not None
        holders = Q(enterprise__region_code__startswith=batch.region.prefix)
    return sorted(
        set(
            IPRightOwner.objects.filter(holders, right__legal_status=LegalStatus.VALID).values_list(
                "right_id", flat=True
            )
        )
    )


@transaction.atomic
def revaluation_batch_start(
    *,
    acting_user: User,
    park: Park | None = None,
    region: Region | None = None,
    scenario: str = Scenario.FINANCE,
    defer: bool = False,
) -> RevaluationBatch:
    """Queue a revaluation of a park's or region's portfolio; a task worker runs it in chunks with progress
    (`defer=True` leaves it queued for the caller to run, as `ipledge valuation revalue` does)."""
    if not _may(acting_user, Action.ADD):
        raise PermissionDenied(_("您的角色不能发起批量评估。"))
    kind = _kind(acting_user)
    if (park is None) == (region is None):
        raise ValidationError({"park": ValidationError(_("请选择一个园区或一个地区。"), code="scope_required")})
    if park is not None:
        allowed = (
            kind == OrganisationKind.IP_OFFICE
            and Park.objects.restrict(acting_user, Action.CHANGE).filter(pk=park.pk).exists()
        ) or (
            kind == OrganisationKind.PARK_ADMIN
            and park.administering_org is not None
            and park.administering_org.tree_path.startswith(acting_user.organisation.tree_path)  # type: ignore[union-attr]
        )
        region_code = park.region.code
    else:
        assert region is not None
        scope = scope_for(acting_user)
        allowed = (
            kind == OrganisationKind.IP_OFFICE
            and scope is not None
            and scope.region_prefix is not None
            and region.code.startswith(scope.region_prefix)
        )
        region_code = region.code
    if not allowed and not acting_user.is_superuser:
        raise PermissionDenied(_("只有园区管理机构（本园区）或知识产权局（辖区内）可以发起批量评估。"))
    batch = RevaluationBatch(
        park=park,
        region=region if park is None else None,
        scenario=scenario,
        requested_by_org=acting_user.organisation,
        requested_by=acting_user if acting_user.pk else None,
        region_code=region_code,
    )
    batch.total = 0
    audited_create(instance=batch, acting_user=acting_user, action="valuation_batch.start")
    if not defer:
        from .tasks import run_revaluation_batch

        transaction.on_commit(lambda: _enqueue(batch.pk, run_revaluation_batch))
    return batch


def _enqueue(batch_id: int, task: Any) -> None:
    result = task.enqueue(batch_id)
    RevaluationBatch.objects.filter(pk=batch_id, task_id="").update(task_id=str(result.id)[:64])


def revaluation_batch_run(batch_id: int) -> RevaluationBatch:
    """Run a queued batch: value its rights chunk by chunk with the vectorised engine, store each chunk's valuations
    (with row history) and one audit event per chunk, and report progress on the batch row as it goes."""
    claimed = RevaluationBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=timezone.now()
    )
    batch = RevaluationBatch.objects.select_related("park", "region", "requested_by").get(pk=batch_id)
    if not claimed:
        return batch  # another worker has it, or it already ran
    try:
        right_ids = batch_right_ids(batch)
        RevaluationBatch.objects.filter(pk=batch_id).update(total=len(right_ids))
        cohort_stats = cohort_stats_current()
        user = batch.requested_by
        policy, policy_name, policy_rules = _policy_for(user)
        assumptions = bridge.assumptions_dict()
        as_of = business_date()
        done = 0
        for start in range(0, len(right_ids), BATCH_CHUNK):
            chunk = right_ids[start : start + BATCH_CHUNK]
            _batch_chunk(
                batch,
                chunk,
                as_of=as_of,
                cohort_stats=cohort_stats,
                policy=policy,
                policy_name=policy_name,
                policy_rules=policy_rules,
                assumptions=assumptions,
            )
            done += len(chunk)
            RevaluationBatch.objects.filter(pk=batch_id).update(done=done)
        RevaluationBatch.objects.filter(pk=batch_id).update(status=BatchStatus.DONE, finished_at=timezone.now())
    except Exception as exc:
        logger.exception("revaluation batch %s failed", batch_id)
        RevaluationBatch.objects.filter(pk=batch_id).update(
            status=BatchStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
    batch.refresh_from_db()
    return batch


@transaction.atomic
def _batch_chunk(
    batch: RevaluationBatch,
    right_ids: list[int],
    *,
    as_of: datetime.date,
    cohort_stats: dict[str, Any],
    policy: Any,
    policy_name: str,
    policy_rules: dict[str, Any],
    assumptions: dict[str, Any],
) -> None:
    rows = selectors.right_input_rows(right_ids, as_of=as_of)
    frame = bridge.value(rows, scenario=batch.scenario, policy=policy, cohort_stats=cohort_stats)
    by_id = {row["right_id"]: row for row in rows}
    ml = _ml_layer(rows, cohort_stats)
    versions = dict(
        Valuation.objects.filter(ip_right_id__in=right_ids)
        .values("ip_right_id")
        .annotate(v=Max("version"))
        .values_list("ip_right_id", "v")
    )
    regions = _region_codes({r["holder_enterprise_id"] for r in rows if r.get("holder_enterprise_id")})
    objects: list[Valuation] = []
    for out in frame.iter_rows(named=True):
        inputs = by_id[out["right_id"]]
        valuation = _valuation_from_row(
            out,
            inputs=inputs,
            scenario=batch.scenario,
            as_of=as_of,
            policy_name=policy_name,
            policy_rules=policy_rules,
            assumptions=assumptions,
            acting_user=batch.requested_by,
            agency=None,
            ml=ml.get(out["right_id"]),
        )
        valuation.ip_right_id = out["right_id"]
        valuation.version = versions.get(out["right_id"], 0) + 1
        holder = inputs.get("holder_enterprise_id")
        valuation.region_code = regions.get(holder, "") if holder is not None else ""
        valuation.batch = batch
        objects.append(valuation)
    created = bulk_create_with_history(objects, Valuation, batch_size=500)
    ids = [v.pk for v in created if v.pk is not None]
    record_event(
        acting_user=batch.requested_by,
        action="valuation.run_batch_chunk",
        instance=batch,
        extra={
            "valuations": len(objects),
            "rights_first": right_ids[0] if right_ids else None,
            "rights_last": right_ids[-1] if right_ids else None,
            "valuation_ids": [min(ids), max(ids)] if ids else [],
        },
    )


# ---------------------------------------------------------------------------
# The learned layer
# ---------------------------------------------------------------------------


@transaction.atomic
def model_train(*, label: str, acting_user: User | None) -> ValuationModel:
    """Train the LightGBM layer on the platform's revealed-value outcomes and make it the active model for the
    label; refused (naming the rule) when there is not enough labelled history."""
    if acting_user is not None and not acting_user.is_superuser:
        scope = scope_for(acting_user)
        if not (
            scope is not None
            and scope.kind == OrganisationKind.IP_OFFICE
            and scope.region_prefix == ""
            and acting_user.role == Role.ADMIN
        ):
            raise PermissionDenied(_("只有国家知识产权局管理员可以训练评估模型。"))
    if label not in ModelLabel.values:
        raise ValidationError({"label": ValidationError(_("学习目标无效。"), code="invalid_choice")})
    trained = bridge.train(label=label, cohort_stats=cohort_stats_current())
    useful = trained.cv_auc >= MIN_USEFUL_AUC
    if useful:
        ValuationModel.objects.filter(label=label, is_active=True).update(is_active=False)
    card = dict(trained.card)
    if not useful:
        card["not_activated"] = (
            f"cross-validated AUC {trained.cv_auc:.3f} < {MIN_USEFUL_AUC}: no better than chance on this history; "
            "the indicator model stays alone"
        )
    model = ValuationModel(
        label=label,
        model_text=trained.model_text,
        card=card,
        cv_auc=trained.cv_auc,
        training_rows=trained.rows,
        trained_by=acting_user if acting_user is not None and acting_user.pk else None,
        is_active=useful,
    )
    insert_validated(model)
    record_event(
        acting_user=acting_user,
        action="valuation_model.train",
        instance=model,
        new={"label": label, "cv_auc": trained.cv_auc, "training_rows": trained.rows, "is_active": useful},
    )
    return model
