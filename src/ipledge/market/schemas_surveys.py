"""API schemas of the survey area (常态化调查): campaigns, typed questions, targets, answers, results.

Answers travel as `{question id: value}`: text for text questions, an integer for integer and rating questions,
a decimal string in yuan for money (`"5000000"`, `"500万"` is understood too), an option (or a list of options)
for choices, `true`/`false` for yes/no, `YYYY-MM-DD` for dates. Names carry the prefix `MarketSurvey…` so that no
OpenAPI component collides with another area's.
"""

import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from ipledge.core.apikit import MAX_ID
from ipledge.core.schemas import InputSchema
from ipledge.registry.schemas import OrgRef

from .choices import QuestionKind, SurveyAudience, SurveyRecurrence, SurveyStatus
from .selectors_surveys import target_state, target_state_label

ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="6-digit administrative division code.")]
MAPS_TO_HELP = (
    "Library field the answer flows into: demand.amount (money), demand.term_months (integer), demand.purpose "
    "(choice of 资金用途), demand.description (text), demand.share_with_matching_banks (yes/no) for enterprise and "
    "follow-up surveys; product.name (text), product.amount_max (money), product.term_max_months (integer), "
    "product.collateral_kinds (multi-choice of collateral kinds), product.rate_spread_bp (integer) for bank surveys; "
    "empty for none."
)


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


# ---------------------------------------------------------------------------
# Campaigns and questions
# ---------------------------------------------------------------------------


class MarketSurveyQuestionOut(Schema):
    id: int
    position: int
    kind: QuestionKind
    kind_label: str
    text: str
    help_text: str
    required: bool
    choices: list[str]
    maps_to: str

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return str(obj.get_kind_display())


class MarketSurveyOut(Schema):
    id: int
    organiser: OrgRef
    title: str
    description: str
    audience: SurveyAudience
    period_label: str
    recurrence: SurveyRecurrence
    status: SurveyStatus
    opens_on: datetime.date
    closes_on: datetime.date
    reminder_every_days: int
    flows_into_library: bool
    previous_id: int | None
    created_at: datetime.datetime
    published_at: datetime.datetime | None
    targets_count: int | None = Field(None, description="Organisers only (null for a target).")
    responded_count: int | None = Field(None, description="Organisers only (null for a target).")

    @staticmethod
    def resolve_targets_count(obj: Any) -> int | None:
        return getattr(obj, "targets_count", None)

    @staticmethod
    def resolve_responded_count(obj: Any) -> int | None:
        return getattr(obj, "responded_count", None)


class MarketSurveyDetailOut(MarketSurveyOut):
    questions: list[MarketSurveyQuestionOut]

    @staticmethod
    def resolve_questions(obj: Any) -> list[Any]:
        return list(obj.questions.order_by("position"))


class MarketSurveyIn(InputSchema):
    organiser_id: ObjectId | None = Field(
        None, description="The organising IP office or park administration (yours or one below it); default: yours."
    )
    title: str = Field(..., min_length=1, max_length=160)
    description: str = Field("", max_length=4000)
    audience: SurveyAudience
    period_label: str = Field(
        ..., min_length=1, max_length=20, description="2026Q4 (quarterly), 2026H2 (half-yearly), 2026 (yearly)."
    )
    recurrence: SurveyRecurrence = SurveyRecurrence.ONCE
    opens_on: datetime.date
    closes_on: datetime.date
    reminder_every_days: int = Field(7, ge=0, le=32767)
    flows_into_library: bool = True


class MarketSurveyPatch(InputSchema):
    title: str | None = Field(None, min_length=1, max_length=160)
    description: str | None = Field(None, max_length=4000)
    audience: SurveyAudience | None = None
    period_label: str | None = Field(None, min_length=1, max_length=20)
    recurrence: SurveyRecurrence | None = None
    opens_on: datetime.date | None = None
    closes_on: datetime.date | None = None
    reminder_every_days: int | None = Field(None, ge=0, le=32767)
    flows_into_library: bool | None = None


class MarketSurveyFilter(Schema):
    status: SurveyStatus | None = None
    audience: SurveyAudience | None = None
    q: str | None = Field(None, max_length=60, description="Part of the title or period label.")


class MarketSurveyQuestionIn(InputSchema):
    kind: QuestionKind
    text: str = Field(..., max_length=300)
    help_text: str = Field("", max_length=300)
    required: bool = True
    choices: list[str] = Field(default_factory=list, max_length=200, description="Options of choice questions (≥2).")
    maps_to: str = Field("", max_length=40, description=MAPS_TO_HELP)


