"""Survey reads (常态化调查). Every read starts from `restrict(user, action)`.

- Organisers (the IP office or park administration that runs a campaign, and the offices above it) see their
  campaigns with targets, answers and results; a campaign of another organiser answers 404.
- A target organisation sees a campaign once published (never a draft), its own target row (reminders, due date)
  and its own response; it never sees the other targets or the results.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ipledge.core.context import business_date
from ipledge.core.scoping import Action, scope_for

from . import survey_answers
from .choices import QuestionKind, SurveyStatus
from .models import SurveyCampaign, SurveyQuestion, SurveyResponse, SurveyTarget

MAX_TEXTS = 200
HISTOGRAM_BINS = 8


class TargetState:
    ANSWERED = "answered"
    REMINDED = "reminded"
    PENDING = "pending"
    NOT_SENT = "not_sent"


TARGET_STATE_LABELS = {
    TargetState.ANSWERED: gettext_lazy("已答卷"),
    TargetState.REMINDED: gettext_lazy("已催办"),
    TargetState.PENDING: gettext_lazy("待答卷"),
    TargetState.NOT_SENT: gettext_lazy("未发送"),
}


def target_state(target: SurveyTarget) -> str:
    if target.responded_at is not None:
        return TargetState.ANSWERED
    if target.invited_at is None:
        return TargetState.NOT_SENT
    return TargetState.REMINDED if target.reminders_sent else TargetState.PENDING


def target_state_label(state: str) -> str:
    return str(TARGET_STATE_LABELS[state])


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


def _organiser_q(user: Any) -> Q | None:
    scope = scope_for(user)
    if scope is None:
        return None
    if scope.is_platform:
        return Q()
    return scope.org_tree_q("organiser__tree_path")


def organised(user: Any) -> QuerySet[SurveyCampaign]:
    """Campaigns the user's organisation (or one below it) runs (targets see theirs elsewhere)."""
    q = _organiser_q(user)
    qs = SurveyCampaign.objects.restrict(user, Action.VIEW)
    return qs.none() if q is None else qs.filter(q)


