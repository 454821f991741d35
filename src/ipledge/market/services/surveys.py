"""Recurring surveys (常态化调查): campaigns of typed questions sent to target organisations, reminders, answers, and
answers flowing into the demand and product libraries.

Who does what:
- IP offices and park administrations organise (`campaign_create`, questions, targets, publish, remind, close,
  repeat); an officer acts for its own organisation or one below it. Questions change only while the campaign is a
  draft; targets are added while it is a draft or open (a late target is invited at once) and removed only from a
  draft.
- Reach (where an organiser may send a survey): a park administration reaches the enterprises that are current
  members of the parks it runs (so it surveys enterprises only); an IP office reaches, in its region (a national
  office: everywhere), the enterprises registered there or members of a park there, and the banks located there.
  Only organisations with a platform account can answer: enterprises need a login (an `Enterprise` linked to an
  active organisation), banks are organisations.
- The audience decides the kind of target: `enterprise` and `follow_up` → enterprises; `bank` → banks.
- A follow-up survey (跟踪调查, audience `follow_up`) reaches only financed enterprises (`financed_enterprises`):
  those with an IP-pledge loan (知识产权质押贷款) disbursed, on or before the campaign's closing date, and inside the
  organiser's reach as above; `targets_add(financed_from=, financed_to=)` narrows them to a disbursement period.
- A target organisation's officer (a role that may add) answers once (`response_submit`), while the campaign is open
  and from its opening day; late answers (after `closes_on`, before the campaign is closed) are accepted and shown
  as overdue. Every answer is validated by its question's kind (`ipledge.market.survey_answers`); errors name the
  question as `answers.<question id>`; nothing is stored unless every answer is valid.

Mapped questions (`maps_to`) and the libraries, when the campaign `flows_into_library`:
- enterprise / follow-up audience: an answer to `demand.amount` greater than zero creates a demand of the
  responding enterprise (`demands.demand_create(source=survey)`) with `demand.term_months` (default 12 months),
  `demand.purpose` (option → `DemandPurpose`; default 其他), `demand.description` (default: the campaign's name)
  and, when mapped, `demand.share_with_matching_banks` (yes/no; default no: a survey-born demand is shown to banks
  only with the enterprise's consent). A park administration's campaign records its park on the demand.
- bank audience: any answered `product.*` question creates a draft product of the responding bank
  (`products.product_create`) with code `SURVEY-<campaign>-<bank>`, `product.name` (default: campaign name +
  period + 意向产品), `product.amount_max` (default 10,000,000 yuan; minimum 100,000 yuan or the maximum if lower),
  `product.term_max_months` (default 36; minimum 12 or the maximum if lower), `product.collateral_kinds` (option →
  `CollateralKind`; default invention and utility-model patents and trademarks), rate LPR + `product.rate_spread_bp`
  (default 0 bp), nothing else restricted. The bank completes the draft and submits it for approval as usual.
- The library entry is written in the response's transaction: if it is refused, the response is refused too, and
  the error names the question mapped to the refused field (else `library`).

Follow-up audience and the yearly figures: answers to `financials.*` questions (R&D spending and revenue → money,
employees, patents held and implemented → integer) are written to the responding enterprise's
`monitoring.EnterpriseFinancials` (source 跟踪调查, the response linked) for the year before the period's year
(`financials_year`: a follow-up labelled 2026 or 2026Q1 asks for the last complete year, 2025), in the response's
transaction, whether or not the campaign flows into the libraries; only the mapped figures change, figures the
enterprise entered itself for other fields stay. A refused figure refuses the response, named by its question.

Rules of mapping (`question_add` / `question_update`): demand.* only for enterprise and follow-up audiences,
financials.* only for follow-up, product.* only for banks; the question's kind must suit the field (amount → money, months / basis points →
integer, purpose → single choice whose every option is a 资金用途 label or value, collateral kinds → multiple
choice whose every option is a 质押物 kind, description / name → text, consent → yes/no); one question per field.

Reminders (催办): the platform sends no e-mail. `campaign_remind` marks, on an open campaign, every target that has
not answered and was neither invited nor reminded within the last `reminder_every_days` days (counter and time),
and the target sees the reminder on its 我的调查 page. `campaigns_remind` does it for every open campaign (the
`ipledge market remind-surveys` job), `campaigns_close_due` closes open campaigns past `closes_on`
(`close-surveys`).

Recurrence: `campaign_repeat` makes the next period's draft (2026Q4 → 2027Q1, 2026H2 → 2027H1, 2026 → 2027) with
the same questions and targets, dates moved by the period, `previous` set.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history

from ipledge.core.audit import audited_create, audited_update, record_event, snapshot
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise, Park, ParkMembership

from .. import survey_answers
from ..choices import (
    CollateralKind,
    DemandPurpose,
    DemandSource,
    QuestionKind,
    QuestionTarget,
    RateKind,
    SurveyAudience,
    SurveyRecurrence,
    SurveyStatus,
)
from ..models import Demand, Product, SurveyCampaign, SurveyQuestion, SurveyResponse, SurveyTarget

ORGANISER_KINDS = (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN)
AUDIENCE_ORG_KIND: dict[str, str] = {
    SurveyAudience.ENTERPRISE: OrganisationKind.ENTERPRISE,
    SurveyAudience.FOLLOW_UP: OrganisationKind.ENTERPRISE,
    SurveyAudience.BANK: OrganisationKind.BANK,
}
DEMAND_AUDIENCES = frozenset({SurveyAudience.ENTERPRISE, SurveyAudience.FOLLOW_UP})
PRODUCT_AUDIENCES = frozenset({SurveyAudience.BANK})

MAPPING_KINDS: dict[str, frozenset[str]] = {
    QuestionTarget.DEMAND_AMOUNT: frozenset({QuestionKind.MONEY}),
    QuestionTarget.DEMAND_TERM: frozenset({QuestionKind.INTEGER}),
    QuestionTarget.DEMAND_PURPOSE: frozenset({QuestionKind.CHOICE}),
    QuestionTarget.DEMAND_DESCRIPTION: frozenset({QuestionKind.TEXT, QuestionKind.LONG_TEXT}),
    QuestionTarget.DEMAND_SHARE: frozenset({QuestionKind.YES_NO}),
    QuestionTarget.PRODUCT_NAME: frozenset({QuestionKind.TEXT}),
    QuestionTarget.PRODUCT_AMOUNT_MAX: frozenset({QuestionKind.MONEY}),
    QuestionTarget.PRODUCT_TERM_MAX: frozenset({QuestionKind.INTEGER}),
    QuestionTarget.PRODUCT_COLLATERAL: frozenset({QuestionKind.MULTI_CHOICE}),
    QuestionTarget.PRODUCT_RATE_SPREAD: frozenset({QuestionKind.INTEGER}),
    QuestionTarget.FIN_RD_SPENDING: frozenset({QuestionKind.MONEY}),
    QuestionTarget.FIN_REVENUE: frozenset({QuestionKind.MONEY}),
    QuestionTarget.FIN_EMPLOYEES: frozenset({QuestionKind.INTEGER}),
    QuestionTarget.FIN_PATENTS_HELD: frozenset({QuestionKind.INTEGER}),
    QuestionTarget.FIN_PATENTS_IMPLEMENTED: frozenset({QuestionKind.INTEGER}),
}
FINANCIALS_AUDIENCES = frozenset({SurveyAudience.FOLLOW_UP})
# Question target → EnterpriseFinancials field.
FINANCIALS_FIELDS: dict[str, str] = {
    QuestionTarget.FIN_RD_SPENDING: "rd_spending",
    QuestionTarget.FIN_REVENUE: "revenue",
    QuestionTarget.FIN_EMPLOYEES: "employees",
    QuestionTarget.FIN_PATENTS_HELD: "patents_held",
    QuestionTarget.FIN_PATENTS_IMPLEMENTED: "patents_implemented",
}

MAX_QUESTIONS = 100
MAX_OPTIONS = 50
OPTION_MAX = 100
MAX_REMINDER_DAYS = 90
OPEN_EDITABLE = frozenset({"description", "closes_on", "reminder_every_days"})
CAMPAIGN_FIELDS = (
    "title",
    "description",
    "audience",
    "period_label",
    "recurrence",
    "opens_on",
    "closes_on",
    "reminder_every_days",
    "flows_into_library",
)

# Library defaults (documented above).
DEFAULT_DEMAND_TERM = 12
DEFAULT_PRODUCT_AMOUNT_MAX = Money("10000000")
DEFAULT_PRODUCT_AMOUNT_MIN = Money("100000")
DEFAULT_PRODUCT_TERM_MAX = 36
DEFAULT_PRODUCT_TERM_MIN = 12
DEFAULT_COLLATERAL = (
    CollateralKind.INVENTION.value,
    CollateralKind.UTILITY_MODEL.value,
    CollateralKind.TRADEMARK.value,
)
DEFAULT_SPREAD_BP = 0

_PERIOD_PATTERNS: dict[str, re.Pattern[str]] = {
    SurveyRecurrence.QUARTERLY: re.compile(r"^(\d{4})Q([1-4])$"),
    SurveyRecurrence.HALF_YEARLY: re.compile(r"^(\d{4})H([12])$"),
    SurveyRecurrence.YEARLY: re.compile(r"^(\d{4})$"),
}
_PERIOD_MONTHS: dict[str, int] = {
    SurveyRecurrence.QUARTERLY: 3,
    SurveyRecurrence.HALF_YEARLY: 6,
    SurveyRecurrence.YEARLY: 12,
}
_PERIOD_EXAMPLES = {
    SurveyRecurrence.QUARTERLY: "2026Q4",
    SurveyRecurrence.HALF_YEARLY: "2026H2",
    SurveyRecurrence.YEARLY: "2026",
}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


class _Errors:
    def __init__(self) -> None:
        self.items: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        self.items.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)  # type: ignore[arg-type]


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _percent(message: Any, params: Mapping[str, Any]) -> str:
    return str(message) % dict(params) if params else str(message)


# A message rendered in whatever language is active when it is shown (the API renders zh and en in turn).
_lazy_percent = lazy(_percent, str)


def add_months(day: datetime.date, months: int) -> datetime.date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def next_period_label(label: str, recurrence: str) -> str:
    """The label of the period after `label`: 2026Q4 → 2027Q1, 2026H2 → 2027H1, 2026 → 2027. ValueError when the
    label does not have the recurrence's form (or the campaign does not recur)."""
    pattern = _PERIOD_PATTERNS.get(recurrence)
    found = pattern.match(label) if pattern is not None else None
    if found is None:
        raise ValueError(f"{label!r} is not a {recurrence} period label")
    year = int(found.group(1))
    if recurrence == SurveyRecurrence.YEARLY:
        return str(year + 1)
    part, parts, letter = int(found.group(2)), (4 if recurrence == SurveyRecurrence.QUARTERLY else 2), label[4]
    return f"{year + 1}{letter}1" if part == parts else f"{year}{letter}{part + 1}"


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=timezone.get_default_timezone())


