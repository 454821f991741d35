"""Scorecard services (评分卡): the platform's expert card, cards trained on the platform's own loan outcomes,
activation, and one enterprise's score with its explanation.

Rules decided here:
- The platform default is the expert card (`engine.expert.EXPERT_SCORECARD`) with no owner; `scorecard_default`
  creates it on first use. It is always active: it is the fallback every criteria and page can use.
- "Active" means offered for use: criteria choose among the active cards they may see, and a page without a
  choice uses the active card of the viewer's organisation (its own or an ancestor's most recent), else the
  platform default (`selectors_scorecards.active_scorecard`). Criteria keep the card they were published with,
  so activating or stopping a card never changes a published baseline or its `min_score`.
- Training (`scorecard_train`) is for IP offices at national or provincial level (admins and operators, the roles
  that may add): a logistic card on the outcomes of the loans in the office's jurisdiction (national: all) that
  were first disbursed on or before today. A loan is bad when it was ever classified substandard or worse
  (次级、可疑、损失: a classification change, or its class now) or defaulted or was written off. Each loan is
  described by its borrower's features and credit records as of the day the loan started, so that nothing the
  loan itself caused leaks into its description. Below `MIN_TRAINING_LOANS` loans or `MIN_TRAINING_BADS` bads
  (or as few goods) training is refused with a `training_rows` error, and the expert weights stay in use: with
  thirty bads a hold-out of 30 % holds about nine, already a thin basis for an AUC.
- A trained card is stored inactive; the office activates it after reading its model card. Activation needs the
  approve right on the card (the owner office's admins and reviewers) and, for a trained card, a hold-out AUC of
  at least `MIN_USEFUL_AUC`; a card no better than that would rank enterprises little better than chance.
"""

from __future__ import annotations

import datetime
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ipledge.core.audit import audited_create, record_event, snapshot
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import ClassificationChange, Loan
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Enterprise

from ..choices import ScorecardMethod
from ..engine.expert import CHARACTERISTICS, EXPERT_SCORECARD
from ..engine.scorecard import card_problems, fit_logistic, score
from ..engine.screen import derive_credit
from ..engine.spec import ScorecardSpec
from ..explain import describe_points, method_text
from ..features import build_features, build_features_at, load_records
from ..models import Scorecard
from ..selectors_scorecards import active_scorecard, scorecard_spec

DEFAULT_NAME = "专家评分卡（平台默认）"
MIN_TRAINING_LOANS = 300
MIN_TRAINING_BADS = 30
MIN_USEFUL_AUC = 0.6
BAD_STATUSES = (LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF)
NPL = sorted(str(c) for c in NON_PERFORMING_CLASSES)