class MarketSurveyQuestionPatch(InputSchema):
    kind: QuestionKind | None = None
    text: str | None = Field(None, max_length=300)
    help_text: str | None = Field(None, max_length=300)
    required: bool | None = None
    choices: list[str] | None = Field(None, max_length=200)
    maps_to: str | None = Field(None, max_length=40, description=MAPS_TO_HELP)


class MarketSurveyMoveIn(InputSchema):
    position: int = Field(..., ge=1, le=32767, description="The new position (1 = first).")


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


class MarketSurveyTargetOut(Schema):
    id: int
    organisation: OrgRef
    state: str = Field(..., description="answered, reminded, pending or not_sent")
    state_label: str
    invited_at: datetime.datetime | None
    reminders_sent: int
    last_reminded_at: datetime.datetime | None
    responded_at: datetime.datetime | None

    @staticmethod
    def resolve_state(obj: Any) -> str:
        return target_state(obj)

    @staticmethod
    def resolve_state_label(obj: Any) -> str:
        return target_state_label(target_state(obj))


class MarketSurveyTargetsIn(InputSchema):
    organisation_ids: list[ObjectId] = Field(
        default_factory=list, max_length=5000, description="Named organisations of the audience's kind."
    )
    park_id: ObjectId | None = Field(None, description="Every enterprise with a platform account in this park.")
    region_code: RegionCode | None = Field(
        None,
        description="Enterprise surveys: enterprises registered in, or members of a park in, this region; bank "
        "surveys: banks located in it.",
    )


class MarketSurveyTargetsAdded(Schema):
    added: int
    targets: list[MarketSurveyTargetOut]


class MarketSurveyTargetFilter(Schema):
    state: str | None = Field(None, pattern=r"^(answered|reminded|pending|not_sent)$")


class MarketSurveyRemindOut(Schema):
    reminded: int = Field(..., description="Targets reminded now (not answered, not reminded within the interval).")


# ---------------------------------------------------------------------------
# Respondents
# ---------------------------------------------------------------------------


class MarketSurveyRef(Schema):
    id: int
    title: str
    period_label: str
    organiser: OrgRef
    audience: SurveyAudience
    status: SurveyStatus
    opens_on: datetime.date
    closes_on: datetime.date


class MarketSurveyMineOut(Schema):
    campaign: MarketSurveyRef
    state: str
    pending: bool = Field(..., description="Open and not answered yet.")
    overdue: bool = Field(..., description="Not answered and past the closing date.")
    days_left: int
    reminders_sent: int
    last_reminded_at: datetime.datetime | None
    responded_at: datetime.datetime | None
    response_id: int | None


class MarketSurveyAnswersIn(InputSchema):
    answers: dict[str, Any] = Field(
        ..., description="{question id: answer}; see the module notes for the value of each question kind."
    )


class MarketSurveyResponseOut(Schema):
    id: int
    campaign_id: int
    organisation: OrgRef
    answers: dict[str, Any]
    submitted_at: datetime.datetime
    submitted_by: str | None = Field(None, description="Null when submitted with an API key.")
    demand_id: int | None = Field(None, description="The demand created from the answers (enterprise surveys).")
    demand_reference: str | None
    product_id: int | None = Field(None, description="The draft product created from the answers (bank surveys).")

    @staticmethod
    def resolve_submitted_by(obj: Any) -> str | None:
        return _username(obj.submitted_by)

    @staticmethod
    def resolve_demand_reference(obj: Any) -> str | None:
        return obj.demand.reference if obj.demand_id else None


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


class MarketSurveyCount(Schema):
    label: str
    count: int


class MarketSurveyText(Schema):
    organisation: str
    text: str


class MarketSurveyQuestionResultOut(Schema):
    question_id: int
    position: int
    text: str
    kind: QuestionKind
    maps_to: str
    answered: int
    chart: str = Field(..., description="bar (choices, yes/no, rating), histogram (integer, money) or empty.")
    options: list[MarketSurveyCount] = Field(..., description="Counts per option, yes/no or rating 1–5.")
    stats: dict[str, str] = Field(
        ..., description="count, mean, median, min, max (numbers as decimal strings); rating: count and mean."
    )
    histogram: list[MarketSurveyCount]
    texts: list[MarketSurveyText] = Field(..., description="Text and date answers (at most 200).")


class MarketSurveyLibraryOut(Schema):
    response_id: int
    organisation: OrgRef
    demand_id: int | None
    demand_reference: str | None
    product_id: int | None
    product_code: str | None


class MarketSurveyResultsOut(Schema):
    campaign_id: int
    targets: int
    responses: int
    response_rate: str | None = Field(None, description='Percent with one decimal, e.g. "62.5".')
    questions: list[MarketSurveyQuestionResultOut]
    library: list[MarketSurveyLibraryOut]