def _moment(today: datetime.date | None) -> datetime.datetime:
    if today is None:
        return business_now()
    return datetime.datetime.combine(today, datetime.time(10, 0), tzinfo=timezone.get_default_timezone())


# ---------------------------------------------------------------------------
# Permissions and reach
# ---------------------------------------------------------------------------


def may_organise(user: Any) -> bool:
    """Whether the user may create campaigns at all (an officer of an IP office or park administration)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or scope.kind in ORGANISER_KINDS


def _require_organiser(user: User, organiser: Organisation, action: str, what: str) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        raise PermissionDenied(f"your role may not {what}")
    if scope.is_platform:
        return
    if scope.kind not in ORGANISER_KINDS or not organiser.tree_path.startswith(scope.org_tree_path):
        raise PermissionDenied(f"only officers of the organising IP office or park administration may {what}")


def _require_campaign(user: User, campaign: SurveyCampaign, what: str) -> None:
    if not SurveyCampaign.objects.restrict(user, Action.CHANGE).filter(pk=campaign.pk).exists():
        raise PermissionDenied(f"only officers of the organiser may {what}")


def _locked(campaign: SurveyCampaign) -> SurveyCampaign:
    return (
        SurveyCampaign.objects.select_for_update(of=("self",)).select_related("organiser__region").get(pk=campaign.pk)
    )


def _require_draft(campaign: SurveyCampaign) -> None:
    if campaign.status != SurveyStatus.DRAFT:
        raise _error("status", _("调查已发布，不能再修改题目或删除调查对象。"), "not_draft")


def _region_prefix(org: Organisation) -> str | None:
    """The organiser's jurisdiction as a region-code prefix ("" = whole country), None when it has none."""
    if org.admin_level == AdminLevel.NATIONAL:
        return ""
    if org.region_id:
        return org.region.prefix  # type: ignore[union-attr]
    return None


def _account_enterprises() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE, is_active=True, enterprise__isnull=False)


def _current_members(parks: QuerySet[Park] | Q) -> QuerySet[ParkMembership]:
    condition = Q(park__in=parks) if isinstance(parks, QuerySet) else parks
    return ParkMembership.objects.filter(condition, left_on__isnull=True)


def reach_enterprises(organiser: Organisation) -> QuerySet[Organisation]:
    """Enterprise organisations (with a platform account) the organiser may survey."""
    accounts = _account_enterprises()
    if organiser.kind == OrganisationKind.PARK_ADMIN:
        members = _current_members(Q(park__administering_org__tree_path__startswith=organiser.tree_path))
        return accounts.filter(enterprise__pk__in=members.values("enterprise_id"))
    if organiser.kind == OrganisationKind.IP_OFFICE:
        prefix = _region_prefix(organiser)
        if prefix is None:
            return accounts.none()
        if prefix == "":
            return accounts
        members = _current_members(Q(park__region__code__startswith=prefix))
        return accounts.filter(
            Q(enterprise__region_code__startswith=prefix) | Q(enterprise__pk__in=members.values("enterprise_id"))
        )
    return accounts.none()


def reach_banks(organiser: Organisation) -> QuerySet[Organisation]:
    """Banks the organiser may survey (an IP office: the banks located in its region)."""
    banks = Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
    if organiser.kind != OrganisationKind.IP_OFFICE:
        return banks.none()
    prefix = _region_prefix(organiser)
    if prefix is None:
        return banks.none()
    return banks if prefix == "" else banks.filter(region__code__startswith=prefix)