def _error(field: str, message: str, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


# ---------------------------------------------------------------------------------------------------------- default


@transaction.atomic
def scorecard_default() -> Scorecard:
    """The platform's expert card (no owner), created on first use."""
    existing = (
        Scorecard.objects.filter(method=ScorecardMethod.EXPERT, owner__isnull=True, is_active=True)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing
    card = Scorecard(
        name=DEFAULT_NAME,
        method=ScorecardMethod.EXPERT,
        definition=EXPERT_SCORECARD.to_json(),
        metrics={"note": "expert weights, not fitted: see ipledge.screening.engine.expert"},
        training_rows=0,
        owner=None,
        is_active=True,
    )
    return audited_create(instance=card, acting_user=None, action="screening.scorecard.create_default")


# ---------------------------------------------------------------------------------------------------------- training


def may_train(user: User | None) -> bool:
    """National or provincial IP offices' admins and operators (and the platform)."""
    if user is None:
        return True  # the command line, run by the platform operator
    scope = scope_for(user)
    if scope is None:
        return False
    if scope.is_platform:
        return True
    return (
        scope.kind == OrganisationKind.IP_OFFICE
        and scope.admin_level in (AdminLevel.NATIONAL, AdminLevel.PROVINCIAL)
        and scope.may(Action.ADD)
    )


def _jurisdiction(user: User | None) -> str:
    """The region prefix whose loans train the card ("" for all)."""
    scope = scope_for(user) if user is not None else None
    if scope is None or scope.is_platform:
        return ""
    return scope.region_prefix or ""


def training_outcomes(*, region_prefix: str = "", today: datetime.date | None = None) -> pl.DataFrame:
    """One row per disbursed loan: loan_id, enterprise_id, as_of (its first disbursement), bad (0/1)."""
    today = today or business_date()
    loans = Loan.objects.filter(first_disbursed_on__isnull=False, first_disbursed_on__lte=today)
    if region_prefix:
        loans = loans.filter(region_code__startswith=region_prefix)
    rows = list(
        loans.values(
            "pk", "borrower_id", "first_disbursed_on", "status", "classification", "defaulted_on", "written_off_on"
        )
    )
    ever_npl = set(
        ClassificationChange.objects.filter(loan__in=loans, to_class__in=NPL).values_list("loan_id", flat=True)
    )
    data = [
        {
            "loan_id": r["pk"],
            "enterprise_id": r["borrower_id"],
            "as_of": r["first_disbursed_on"],
            "bad": int(
                r["pk"] in ever_npl
                or r["classification"] in NPL
                or r["status"] in BAD_STATUSES
                or r["defaulted_on"] is not None
                or r["written_off_on"] is not None
            ),
        }
        for r in rows
    ]
    schema = {"loan_id": pl.Int64, "enterprise_id": pl.Int64, "as_of": pl.Date, "bad": pl.Int64}
    return pl.DataFrame(data, schema=schema, orient="row") if data else pl.DataFrame(schema=schema)


def training_frame(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Each loan's borrower as it was when the loan started: features, credit characteristics and `bad`."""
    requests = list(
        zip(outcomes.get_column("enterprise_id").to_list(), outcomes.get_column("as_of").to_list(), strict=True)
    )
    features = build_features_at(requests)
    last = outcomes.get_column("as_of").max()
    assert isinstance(last, datetime.date)
    records = load_records(outcomes.get_column("enterprise_id").unique().to_list(), last)
    enriched = derive_credit(features, records)
    return enriched.with_columns(outcomes.get_column("bad"), outcomes.get_column("loan_id"))


def _too_few(loans: int, bads: int) -> ValidationError:
    return _error(
        "training_rows",
        _(
            "平台贷款表现样本不足，无法训练评分卡：需要至少 %(min_loans)s 笔已放款贷款，其中不良和正常各至少 "
            "%(min_bads)s 笔；现有 %(loans)s 笔，其中不良 %(bads)s 笔。继续使用专家权重评分卡。"
        ),
        "too_few_outcomes",
        {"min_loans": MIN_TRAINING_LOANS, "min_bads": MIN_TRAINING_BADS, "loans": loans, "bads": bads},
    )


def scorecard_train(*, acting_user: User | None, name: str) -> Scorecard:
    """Fit a logistic scorecard on the loan outcomes of the office's jurisdiction; stored inactive, audited.

    The fit runs before the write transaction opens, so a long fit never holds the database's write lock."""
    if not may_train(acting_user):
        raise PermissionDenied(_("只有国家或省级知识产权局的管理员或经办人员可以训练评分卡。"))
    name = (name or "").strip()
    if not name:
        raise _error("name", _("请填写评分卡名称。"), "required")
    if len(name) > 128:
        raise _error("name", _("评分卡名称不能超过128个字符。"), "max_length")
    prefix = _jurisdiction(acting_user)
    outcomes = training_outcomes(region_prefix=prefix)
    loans = outcomes.height
    bads = int(outcomes.get_column("bad").sum()) if loans else 0
    if loans < MIN_TRAINING_LOANS or bads < MIN_TRAINING_BADS or loans - bads < MIN_TRAINING_BADS:
        raise _too_few(loans, bads)
    frame = training_frame(outcomes)
    labels = {"size_class": {str(v): str(label) for v, label in SizeClass.choices}}
    try:
        spec, metrics = fit_logistic(frame, "bad", CHARACTERISTICS, value_labels=labels)
    except ValueError as exc:
        raise _error("training_rows", _("评分卡拟合失败：%(error)s"), "fit_failed", {"error": str(exc)}) from exc
    metrics["region_prefix"] = prefix
    metrics["trained_on"] = business_date().isoformat()
    organisation = getattr(acting_user, "organisation", None) if acting_user is not None else None
    with transaction.atomic():
        card = Scorecard(
            name=name,
            method=ScorecardMethod.LOGISTIC,
            definition=spec.to_json(),
            metrics=metrics,
            training_rows=loans,
            owner=organisation,
            is_active=False,
            created_by=_actor(acting_user),
        )
        audited_create(instance=card, acting_user=acting_user, action="screening.scorecard.train")
    return card


# -------------------------------------------------------------------------------------------------------- activation


def may_manage(user: User | None, scorecard: Scorecard) -> bool:
    """Whether the user may activate or stop this card: the approve right within the owner office's tree; the
    platform's own cards (no owner) only by the platform."""
    if user is None:
        return True
    scope = scope_for(user)
    if scope is None:
        return False
    if scope.is_platform:
        return True
    return Scorecard.objects.restrict(user, Action.APPROVE).filter(pk=scorecard.pk).exists()


def _set_active(scorecard: Scorecard, acting_user: User | None, active: bool, action: str) -> Scorecard:
    locked = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    before = snapshot(locked, ["is_active"])
    locked.is_active = active
    locked.save(update_fields=["is_active"])
    record_event(
        acting_user=acting_user, action=action, instance=locked, old=before, new=snapshot(locked, ["is_active"])
    )
    return locked


@transaction.atomic
def scorecard_activate(*, scorecard: Scorecard, acting_user: User | None) -> Scorecard:
    """Offer a card for use (criteria may then name it); a trained card must show a useful hold-out AUC."""
    if not may_manage(acting_user, scorecard):
        raise PermissionDenied(_("只有评分卡所属知识产权局的管理员或审核人员可以启用评分卡。"))
    if scorecard.is_active:
        raise _error("scorecard", _("该评分卡已启用。"), "already_active")
    try:
        problems = card_problems(scorecard_spec(scorecard))
    except (KeyError, TypeError, ValueError) as exc:
        problems = [str(exc)]
    if problems:
        raise _error(
            "scorecard", _("评分卡定义有误，不能启用：%(problems)s"), "invalid_card", {"problems": "; ".join(problems)}
        )
    if scorecard.method == ScorecardMethod.LOGISTIC:
        auc = (scorecard.metrics or {}).get("auc")
        if auc is None or float(auc) < MIN_USEFUL_AUC:
            raise _error(
                "scorecard",
                _("留出样本 AUC 为 %(auc)s，低于 %(min)s：区分能力接近随机，不能启用；继续使用专家权重。"),
                "auc_too_low",
                {"auc": "—" if auc is None else f"{float(auc):.3f}", "min": MIN_USEFUL_AUC},
            )
    return _set_active(scorecard, acting_user, True, "screening.scorecard.activate")


@transaction.atomic
def scorecard_deactivate(*, scorecard: Scorecard, acting_user: User | None) -> Scorecard:
    """Stop offering a card for new criteria (published criteria keep it). The platform default cannot stop."""
    if not may_manage(acting_user, scorecard):
        raise PermissionDenied(_("只有评分卡所属知识产权局的管理员或审核人员可以停用评分卡。"))
    if not scorecard.is_active:
        raise _error("scorecard", _("该评分卡已停用。"), "already_inactive")
    if scorecard.owner_id is None and scorecard.method == ScorecardMethod.EXPERT:
        others = Scorecard.objects.filter(method=ScorecardMethod.EXPERT, owner__isnull=True, is_active=True)
        if not others.exclude(pk=scorecard.pk).exists():
            raise _error("scorecard", _("平台默认专家评分卡是所有筛选的兜底评分卡，不能停用。"), "default_card")
    return _set_active(scorecard, acting_user, False, "screening.scorecard.deactivate")


# ------------------------------------------------------------------------------------------------ one enterprise


def score_enterprise(
    *, enterprise: Enterprise, card: Scorecard | None = None, as_of: datetime.date | None = None
) -> dict[str, Any]:
    """One enterprise's score on a card (default: the platform default) as of a day (default: today), with the
    points per characteristic in words, the features it was scored on and the credit characteristics derived from
    its matched records. The caller has checked that the enterprise may be seen."""
    card = card or scorecard_default()
    day = as_of or business_date()
    spec: ScorecardSpec = scorecard_spec(card)
    features = build_features([enterprise.pk], day)
    records = load_records([enterprise.pk], day)
    enriched = derive_credit(features, records, day)
    row = score(enriched, spec).row(0, named=True)
    feature_row = enriched.row(0, named=True)
    points = {c.name: row[f"points_{c.name}"] for c in spec.characteristics}
    values = {c.name: row[f"value_{c.name}"] for c in spec.characteristics}
    return {
        "enterprise_id": enterprise.pk,
        "enterprise_name": enterprise.name,
        "as_of": day,
        "scorecard_id": card.pk,
        "scorecard_name": card.name,
        "method": card.method,
        "method_text": method_text(card.method),
        "base_points": spec.base_points,
        "score": row["score"],
        "points": points,
        "values": values,
        "rows": describe_points(spec, points, values),
        "features": {k: v for k, v in feature_row.items() if not k.startswith("_")},
    }


def score_for_viewer(
    *, enterprise: Enterprise, user: Any, card: Scorecard | None = None, as_of: datetime.date | None = None
) -> dict[str, Any]:
    """`score_enterprise` with the viewer's active card when none is named."""
    if card is None:
        organisation = getattr(user, "organisation", None)
        card = active_scorecard(organisation=organisation) if organisation is not None else None
    return score_enterprise(enterprise=enterprise, card=card, as_of=as_of)