def organiser_campaigns(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[SurveyCampaign]:
    """Campaigns the user's organisation (or one below it) runs, with target and answer counts."""
    qs = (
        organised(user)
        .select_related("organiser", "previous")
        .annotate(
            targets_count=Count("targets", distinct=True),
            responded_count=Count("targets", filter=Q(targets__responded_at__isnull=False), distinct=True),
        )
    )
    filters = filters or {}
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("audience"):
        qs = qs.filter(audience=filters["audience"])
    if filters.get("q"):
        qs = qs.filter(Q(title__icontains=filters["q"]) | Q(period_label__icontains=filters["q"]))
    return qs


def organiser_campaign(*, user: Any, pk: Any) -> SurveyCampaign:
    """One campaign the user organises, else 404 (also for a target organisation: it answers, it does not manage)."""
    try:
        return organiser_campaigns(user=user).get(pk=pk)
    except (SurveyCampaign.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(SurveyCampaign._meta.verbose_name) from exc


def changeable_campaign(*, user: Any, pk: Any) -> SurveyCampaign:
    """One campaign the user organises and may change, else 404: a viewer of the organiser reads the builder, the
    targets and the results, but its write routes answer as for a campaign it cannot reach."""
    try:
        return (
            organiser_campaigns(user=user)
            .filter(pk__in=SurveyCampaign.objects.restrict(user, Action.CHANGE).values("pk"))
            .get(pk=pk)
        )
    except (SurveyCampaign.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(SurveyCampaign._meta.verbose_name) from exc


def is_organiser(user: Any, campaign: SurveyCampaign) -> bool:
    return organised(user).filter(pk=campaign.pk).exists()


def may_change(user: Any, campaign: SurveyCampaign) -> bool:
    return SurveyCampaign.objects.restrict(user, Action.CHANGE).filter(pk=campaign.pk).exists()


def campaign_questions(campaign: SurveyCampaign) -> list[SurveyQuestion]:
    return list(campaign.questions.order_by("position"))


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


def campaign_targets(*, user: Any, campaign: SurveyCampaign, state: str = "") -> QuerySet[SurveyTarget]:
    """The targets of a campaign the user organises, optionally only those in one state."""
    qs = (
        SurveyTarget.objects.restrict(user, Action.VIEW)
        .filter(campaign=campaign, campaign__in=organised(user).values("pk"))
        .select_related("organisation", "organisation__region")
        .order_by("organisation__name", "pk")
    )
    if state == TargetState.ANSWERED:
        qs = qs.filter(responded_at__isnull=False)
    elif state == TargetState.REMINDED:
        qs = qs.filter(responded_at__isnull=True, reminders_sent__gt=0)
    elif state == TargetState.PENDING:
        qs = qs.filter(responded_at__isnull=True, invited_at__isnull=False, reminders_sent=0)
    elif state == TargetState.NOT_SENT:
        qs = qs.filter(responded_at__isnull=True, invited_at__isnull=True)
    return qs


def target_counts(campaign: SurveyCampaign) -> dict[str, int]:
    targets = SurveyTarget.objects.filter(campaign=campaign)
    figures = targets.aggregate(
        total=Count("pk"),
        answered=Count("pk", filter=Q(responded_at__isnull=False)),
        reminded=Count("pk", filter=Q(responded_at__isnull=True, reminders_sent__gt=0)),
    )
    counts = {k: int(v or 0) for k, v in figures.items()}
    counts["pending"] = counts["total"] - counts["answered"]
    return counts


@dataclass
class MySurvey:
    target: SurveyTarget
    campaign: SurveyCampaign
    state: str
    overdue: bool
    days_left: int
    response_id: int | None = None


def my_surveys(*, user: Any, today: datetime.date | None = None) -> dict[str, list[MySurvey]]:
    """The user's organisation's surveys: `pending` (open, not answered; most urgent first) and `done` (answered or
    closed), each with its reminders and due date."""
    day = today or business_date()
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return {"pending": [], "done": []}
    targets = (
        SurveyTarget.objects.restrict(user, Action.VIEW)
        .filter(organisation_id=org_id)
        .exclude(campaign__status=SurveyStatus.DRAFT)
        .select_related("campaign", "campaign__organiser")
        .order_by("campaign__closes_on", "pk")
    )
    responses = dict(
        SurveyResponse.objects.restrict(user, Action.VIEW)
        .filter(organisation_id=org_id)
        .values_list("campaign_id", "pk")
    )
    pending: list[MySurvey] = []
    done: list[MySurvey] = []
    for target in targets:
        campaign = target.campaign
        item = MySurvey(
            target=target,
            campaign=campaign,
            state=target_state(target),
            overdue=target.responded_at is None and campaign.closes_on < day,
            days_left=(campaign.closes_on - day).days,
            response_id=responses.get(campaign.pk),
        )
        if target.responded_at is None and campaign.status == SurveyStatus.OPEN:
            pending.append(item)
        else:
            done.append(item)
    done.sort(key=lambda s: s.campaign.closes_on, reverse=True)
    return {"pending": pending, "done": done}


def respondent_target(*, user: Any, pk: Any) -> SurveyTarget:
    """The user's organisation's target row of a published campaign, else 404 (drafts and non-targets alike)."""
    org_id = getattr(user, "organisation_id", None)
    target = (
        SurveyTarget.objects.restrict(user, Action.VIEW)
        .filter(campaign_id=pk, organisation_id=org_id)
        .exclude(campaign__status=SurveyStatus.DRAFT)
        .select_related("campaign", "campaign__organiser")
        .first()
        if org_id is not None and str(pk).isdigit()
        else None
    )
    if target is None:
        raise Http404(SurveyCampaign._meta.verbose_name)
    return target


def response_list(*, user: Any, campaign: SurveyCampaign) -> QuerySet[SurveyResponse]:
    return (
        SurveyResponse.objects.restrict(user, Action.VIEW)
        .filter(campaign=campaign)
        .select_related("organisation", "submitted_by", "demand", "product", "product__bank")
        .order_by("organisation__name", "pk")
    )


def response_detail(*, user: Any, pk: Any) -> SurveyResponse:
    try:
        return (
            SurveyResponse.objects.restrict(user, Action.VIEW)
            .select_related("campaign", "campaign__organiser", "organisation", "submitted_by", "demand", "product")
            .get(pk=pk)
        )
    except (SurveyResponse.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(SurveyResponse._meta.verbose_name) from exc


def answer_rows(response: SurveyResponse) -> list[dict[str, Any]]:
    """A response's answers in question order, in words."""
    rows = []
    for question in response.campaign.questions.order_by("position"):
        value = response.answers.get(str(question.pk))
        rows.append({"question": question, "value": value, "text": survey_answers.display(question.kind, value)})
    return rows


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


def _fmt(value: Decimal, places: str = "0.01") -> str:
    return str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _wan(value: Decimal) -> str:
    """A yuan amount short: 万 above ten thousand (1234567 → 123.46万)."""
    if abs(value) >= 10_000:
        return f"{(value / 10_000).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}万"
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def histogram(values: list[Decimal], *, integer: bool, money: bool) -> list[dict[str, Any]]:
    """Equal-width bins from the smallest to the largest value (at most 8; one bin when all values are equal)."""
    if not values:
        return []
    low, high = min(values), max(values)
    label = _wan if money else (lambda v: f"{v.normalize():f}")
    if low == high:
        return [{"label": label(low), "count": len(values)}]
    bins = min(HISTOGRAM_BINS, max(2, math.ceil(math.sqrt(len(values)))))
    width = (high - low) / bins
    if integer:
        width = Decimal(max(1, math.ceil((high - low + 1) / bins)))
        bins = math.ceil((high - low + 1) / width)
    counts = [0] * bins
    for v in values:
        index = int((v - low) / width) if width else 0
        counts[min(index, bins - 1)] += 1
    out = []
    for i, count in enumerate(counts):
        start = low + width * i
        end = (start + width - 1) if integer else (start + width)
        out.append({"label": f"{label(start)}–{label(end)}", "count": count})
    return out


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int
    chart: str  # "bar", "histogram" or "" (texts and dates are listed)
    options: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, str] = field(default_factory=dict)
    bins: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, str]] = field(default_factory=list)

    @property
    def chart_id(self) -> str:
        return f"survey-chart-{self.question.pk}"

    @property
    def display_stats(self) -> dict[str, str]:
        """The statistics for a page: money with thousands separators."""
        if self.question.kind != QuestionKind.MONEY:
            return self.stats
        return {k: (v if k == "count" else f"{Decimal(v):,.2f}") for k, v in self.stats.items()}

    def as_dict(self) -> dict[str, Any]:
        q = self.question
        return {
            "question_id": q.pk,
            "position": q.position,
            "text": q.text,
            "kind": q.kind,
            "maps_to": q.maps_to,
            "answered": self.answered,
            "chart": self.chart,
            "options": self.options,
            "stats": self.stats,
            "histogram": self.bins,
            "texts": self.texts,
        }


def _numbers(kind: str, values: list[Any]) -> list[Decimal]:
    return [Decimal(str(v)) for v in values if v is not None]


def _stats(numbers: list[Decimal], *, money: bool) -> dict[str, str]:
    if not numbers:
        return {}
    mean = sum(numbers, Decimal(0)) / len(numbers)
    median = Decimal(statistics.median(numbers))
    places = "0.01"
    return {
        "count": str(len(numbers)),
        "mean": _fmt(mean, places),
        "median": _fmt(median, places),
        "min": _fmt(min(numbers), places) if money else f"{min(numbers)}",
        "max": _fmt(max(numbers), places) if money else f"{max(numbers)}",
    }


def question_result(question: SurveyQuestion, answers: list[tuple[str, Any]]) -> QuestionResult:
    """One question's summary over `answers` [(organisation name, stored value)] (unanswered ones excluded)."""
    given = [(org, v) for org, v in answers if v is not None and v != "" and v != []]
    values = [v for _org, v in given]
    kind = question.kind
    result = QuestionResult(question=question, answered=len(given), chart="")
    if kind in (QuestionKind.CHOICE, QuestionKind.MULTI_CHOICE):
        counts: Counter[str] = Counter()
        for v in values:
            counts.update(v if isinstance(v, list) else [v])
        result.chart = "bar"
        result.options = [{"label": o, "count": counts.get(o, 0)} for o in question.choices]
    elif kind == QuestionKind.YES_NO:
        result.chart = "bar"
        result.options = [
            {"label": _("是"), "count": sum(1 for v in values if v is True)},
            {"label": _("否"), "count": sum(1 for v in values if v is False)},
        ]
    elif kind == QuestionKind.RATING:
        result.chart = "bar"
        ratings: Counter[int] = Counter(int(v) for v in values)
        result.options = [
            {"label": str(r), "count": ratings.get(r, 0)}
            for r in range(survey_answers.RATING_MIN, survey_answers.RATING_MAX + 1)
        ]
        numbers = _numbers(kind, values)
        if numbers:
            result.stats = {"count": str(len(numbers)), "mean": _fmt(sum(numbers, Decimal(0)) / len(numbers))}
    elif kind in survey_answers.NUMBER_KINDS:
        money = kind == QuestionKind.MONEY
        numbers = _numbers(kind, values)
        result.chart = "histogram" if numbers else ""
        result.stats = _stats(numbers, money=money)
        result.bins = histogram(numbers, integer=not money, money=money)
    else:
        result.texts = [{"organisation": org, "text": str(v)} for org, v in given[:MAX_TEXTS]]
    return result


@dataclass
class SurveyResults:
    campaign: SurveyCampaign
    targets: int
    responses: int
    rate: str  # percent with one decimal, "" without targets
    questions: list[QuestionResult]
    library: list[SurveyResponse]

    def charts(self) -> list[dict[str, Any]]:
        """What survey_charts.js draws: one entry per chart container."""
        out = []
        for r in self.questions:
            if r.chart == "bar":
                out.append(
                    {
                        "id": r.chart_id,
                        "type": "bar",
                        "horizontal": r.question.kind == QuestionKind.MULTI_CHOICE or len(r.options) > 5,
                        "labels": [o["label"] for o in r.options],
                        "values": [o["count"] for o in r.options],
                    }
                )
            elif r.chart == "histogram":
                out.append(
                    {
                        "id": r.chart_id,
                        "type": "histogram",
                        "labels": [b["label"] for b in r.bins],
                        "values": [b["count"] for b in r.bins],
                    }
                )
        return out


def survey_results(campaign: SurveyCampaign) -> SurveyResults:
    """Response rate, one summary per question and the library entries created from answers (call only for a
    campaign the user organises)."""
    questions = campaign_questions(campaign)
    responses = list(
        SurveyResponse.objects.filter(campaign=campaign)
        .select_related("organisation", "demand", "demand__enterprise", "product", "product__bank")
        .order_by("organisation__name", "pk")
    )
    counts = target_counts(campaign)
    answered = counts["answered"]
    rate = _fmt(Decimal(answered) * 100 / Decimal(counts["total"]), "0.1") if counts["total"] else ""
    per_question = [
        question_result(q, [(r.organisation.name, r.answers.get(str(q.pk))) for r in responses]) for q in questions
    ]
    library = [r for r in responses if r.demand_id or r.product_id]
    return SurveyResults(
        campaign=campaign,
        targets=counts["total"],
        responses=len(responses),
        rate=rate,
        questions=per_question,
        library=library,
    )