def financed_enterprises(
    *, financed_from: datetime.date | None = None, financed_to: datetime.date | None = None
) -> QuerySet[Enterprise]:
    """Enterprises financed through IP (获贷企业): an IP-pledge loan first disbursed (within the period, when given)."""
    from ipledge.lending.models import Loan

    loans = Loan.objects.filter(is_ip_pledge=True, first_disbursed_on__isnull=False)
    if financed_from is not None:
        loans = loans.filter(first_disbursed_on__gte=financed_from)
    if financed_to is not None:
        loans = loans.filter(first_disbursed_on__lte=financed_to)
    return Enterprise.objects.filter(pk__in=loans.values("borrower_id"))


def reach(
    organiser: Organisation,
    audience: str,
    *,
    financed_from: datetime.date | None = None,
    financed_to: datetime.date | None = None,
) -> QuerySet[Organisation]:
    """The organisations of the audience's kind the organiser may survey; a follow-up only the financed enterprises
    (optionally financed within a period)."""
    if AUDIENCE_ORG_KIND.get(audience) == OrganisationKind.BANK:
        return reach_banks(organiser)
    enterprises = reach_enterprises(organiser)
    if audience == SurveyAudience.FOLLOW_UP:
        financed = financed_enterprises(financed_from=financed_from, financed_to=financed_to)
        return enterprises.filter(enterprise__pk__in=financed.values("pk"))
    return enterprises


def reachable_parks(organiser: Organisation) -> QuerySet[Park]:
    """Parks whose enterprises the organiser may survey by rule."""
    parks = Park.objects.select_related("region")
    if organiser.kind == OrganisationKind.PARK_ADMIN:
        return parks.filter(administering_org__tree_path__startswith=organiser.tree_path)
    if organiser.kind == OrganisationKind.IP_OFFICE:
        prefix = _region_prefix(organiser)
        if prefix is None:
            return parks.none()
        return parks if prefix == "" else parks.filter(region__code__startswith=prefix)
    return parks.none()


def region_in_reach(organiser: Organisation, region: Region) -> bool:
    if organiser.kind != OrganisationKind.IP_OFFICE:
        return False
    prefix = _region_prefix(organiser)
    return prefix is not None and region.code.startswith(prefix)


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


def _check_campaign(organiser: Organisation, values: Mapping[str, Any], errors: _Errors) -> None:
    title = str(values.get("title") or "").strip()
    if not title:
        errors.add("title", _("请填写调查名称。"), "required")
    elif len(title) > 160:
        errors.add("title", _("调查名称不能超过160个字。"), "max_length")
    audience = values.get("audience")
    if audience not in SurveyAudience.values:
        errors.add("audience", _("请选择调查对象类型。"), "invalid_choice")
    elif AUDIENCE_ORG_KIND[audience] == OrganisationKind.BANK and organiser.kind != OrganisationKind.IP_OFFICE:
        errors.add("audience", _("园区管委会只能调查本园区企业；银行调查须由知识产权局发起。"), "audience_reach")
    recurrence = values.get("recurrence")
    label = str(values.get("period_label") or "").strip()
    if recurrence not in SurveyRecurrence.values:
        errors.add("recurrence", _("请选择调查周期。"), "invalid_choice")
    if not label:
        errors.add("period_label", _("请填写调查期，例如 2026Q4、2026H2 或 2026。"), "required")
    elif len(label) > 20:
        errors.add("period_label", _("调查期不能超过20个字符。"), "max_length")
    elif recurrence in _PERIOD_PATTERNS and not _PERIOD_PATTERNS[recurrence].match(label):
        errors.add(
            "period_label",
            _("%(recurrence)s调查的调查期应写作 %(example)s 的形式。"),
            "period_format",
            {"recurrence": SurveyRecurrence(recurrence).label, "example": _PERIOD_EXAMPLES[recurrence]},
        )
    opens_on, closes_on = values.get("opens_on"), values.get("closes_on")
    if not isinstance(opens_on, datetime.date):
        errors.add("opens_on", _("请填写开始日期。"), "required")
    if not isinstance(closes_on, datetime.date):
        errors.add("closes_on", _("请填写截止日期。"), "required")
    elif isinstance(opens_on, datetime.date) and closes_on < opens_on:
        errors.add("closes_on", _("截止日期不能早于开始日期。"), "date_order")
    every = values.get("reminder_every_days")
    if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= MAX_REMINDER_DAYS:
        errors.add(
            "reminder_every_days",
            _("催办间隔应为1到%(max)d天。"),
            "reminder_range",
            {"max": MAX_REMINDER_DAYS},
        )


@transaction.atomic
def campaign_create(
    *,
    organiser: Organisation,
    title: str,
    audience: str,
    period_label: str,
    opens_on: datetime.date,
    closes_on: datetime.date,
    description: str = "",
    recurrence: str = SurveyRecurrence.ONCE,
    reminder_every_days: int = 7,
    flows_into_library: bool = True,
    acting_user: User,
) -> SurveyCampaign:
    """A draft campaign of an IP office or a park administration."""
    _require_organiser(acting_user, organiser, Action.ADD, "organise surveys")
    errors = _Errors()
    if organiser.kind not in ORGANISER_KINDS:
        errors.add("organiser", _("只有知识产权局和园区管委会可以发起调查。"), "organiser_kind")
        errors.raise_if_any()
    values = {
        "title": title,
        "audience": audience,
        "period_label": period_label,
        "recurrence": recurrence,
        "opens_on": opens_on,
        "closes_on": closes_on,
        "reminder_every_days": reminder_every_days,
    }
    _check_campaign(organiser, values, errors)
    if (
        not errors.items
        and SurveyCampaign.objects.filter(
            organiser=organiser, title=title.strip(), period_label=period_label.strip()
        ).exists()
    ):
        errors.add("period_label", _("本机构在该调查期已有同名调查。"), "duplicate_period")
    errors.raise_if_any()
    campaign = SurveyCampaign(
        organiser=organiser,
        title=title.strip(),
        description=(description or "").strip(),
        audience=audience,
        period_label=period_label.strip(),
        recurrence=recurrence,
        opens_on=opens_on,
        closes_on=closes_on,
        reminder_every_days=reminder_every_days,
        flows_into_library=flows_into_library,
        created_by=_actor(acting_user),
    )
    return audited_create(instance=campaign, acting_user=acting_user, action="surveycampaign.create")


@transaction.atomic
def campaign_update(*, campaign: SurveyCampaign, data: Mapping[str, Any], acting_user: User) -> SurveyCampaign:
    """Change a campaign's settings: any of them while a draft; the description, the closing date (e.g. an
    extension) and the reminder interval while open; nothing once closed."""
    _require_campaign(acting_user, campaign, "change a survey")
    campaign = _locked(campaign)
    unknown = set(data) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise _error(sorted(unknown)[0], _("该项不能修改。"), "not_editable")
    changes = {k: (v.strip() if isinstance(v, str) and k != "description" else v) for k, v in data.items()}
    if campaign.status == SurveyStatus.CLOSED:
        raise _error("status", _("调查已结束，不能再修改。"), "closed")
    if campaign.status == SurveyStatus.OPEN:
        frozen = sorted(k for k in changes if k not in OPEN_EDITABLE and changes[k] != getattr(campaign, k))
        if frozen:
            raise _error(frozen[0], _("调查已发布，只能修改说明、截止日期和催办间隔。"), "not_draft")
    values = {name: changes.get(name, getattr(campaign, name)) for name in CAMPAIGN_FIELDS}
    errors = _Errors()
    _check_campaign(campaign.organiser, values, errors)
    if campaign.status == SurveyStatus.OPEN and "closes_on" in changes:
        closes_on = values["closes_on"]
        if isinstance(closes_on, datetime.date) and closes_on < business_date() and closes_on != campaign.closes_on:
            errors.add("closes_on", _("截止日期不能早于今天。"), "past")
    new_audience = values["audience"]
    if not errors.items and new_audience != campaign.audience:
        kind = AUDIENCE_ORG_KIND[new_audience]
        if campaign.targets.exclude(organisation__kind=kind).exists():
            errors.add("audience", _("已添加的调查对象与新的调查对象类型不符，请先移除。"), "audience_targets")
        for question in campaign.questions.exclude(maps_to=""):
            if _mapping_audience_error(question.maps_to, new_audience) is not None:
                errors.add("audience", _("已有题目写入的资源库字段与新的调查对象类型不符。"), "maps_to_audience")
                break
    renamed = values["title"] != campaign.title or values["period_label"] != campaign.period_label
    if (
        not errors.items
        and renamed
        and SurveyCampaign.objects.filter(
            organiser=campaign.organiser, title=values["title"], period_label=values["period_label"]
        )
        .exclude(pk=campaign.pk)
        .exists()
    ):
        errors.add("period_label", _("本机构在该调查期已有同名调查。"), "duplicate_period")
    errors.raise_if_any()
    return audited_update(instance=campaign, data=changes, acting_user=acting_user, action="surveycampaign.update")


@transaction.atomic
def campaign_delete(*, campaign: SurveyCampaign, acting_user: User) -> None:
    """Delete a draft (with its questions and targets); a published campaign is closed, never deleted."""
    _require_campaign(acting_user, campaign, "delete a survey")
    campaign = _locked(campaign)
    _require_draft(campaign)
    record_event(
        acting_user=acting_user,
        action="surveycampaign.delete",
        instance=campaign,
        old=snapshot(campaign),
        extra={"questions": campaign.questions.count(), "targets": campaign.targets.count()},
    )
    campaign.delete()


# ---------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------


def _labels_and_values(choices: Any) -> dict[str, str]:
    """Every spelling of a choice set's members (value, zh label, English label) → value."""
    known: dict[str, str] = {}
    for value, label in choices.choices:
        known[value] = value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                known[str(label)] = value
    return known


def purpose_value(option: str) -> str | None:
    """The `DemandPurpose` an option names (its value or label), else None."""
    return _labels_and_values(DemandPurpose).get(option.strip())


def collateral_value(option: str) -> str | None:
    """The `CollateralKind` an option names (its value or label), else None."""
    return _labels_and_values(CollateralKind).get(option.strip())


def _mapping_audience_error(maps_to: str, audience: str) -> Any | None:
    if maps_to.startswith("demand.") and audience not in DEMAND_AUDIENCES:
        return _("融资需求字段只能用于企业调查。")
    if maps_to.startswith("product.") and audience not in PRODUCT_AUDIENCES:
        return _("产品字段只能用于银行调查。")
    if maps_to.startswith("financials.") and audience not in FINANCIALS_AUDIENCES:
        return _("年度经营数据字段只能用于获贷企业跟踪调查。")
    return None


def _check_question(
    *,
    campaign: SurveyCampaign,
    kind: str,
    text: str,
    help_text: str,
    choices: Any,
    maps_to: str,
    question: SurveyQuestion | None,
) -> list[str]:
    """Validate one question's content; returns the options to store."""
    errors = _Errors()
    if kind not in QuestionKind.values:
        errors.add("kind", _("请选择题型。"), "invalid_choice")
    if not text:
        errors.add("text", _("请填写题目。"), "required")
    elif len(text) > 300:
        errors.add("text", _("题目不能超过300个字。"), "max_length")
    if len(help_text) > 300:
        errors.add("help_text", _("填写说明不能超过300个字。"), "max_length")
    options: list[str] = []
    if kind in survey_answers.CHOICE_KINDS:
        try:
            options = survey_answers.clean_options(choices)
        except survey_answers.AnswerError as exc:
            errors.add("choices", exc.message, exc.code)
        else:
            if len(set(options)) != len(options):
                errors.add("choices", _("选项不能重复。"), "duplicate_options")
            elif len(options) < 2:
                errors.add("choices", _("单选题和多选题至少需要两个不同的选项。"), "min_options")
            elif len(options) > MAX_OPTIONS:
                errors.add("choices", _("选项不能超过%(max)d个。"), "max_options", {"max": MAX_OPTIONS})
            elif any(len(o) > OPTION_MAX for o in options):
                errors.add("choices", _("每个选项不能超过%(max)d个字。"), "max_length", {"max": OPTION_MAX})
    if maps_to:
        if maps_to not in QuestionTarget.values or maps_to not in MAPPING_KINDS:
            errors.add("maps_to", _("写入字段无效。"), "invalid_choice")
        else:
            audience_error = _mapping_audience_error(maps_to, campaign.audience)
            if audience_error is not None:
                errors.add("maps_to", audience_error, "maps_to_audience")
            elif kind in QuestionKind.values and kind not in MAPPING_KINDS[maps_to]:
                errors.add(
                    "maps_to",
                    _("“%(field)s”须用%(kinds)s题型。"),
                    "maps_to_kind",
                    {
                        "field": QuestionTarget(maps_to).label,
                        "kinds": "、".join(str(QuestionKind(k).label) for k in sorted(MAPPING_KINDS[maps_to])),
                    },
                )
            elif maps_to == QuestionTarget.DEMAND_PURPOSE and options:
                unknown = [o for o in options if purpose_value(o) is None]
                if unknown:
                    errors.add(
                        "choices",
                        _("写入“资金用途”的选项须为资金用途之一（%(known)s），“%(option)s”不是。"),
                        "maps_to_options",
                        {"known": "、".join(str(label) for label in DemandPurpose.labels), "option": unknown[0]},
                    )
            elif maps_to == QuestionTarget.PRODUCT_COLLATERAL and options:
                unknown = [o for o in options if collateral_value(o) is None]
                if unknown:
                    errors.add(
                        "choices",
                        _("写入“可接受质押物”的选项须为质押物类型之一（%(known)s），“%(option)s”不是。"),
                        "maps_to_options",
                        {"known": "、".join(str(label) for label in CollateralKind.labels), "option": unknown[0]},
                    )
            if "maps_to" not in errors.items:
                taken = campaign.questions.filter(maps_to=maps_to)
                if question is not None:
                    taken = taken.exclude(pk=question.pk)
                if taken.exists():
                    errors.add("maps_to", _("同一资源库字段只能由一道题目写入。"), "maps_to_taken")
    errors.raise_if_any()
    return options if kind in survey_answers.CHOICE_KINDS else []


@transaction.atomic
def question_add(
    *,
    campaign: SurveyCampaign,
    kind: str,
    text: str,
    help_text: str = "",
    required: bool = True,
    choices: Sequence[str] | str = (),
    maps_to: str = "",
    acting_user: User,
) -> SurveyQuestion:
    """Append a typed question to a draft campaign."""
    _require_campaign(acting_user, campaign, "add survey questions")
    campaign = _locked(campaign)
    _require_draft(campaign)
    count = campaign.questions.count()
    if count >= MAX_QUESTIONS:
        raise _error("campaign", _("每个调查最多%(max)d道题。"), "too_many", {"max": MAX_QUESTIONS})
    text, help_text, maps_to = (text or "").strip(), (help_text or "").strip(), maps_to or ""
    options = _check_question(
        campaign=campaign,
        kind=kind,
        text=text,
        help_text=help_text,
        choices=choices,
        maps_to=maps_to,
        question=None,
    )
    question = SurveyQuestion(
        campaign=campaign,
        position=count + 1,
        kind=kind,
        text=text,
        help_text=help_text,
        required=bool(required),
        choices=options,
        maps_to=maps_to,
    )
    return audited_create(instance=question, acting_user=acting_user, action="surveyquestion.create")


QUESTION_FIELDS = ("kind", "text", "help_text", "required", "choices", "maps_to")


@transaction.atomic
def question_update(*, question: SurveyQuestion, data: Mapping[str, Any], acting_user: User) -> SurveyQuestion:
    """Change a question of a draft campaign (`data`: any of kind, text, help_text, required, choices, maps_to)."""
    _require_campaign(acting_user, question.campaign, "change survey questions")
    campaign = _locked(question.campaign)
    _require_draft(campaign)
    question = SurveyQuestion.objects.select_for_update().get(pk=question.pk)
    unknown = set(data) - set(QUESTION_FIELDS)
    if unknown:
        raise _error(sorted(unknown)[0], _("该项不能修改。"), "not_editable")
    kind = data.get("kind", question.kind)
    text = str(data.get("text", question.text) or "").strip()
    help_text = str(data.get("help_text", question.help_text) or "").strip()
    maps_to = data.get("maps_to", question.maps_to) or ""
    options = _check_question(
        campaign=campaign,
        kind=kind,
        text=text,
        help_text=help_text,
        choices=data.get("choices", question.choices),
        maps_to=maps_to,
        question=question,
    )
    changes = {
        "kind": kind,
        "text": text,
        "help_text": help_text,
        "required": bool(data.get("required", question.required)),
        "choices": options,
        "maps_to": maps_to,
    }
    return audited_update(instance=question, data=changes, acting_user=acting_user, action="surveyquestion.update")


def _renumber(campaign: SurveyCampaign, ordered: list[SurveyQuestion]) -> None:
    """Give the questions positions 1..n in this order (through a high offset, so no two ever collide)."""
    SurveyQuestion.objects.filter(campaign=campaign).update(position=F("position") + 10_000)
    for position, question in enumerate(ordered, start=1):
        question.position = position
        question.save(update_fields=["position"])


@transaction.atomic
def question_delete(*, question: SurveyQuestion, acting_user: User) -> None:
    _require_campaign(acting_user, question.campaign, "delete survey questions")
    campaign = _locked(question.campaign)
    _require_draft(campaign)
    record_event(acting_user=acting_user, action="surveyquestion.delete", instance=question, old=snapshot(question))
    SurveyQuestion.objects.filter(pk=question.pk).delete()
    _renumber(campaign, list(campaign.questions.order_by("position")))


@transaction.atomic
def question_move(*, question: SurveyQuestion, position: int, acting_user: User) -> SurveyQuestion:
    """Move a question to `position` (1 = first); the others keep their order."""
    _require_campaign(acting_user, question.campaign, "reorder survey questions")
    campaign = _locked(question.campaign)
    _require_draft(campaign)
    ordered = list(campaign.questions.order_by("position"))
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= len(ordered):
        raise _error("position", _("序号应在1到%(max)d之间。"), "position_range", {"max": len(ordered)})
    moving = next(q for q in ordered if q.pk == question.pk)
    old = moving.position
    if old == position:
        return moving
    ordered.remove(moving)
    ordered.insert(position - 1, moving)
    _renumber(campaign, ordered)
    record_event(
        acting_user=acting_user,
        action="surveyquestion.move",
        instance=moving,
        old={"position": old},
        new={"position": position},
    )
    return moving


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


@transaction.atomic
def targets_add(
    *,
    campaign: SurveyCampaign,
    organisations: Iterable[Organisation] = (),
    park: Park | None = None,
    region: Region | None = None,
    financed_from: datetime.date | None = None,
    financed_to: datetime.date | None = None,
    acting_user: User,
) -> list[SurveyTarget]:
    """Add target organisations: named ones, and/or by rule — every enterprise with a platform account that is a
    current member of `park`, or every enterprise (registered in, or member of a park in) `region`, or for a bank
    survey every bank located in `region`. Only organisations of the audience's kind and inside the organiser's reach
    (a follow-up: financed enterprises only, first disbursed within `financed_from`…`financed_to` when given, and
    never after the closing date); organisations already targeted are skipped. Returns the new targets (invited at
    once on an open campaign)."""
    _require_campaign(acting_user, campaign, "add survey targets")
    campaign = _locked(campaign)
    if campaign.status == SurveyStatus.CLOSED:
        raise _error("status", _("调查已结束，不能再添加调查对象。"), "closed")
    organiser = campaign.organiser
    kind = AUDIENCE_ORG_KIND[campaign.audience]
    if financed_from is not None and financed_to is not None and financed_to < financed_from:
        raise _error("financed_to", _("获贷期间的结束日期不能早于开始日期。"), "date_order")
    until = campaign.closes_on if financed_to is None else min(financed_to, campaign.closes_on)
    in_reach = reach(organiser, campaign.audience, financed_from=financed_from, financed_to=until)
    named = list(organisations)
    errors = _Errors()
    if not named and park is None and region is None:
        errors.add("organisations", _("请选择调查对象，或按园区、地区添加。"), "required")
    wanted: set[int] = set()
    for org in named:
        if org.kind != kind:
            errors.add(
                "organisations",
                _("“%(name)s”不是%(kind)s，与调查对象类型不符。"),
                "audience_kind",
                {"name": org.name, "kind": OrganisationKind(kind).label},
            )
        elif not in_reach.filter(pk=org.pk).exists():
            unfinanced = (
                campaign.audience == SurveyAudience.FOLLOW_UP
                and reach_enterprises(organiser).filter(pk=org.pk).exists()
            )
            if unfinanced:
                errors.add(
                    "organisations",
                    _("“%(name)s”没有（在所选期间）获得知识产权质押贷款，不能作为跟踪调查对象。"),
                    "not_financed",
                    {"name": org.name},
                )
            else:
                errors.add(
                    "organisations",
                    _("“%(name)s”不在本机构的调查范围内（或尚未开通平台账户）。"),
                    "out_of_reach",
                    {"name": org.name},
                )
        else:
            wanted.add(org.pk)
    if park is not None:
        if kind != OrganisationKind.ENTERPRISE:
            errors.add("park", _("按园区添加只适用于企业调查。"), "audience_kind")
        elif not reachable_parks(organiser).filter(pk=park.pk).exists():
            errors.add("park", _("该园区不在本机构的调查范围内。"), "out_of_reach")
        else:
            members = _current_members(Q(park=park)).values("enterprise_id")
            found = set(in_reach.filter(enterprise__pk__in=members).values_list("pk", flat=True))
            if not found:
                errors.add("park", _("该园区没有开通平台账户的在园企业。"), "no_organisations")
            wanted |= found
    if region is not None:
        if not region_in_reach(organiser, region):
            errors.add("region", _("该地区不在本机构的调查范围内。"), "out_of_reach")
        else:
            if kind == OrganisationKind.BANK:
                by_region = in_reach.filter(region__code__startswith=region.prefix)
            else:
                members = _current_members(Q(park__region__code__startswith=region.prefix)).values("enterprise_id")
                by_region = in_reach.filter(
                    Q(enterprise__region_code__startswith=region.prefix) | Q(enterprise__pk__in=members)
                )
            found = set(by_region.values_list("pk", flat=True))
            if not found:
                errors.add(
                    "region",
                    _("该地区没有可调查的%(kind)s（须已开通平台账户）。"),
                    "no_organisations",
                    {"kind": OrganisationKind(kind).label},
                )
            wanted |= found
    errors.raise_if_any()
    already = set(campaign.targets.values_list("organisation_id", flat=True))
    new_ids = sorted(wanted - already)
    invited_at = business_now() if campaign.status == SurveyStatus.OPEN else None
    targets = [SurveyTarget(campaign=campaign, organisation_id=pk, invited_at=invited_at) for pk in new_ids]
    created = bulk_create_with_history(targets, SurveyTarget, batch_size=500) if targets else []
    record_event(
        acting_user=acting_user,
        action="surveytarget.add",
        instance=campaign,
        extra={
            "added": len(new_ids),
            "skipped": len(wanted) - len(new_ids),
            "park": park.pk if park is not None else None,
            "region": region.code if region is not None else None,
            "organisations": new_ids[:500],
        },
    )
    return list(created)


@transaction.atomic
def target_remove(*, target: SurveyTarget, acting_user: User) -> None:
    """Remove a target from a draft campaign."""
    _require_campaign(acting_user, target.campaign, "remove survey targets")
    campaign = _locked(target.campaign)
    _require_draft(campaign)
    record_event(acting_user=acting_user, action="surveytarget.remove", instance=target, old=snapshot(target))
    SurveyTarget.objects.filter(pk=target.pk).delete()


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


@transaction.atomic
def campaign_publish(*, campaign: SurveyCampaign, acting_user: User) -> SurveyCampaign:
    """Send a draft to its targets: needs at least one question and one target, and a closing date not past."""
    _require_campaign(acting_user, campaign, "publish a survey")
    campaign = _locked(campaign)
    if campaign.status != SurveyStatus.DRAFT:
        raise _error("status", _("只有草稿状态的调查可以发布。"), "not_draft")
    errors = _Errors()
    if not campaign.questions.exists():
        errors.add("questions", _("调查至少需要一道题目。"), "no_questions")
    if not campaign.targets.exists():
        errors.add("targets", _("调查至少需要一个调查对象。"), "no_targets")
    if campaign.closes_on < business_date():
        errors.add("closes_on", _("截止日期已过，请先修改截止日期。"), "past")
    errors.raise_if_any()
    now = business_now()
    campaign = audited_update(
        instance=campaign,
        data={"status": SurveyStatus.OPEN, "published_at": now},
        acting_user=acting_user,
        action="surveycampaign.publish",
    )
    invited = campaign.targets.filter(invited_at__isnull=True).update(invited_at=now)
    record_event(acting_user=acting_user, action="surveytarget.invite", instance=campaign, extra={"invited": invited})
    return campaign


def _remind(campaign: SurveyCampaign, today: datetime.date, acting_user: User | None) -> int:
    if campaign.status != SurveyStatus.OPEN:
        raise _error("status", _("只有进行中的调查可以催办。"), "not_open")
    # Due: not answered, and neither invited nor last reminded within the interval (on or after the cutoff day).
    cutoff = _local_midnight(today - datetime.timedelta(days=campaign.reminder_every_days - 1))
    due = (
        campaign.targets.filter(responded_at__isnull=True)
        .annotate(reference=Coalesce("last_reminded_at", "invited_at"))
        .filter(reference__lt=cutoff)
    )
    ids = list(due.values_list("pk", flat=True))
    if ids:
        SurveyTarget.objects.filter(pk__in=ids).update(
            reminders_sent=F("reminders_sent") + 1, last_reminded_at=_moment(today)
        )
    record_event(
        acting_user=acting_user,
        action="surveycampaign.remind",
        instance=campaign,
        extra={"date": today, "reminded": len(ids), "targets": ids[:500]},
    )
    return len(ids)


@transaction.atomic
def campaign_remind(*, campaign: SurveyCampaign, acting_user: User, today: datetime.date | None = None) -> int:
    """Remind every target of an open campaign that has not answered and was neither invited nor reminded within
    `reminder_every_days` days; returns how many were reminded."""
    _require_campaign(acting_user, campaign, "remind survey targets")
    campaign = _locked(campaign)
    return _remind(campaign, today or business_date(), acting_user)


def campaigns_remind(*, today: datetime.date | None = None) -> dict[str, int]:
    """The scheduled job: remind the due targets of every open campaign (no acting user)."""
    day = today or business_date()
    campaigns = reminded = 0
    for pk in SurveyCampaign.objects.filter(status=SurveyStatus.OPEN, opens_on__lte=day).values_list("pk", flat=True):
        with transaction.atomic():
            campaign = _locked(SurveyCampaign(pk=pk))
            if campaign.status != SurveyStatus.OPEN:
                continue
            count = _remind(campaign, day, None)
        campaigns += 1
        reminded += count
    return {"campaigns": campaigns, "reminded": reminded}


def _close(campaign: SurveyCampaign, acting_user: User | None, action: str) -> SurveyCampaign:
    if campaign.status != SurveyStatus.OPEN:
        raise _error("status", _("只有进行中的调查可以结束。"), "not_open")
    return audited_update(
        instance=campaign, data={"status": SurveyStatus.CLOSED}, acting_user=acting_user, action=action
    )


@transaction.atomic
def campaign_close(*, campaign: SurveyCampaign, acting_user: User) -> SurveyCampaign:
    """Close an open campaign: no more answers; results stay."""
    _require_campaign(acting_user, campaign, "close a survey")
    return _close(_locked(campaign), acting_user, "surveycampaign.close")


def campaigns_close_due(*, today: datetime.date | None = None) -> int:
    """The scheduled job: close every open campaign whose closing date has passed (no acting user)."""
    day = today or business_date()
    closed = 0
    for pk in SurveyCampaign.objects.filter(status=SurveyStatus.OPEN, closes_on__lt=day).values_list("pk", flat=True):
        with transaction.atomic():
            campaign = _locked(SurveyCampaign(pk=pk))
            if campaign.status == SurveyStatus.OPEN and campaign.closes_on < day:
                _close(campaign, None, "surveycampaign.close_due")
                closed += 1
    return closed


@transaction.atomic
def campaign_repeat(*, campaign: SurveyCampaign, acting_user: User) -> SurveyCampaign:
    """The next period's draft of a recurring campaign: same settings, questions and targets, dates moved by the
    period, `previous` set."""
    _require_campaign(acting_user, campaign, "repeat a survey")
    campaign = _locked(campaign)
    if campaign.recurrence not in _PERIOD_MONTHS:
        raise _error("recurrence", _("一次性调查不能按周期重复。"), "not_recurring")
    if campaign.status == SurveyStatus.DRAFT:
        raise _error("status", _("草稿不能重复，请先发布。"), "not_published")
    try:
        label = next_period_label(campaign.period_label, campaign.recurrence)
    except ValueError as exc:
        raise _error(
            "period_label",
            _("调查期“%(label)s”不是%(recurrence)s的形式，无法推算下一期。"),
            "period_format",
            {"label": campaign.period_label, "recurrence": SurveyRecurrence(campaign.recurrence).label},
        ) from exc
    if SurveyCampaign.objects.filter(organiser=campaign.organiser, title=campaign.title, period_label=label).exists():
        raise _error("period_label", _("下一期（%(label)s）已经创建。"), "duplicate_period", {"label": label})
    months = _PERIOD_MONTHS[campaign.recurrence]
    successor = SurveyCampaign(
        organiser=campaign.organiser,
        title=campaign.title,
        description=campaign.description,
        audience=campaign.audience,
        period_label=label,
        recurrence=campaign.recurrence,
        previous=campaign,
        opens_on=add_months(campaign.opens_on, months),
        closes_on=add_months(campaign.closes_on, months),
        reminder_every_days=campaign.reminder_every_days,
        flows_into_library=campaign.flows_into_library,
        created_by=_actor(acting_user),
    )
    successor = audited_create(instance=successor, acting_user=acting_user, action="surveycampaign.repeat")
    questions = [
        SurveyQuestion(
            campaign=successor,
            position=q.position,
            kind=q.kind,
            text=q.text,
            help_text=q.help_text,
            required=q.required,
            choices=list(q.choices),
            maps_to=q.maps_to,
        )
        for q in campaign.questions.order_by("position")
    ]
    bulk_create_with_history(questions, SurveyQuestion)
    targets = [
        SurveyTarget(campaign=successor, organisation_id=org_id)
        for org_id in campaign.targets.order_by("organisation_id").values_list("organisation_id", flat=True)
    ]
    bulk_create_with_history(targets, SurveyTarget, batch_size=500)
    record_event(
        acting_user=acting_user,
        action="surveycampaign.repeat_copy",
        instance=successor,
        extra={"previous": campaign.pk, "questions": len(questions), "targets": len(targets)},
    )
    return successor


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def answer_field(question: SurveyQuestion | int) -> str:
    """The error key naming a question: `answers.<question id>`."""
    return f"answers.{question if isinstance(question, int) else question.pk}"


def validate_answers(
    questions: Sequence[SurveyQuestion], answers: Mapping[Any, Any]
) -> tuple[dict[str, Any], dict[str, list[ValidationError]]]:
    """Coerce every answer by its question's kind: (stored answers keyed by question id as text, errors keyed
    `answers.<id>` naming the question)."""
    by_id = {str(q.pk): q for q in questions}
    raw = {str(k).removeprefix("q_").removeprefix("q"): v for k, v in answers.items()}
    errors: dict[str, list[ValidationError]] = {}
    unknown = sorted(set(raw) - set(by_id))
    if unknown:
        errors["answers"] = [
            ValidationError(
                _("题目 %(ids)s 不属于本调查。"), code="unknown_question", params={"ids": "、".join(unknown[:10])}
            )
        ]
    stored: dict[str, Any] = {}
    for key, question in by_id.items():
        try:
            value = survey_answers.coerce(
                question.kind, raw.get(key), options=list(question.choices), required=question.required
            )
        except survey_answers.AnswerError as exc:
            errors[answer_field(question)] = [
                ValidationError(
                    _("第%(position)s题“%(question)s”：%(error)s"),
                    code=exc.code,
                    params={
                        "position": question.position,
                        "question": question.text[:40],
                        "error": _lazy_percent(exc.message, exc.params),
                    },
                )
            ]
            continue
        if value is not None:
            stored[key] = value
    return stored, errors


def _mapped(questions: Sequence[SurveyQuestion], stored: Mapping[str, Any]) -> dict[str, tuple[SurveyQuestion, Any]]:
    return {q.maps_to: (q, stored[str(q.pk)]) for q in questions if q.maps_to and str(q.pk) in stored}


def _rekey(
    exc: ValidationError, fields: Mapping[str, str], mapped: Mapping[str, tuple[SurveyQuestion, Any]], what: Any
) -> ValidationError:
    """A library service's error named by the question mapped to the refused field (else `library`)."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({"library": [ValidationError(what, code="library"), *exc.error_list]})
    out: dict[str, list[ValidationError]] = {}
    for name, errors in exc.error_dict.items():
        target = fields.get(name, "")
        key = answer_field(mapped[target][0]) if target in mapped else "library"
        if name == NON_FIELD_ERRORS:
            key = "library"
        out.setdefault(key, []).extend(errors)
    return ValidationError(out)  # type: ignore[arg-type]


_DEMAND_FIELDS = {
    "amount": QuestionTarget.DEMAND_AMOUNT,
    "term_months": QuestionTarget.DEMAND_TERM,
    "purpose": QuestionTarget.DEMAND_PURPOSE,
    "description": QuestionTarget.DEMAND_DESCRIPTION,
    "share_with_matching_banks": QuestionTarget.DEMAND_SHARE,
}
_PRODUCT_FIELDS = {
    "name": QuestionTarget.PRODUCT_NAME,
    "amount_max": QuestionTarget.PRODUCT_AMOUNT_MAX,
    "amount_min": QuestionTarget.PRODUCT_AMOUNT_MAX,
    "term_max_months": QuestionTarget.PRODUCT_TERM_MAX,
    "term_min_months": QuestionTarget.PRODUCT_TERM_MAX,
    "collateral_kinds": QuestionTarget.PRODUCT_COLLATERAL,
    "rate_spread_bp": QuestionTarget.PRODUCT_RATE_SPREAD,
}


def _survey_park(campaign: SurveyCampaign, enterprise: Enterprise) -> Park | None:
    """A park administration's campaign records the enterprise's park (one the organiser runs)."""
    if campaign.organiser.kind != OrganisationKind.PARK_ADMIN:
        return None
    membership = (
        ParkMembership.objects.filter(
            enterprise=enterprise,
            left_on__isnull=True,
            park__administering_org__tree_path__startswith=campaign.organiser.tree_path,
        )
        .select_related("park")
        .order_by("-joined_on", "pk")
        .first()
    )
    return membership.park if membership is not None else None


def _demand_from(
    campaign: SurveyCampaign,
    organisation: Organisation,
    mapped: Mapping[str, tuple[SurveyQuestion, Any]],
    acting_user: User,
) -> Demand | None:
    amount = mapped.get(QuestionTarget.DEMAND_AMOUNT)
    if amount is None or Decimal(str(amount[1])) <= 0:
        return None
    from ipledge.market.services.demands import demand_create

    enterprise = Enterprise.objects.filter(organisation=organisation).first()
    if enterprise is None:
        raise _error("library", _("本机构没有关联的企业档案，无法生成融资需求。"), "no_enterprise")
    term = mapped.get(QuestionTarget.DEMAND_TERM)
    purpose = mapped.get(QuestionTarget.DEMAND_PURPOSE)
    description = mapped.get(QuestionTarget.DEMAND_DESCRIPTION)
    share = mapped.get(QuestionTarget.DEMAND_SHARE)
    default_description = _percent(
        _("来自调查“%(title)s（%(period)s）”。"), {"title": campaign.title, "period": campaign.period_label}
    )
    try:
        return demand_create(
            enterprise=enterprise,
            amount=Money(Decimal(str(amount[1]))),
            term_months=int(term[1]) if term is not None else DEFAULT_DEMAND_TERM,
            purpose=(purpose_value(str(purpose[1])) or DemandPurpose.OTHER) if purpose else DemandPurpose.OTHER,
            description=str(description[1]) if description is not None else default_description,
            share_with_matching_banks=bool(share[1]) if share is not None else False,
            source=DemandSource.SURVEY,
            park=_survey_park(campaign, enterprise),
            acting_user=acting_user,
        )
    except ValidationError as exc:
        raise _rekey(exc, _DEMAND_FIELDS, mapped, _("融资需求未能生成。")) from exc


def _product_from(
    campaign: SurveyCampaign,
    organisation: Organisation,
    mapped: Mapping[str, tuple[SurveyQuestion, Any]],
    acting_user: User,
) -> Product | None:
    if not any(key.startswith("product.") for key in mapped):
        return None
    from ipledge.market.services.products import product_create
    from ipledge.market.terms import ProductTerms

    name = mapped.get(QuestionTarget.PRODUCT_NAME)
    amount = mapped.get(QuestionTarget.PRODUCT_AMOUNT_MAX)
    term = mapped.get(QuestionTarget.PRODUCT_TERM_MAX)
    kinds = mapped.get(QuestionTarget.PRODUCT_COLLATERAL)
    spread = mapped.get(QuestionTarget.PRODUCT_RATE_SPREAD)
    amount_max = Money(Decimal(str(amount[1]))) if amount is not None else DEFAULT_PRODUCT_AMOUNT_MAX
    term_max = int(term[1]) if term is not None else DEFAULT_PRODUCT_TERM_MAX
    collateral = (
        tuple(v for v in (collateral_value(str(o)) for o in kinds[1]) if v is not None)
        if kinds is not None
        else DEFAULT_COLLATERAL
    )
    terms = ProductTerms(
        summary=_percent(
            _("由调查“%(title)s（%(period)s）”的答卷生成的产品草稿，请完善后提交行内审批。"),
            {"title": campaign.title, "period": campaign.period_label},
        ),
        collateral_kinds=collateral,
        min_remaining_years={},
        pledge_rate_caps={},
        amount_min=min(DEFAULT_PRODUCT_AMOUNT_MIN, amount_max) if amount_max.fen > 0 else amount_max,
        amount_max=amount_max,
        term_min_months=min(DEFAULT_PRODUCT_TERM_MIN, term_max) if term_max > 0 else term_max,
        term_max_months=term_max,
        rate_kind=RateKind.LPR_SPREAD,
        rate_spread_bp=int(spread[1]) if spread is not None else DEFAULT_SPREAD_BP,
        rate_fixed=None,
    )
    default_name = _percent(
        _("%(title)s（%(period)s）意向产品"), {"title": campaign.title, "period": campaign.period_label}
    )
    try:
        return product_create(
            bank=organisation,
            code=f"SURVEY-{campaign.pk}-{organisation.pk}",
            name=str(name[1]) if name is not None else default_name[:128],
            terms=terms,
            acting_user=acting_user,
        )
    except ValidationError as exc:
        raise _rekey(exc, _PRODUCT_FIELDS, mapped, _("产品草稿未能生成。")) from exc


def financials_year(campaign: SurveyCampaign) -> int:
    """The year a follow-up's figures describe: the last complete year before the period (2026, 2026Q1 → 2025)."""
    found = re.match(r"^(\d{4})", campaign.period_label)
    return (int(found.group(1)) if found else campaign.opens_on.year) - 1


def _financials_from(
    campaign: SurveyCampaign,
    organisation: Organisation,
    response: SurveyResponse,
    mapped: Mapping[str, tuple[SurveyQuestion, Any]],
    acting_user: User,
) -> None:
    figures: dict[str, Any] = {}
    for target, field in FINANCIALS_FIELDS.items():
        if target in mapped:
            value = mapped[target][1]
            figures[field] = Money(Decimal(str(value))) if field in ("rd_spending", "revenue") else int(value)
    if not figures:
        return
    from ipledge.monitoring.services.financials import financials_record_survey

    enterprise = Enterprise.objects.filter(organisation=organisation).first()
    if enterprise is None:
        raise _error("library", _("本机构没有关联的企业档案，无法记录年度经营数据。"), "no_enterprise")
    try:
        financials_record_survey(
            enterprise=enterprise,
            year=financials_year(campaign),
            figures=figures,
            survey_response=response,
            acting_user=acting_user,
        )
    except ValidationError as exc:
        fields = {field: target for target, field in FINANCIALS_FIELDS.items()}
        raise _rekey(exc, fields, mapped, _("年度经营数据未能记录。")) from exc


@transaction.atomic
def response_submit(*, campaign: SurveyCampaign, answers: Mapping[Any, Any], acting_user: User) -> SurveyResponse:
    """The acting user's organisation answers a campaign it is a target of, once. `answers` maps question ids (or
    `q_<id>`) to raw answers. All-or-nothing: the response, the target's answered time, any library entry (a
    demand or a draft product) and a follow-up's yearly figures (see the module notes) are written together or not
    at all."""
    scope = scope_for(acting_user)
    organisation = getattr(acting_user, "organisation", None)
    if scope is None or organisation is None or not scope.may(Action.ADD):
        raise PermissionDenied("your role may not answer surveys")
    target = (
        SurveyTarget.objects.select_for_update()
        .filter(campaign_id=campaign.pk, organisation=organisation)
        .exclude(campaign__status=SurveyStatus.DRAFT)
        .first()
    )
    if target is None:
        raise PermissionDenied("your organisation is not a target of this survey")
    campaign = SurveyCampaign.objects.select_related("organiser").get(pk=campaign.pk)
    if campaign.status != SurveyStatus.OPEN:
        raise _error("campaign", _("调查已结束，不再接受答卷。"), "closed")
    today = business_date()
    if today < campaign.opens_on:
        raise _error(
            "campaign", _("调查将于 %(date)s 开始，届时才能答卷。"), "not_yet_open", {"date": campaign.opens_on}
        )
    if (
        target.responded_at is not None
        or SurveyResponse.objects.filter(campaign=campaign, organisation=organisation).exists()
    ):
        raise _error("campaign", _("本机构已提交过该调查的答卷，每个机构只能答一次。"), "already_answered")
    questions = list(campaign.questions.order_by("position"))
    stored, errors = validate_answers(questions, answers)
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]
    demand = product = None
    if campaign.flows_into_library:
        mapped = _mapped(questions, stored)
        if campaign.audience in DEMAND_AUDIENCES:
            demand = _demand_from(campaign, organisation, mapped, acting_user)
        elif campaign.audience in PRODUCT_AUDIENCES:
            product = _product_from(campaign, organisation, mapped, acting_user)
    now = business_now()
    response = SurveyResponse(
        campaign=campaign,
        organisation=organisation,
        answers=stored,
        submitted_by=_actor(acting_user),
        submitted_at=now,
        demand=demand,
        product=product,
    )
    response = audited_create(instance=response, acting_user=acting_user, action="surveyresponse.create")
    if campaign.audience in FINANCIALS_AUDIENCES:
        _financials_from(campaign, organisation, response, _mapped(questions, stored), acting_user)
    audited_update(instance=target, data={"responded_at": now}, acting_user=acting_user, action="surveytarget.respond")
    return response
