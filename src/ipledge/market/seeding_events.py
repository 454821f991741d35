"""Demo matchmaking events (银企对接活动), written through the services so every row is what a user would have made.

Runs after the products, demands and matching are seeded (the `Match` rows exist). Three events:
- a past event, held: organised by the park of an enterprise (with its own login) that has a granted demo loan, or
  by its provincial IP office; that enterprise and the loan's bank register with a few more enterprises of the same
  province and the banks of their best matches; the organiser proposes the meetings (the loan's pair is booked by
  hand when no match proposes it); on the day the banks record outcomes — intents with amounts, follow-ups with a
  date, no interest, a no-show — and the loan's meeting records the real loan (outcome 已放款); the event is closed;
- an upcoming event, registration closed and meetings proposed (scheduled);
- an event open for registration with its first registrations.

Randomness comes from `rng`; the same registry, products and matches give the same events.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter, defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.registry.models import Enterprise, Park, ParkMembership

from .choices import ACTIVE_DEMAND_STATUSES, MeetingOutcome, MeetingStatus, ProductStatus
from .models import EventParticipant, Match, MatchmakingEvent, Meeting
from .services import events as services
from .services.events import _UNGRANTED_LOAN_STATUSES

THEMES = [
    ("知识产权质押融资银企对接会", "专精特新企业专场"),
    ("科技金融服务进园区", "高新技术企业知识产权融资"),
    ("知识产权金融服务月·银企面对面", "商标专用权与专利组合质押"),
]


class _People:
    """The first active user of each (organisation, role), as `screening.seeding` finds demo users."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], User] = {}
        for user in User.objects.filter(is_active=True, organisation__isnull=False).order_by("id"):
            assert user.organisation_id is not None
            self.ids.setdefault((user.organisation_id, user.role), user)

    def get(self, org: Organisation | None, *roles: str) -> User | None:
        if org is None:
            return None
        for role in roles or (Role.OPERATOR, Role.ADMIN):
            user = self.ids.get((org.pk, role))
            if user is not None:
                return user
        return None


class _Pool:
    """Enterprises with their own login and the eligible matches of their active demands on live products."""

    def __init__(self) -> None:
        self.matches: dict[int, list[Match]] = defaultdict(list)  # enterprise id → matches, best first
        for m in (
            Match.objects.filter(
                eligible=True,
                demand__status__in=ACTIVE_DEMAND_STATUSES,
                product__status=ProductStatus.LIVE,
                demand__enterprise__organisation__isnull=False,
                demand__enterprise__organisation__is_active=True,
            )
            .select_related("demand__enterprise__organisation", "product__bank")
            .order_by("-score", "pk")
        ):
            self.matches[m.demand.enterprise_id].append(m)
        self.enterprises = {
            e.pk: e
            for e in Enterprise.objects.filter(organisation__isnull=False, organisation__is_active=True)
            .select_related("organisation")
            .order_by("pk")
        }
        self.park_of: dict[int, Park] = {}
        for membership in (
            ParkMembership.objects.filter(left_on__isnull=True, enterprise_id__in=list(self.enterprises))
            .select_related("park__administering_org", "park__region")
            .order_by("joined_on", "pk")
        ):
            self.park_of.setdefault(membership.enterprise_id, membership.park)

    def matched(self) -> list[Enterprise]:
        return [self.enterprises[e] for e in sorted(self.matches) if e in self.enterprises]


def _office_for(region_code: str) -> Organisation | None:
    """The provincial IP office of a region (else the national one)."""
    office = (
        Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE,
            admin_level=AdminLevel.PROVINCIAL,
            region__code__startswith=region_code[:2],
            is_active=True,
        )
        .order_by("pk")
        .first()
    )
    if office is None:
        office = Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, is_active=True).order_by("pk").first()
    return office


def _organiser(people: _People, pool: _Pool, enterprise: Enterprise | None) -> tuple[Organisation, Park | None]:
    """The park administration of the enterprise's park when it has an officer, else the province's IP office."""
    park = pool.park_of.get(enterprise.pk) if enterprise is not None else None
    if park is not None and park.administering_org is not None and people.get(park.administering_org):
        return park.administering_org, park
    office = _office_for(enterprise.region_code if enterprise is not None else "11")
    if office is None or people.get(office) is None:
        raise RuntimeError("no IP office or park administration with an operator to organise events")
    return office, None


def _register(
    people: _People, organiser_user: User, event: MatchmakingEvent, org: Organisation, **kwargs: Any
) -> EventParticipant | None:
    user = people.get(org) or organiser_user
    try:
        with transaction.atomic():
            return services.participant_register(event=event, organisation=org, acting_user=user, **kwargs)
    except ValidationError:
        return None  # already registered, or no enterprise profile


def _covering(meetings: list[Meeting], loan: Any) -> Meeting | None:
    """The meeting the loan is recorded on: the borrower's meeting with the nearest registered bank at or above the
    loan's bank."""
    best: Meeting | None = None
    for m in meetings:
        path = m.bank_participant.organisation.tree_path
        covers = m.enterprise_participant.enterprise_id == loan.borrower_id and loan.bank.tree_path.startswith(path)
        if covers and (best is None or len(path) > len(best.bank_participant.organisation.tree_path)):
            best = m
    return best


def _book_by_hand(event: MatchmakingEvent, organiser_user: User, bank: EventParticipant, ent: EventParticipant) -> None:
    """Book the pair in the latest free slot (the loan's pair, when no match proposed a meeting covering it)."""
    for slot in range(event.slot_count, 0, -1):
        for desk in range(1, bank.desks + 1):
            try:
                with transaction.atomic():
                    services.meeting_add(
                        event=event,
                        bank_participant=bank,
                        enterprise_participant=ent,
                        slot=slot,
                        desk=desk,
                        acting_user=organiser_user,
                    )
                return
            except ValidationError:
                continue


def _fill(
    people: _People,
    pool: _Pool,
    organiser_user: User,
    event: MatchmakingEvent,
    rng: random.Random,
    enterprises: list[Enterprise],
    extra_banks: list[Organisation] | None = None,
    counts: Counter[str] | None = None,
) -> dict[int, EventParticipant]:
    """Register the enterprises (each naming its best-matched demand half of the time) and the banks of their best
    matches (at most four), plus any extra banks; returns the enterprise participants by enterprise id."""
    counts = counts if counts is not None else Counter()
    banks: list[Organisation] = list(extra_banks or [])
    for e in enterprises:
        for m in pool.matches.get(e.pk, [])[:2]:
            if m.product.bank not in banks and len(banks) < 4:
                banks.append(m.product.bank)
    for bank in banks:
        if _register(people, organiser_user, event, bank, desks=rng.choice([1, 1, 2]), contact_name="客户经理"):
            counts["participants"] += 1
    joined: dict[int, EventParticipant] = {}
    for e in enterprises:
        if e.organisation is None:
            continue
        best = pool.matches.get(e.pk, [])
        demand = best[0].demand if best and rng.random() < 0.5 else None
        p = _register(people, organiser_user, event, e.organisation, demand=demand, contact_name="财务负责人")
        if p is not None:
            joined[e.pk] = p
            counts["participants"] += 1
    return joined


def _propose(event: MatchmakingEvent, organiser_user: User, counts: Counter[str]) -> None:
    try:
        with transaction.atomic():
            result = services.meetings_propose(event=event, acting_user=organiser_user)
    except ValidationError:
        return  # no bank or no enterprise registered
    counts["meetings"] += len(result.created)


def _same_province(pool: _Pool, anchor: Enterprise | None, rng: random.Random, k: int) -> list[Enterprise]:
    matched = pool.matched()
    if anchor is not None:
        near = [e for e in matched if e.pk != anchor.pk and e.region_code[:2] == anchor.region_code[:2]]
    else:
        near = matched
    rng.shuffle(near)
    return near[:k]


def _record_outcomes(
    people: _People,
    event: MatchmakingEvent,
    organiser_user: User,
    rng: random.Random,
    loan: Any,
    counts: Counter[str],
) -> None:
    meetings = list(
        Meeting.objects.filter(event=event, status=MeetingStatus.PROPOSED)
        .select_related("bank_participant__organisation", "enterprise_participant")
        .order_by("slot", "desk", "pk")
    )
    loan_meeting = _covering(meetings, loan) if loan is not None else None
    for meeting in meetings:
        recorder = people.get(meeting.bank_participant.organisation) or organiser_user
        values: dict[str, Any] = {"status": MeetingStatus.HELD}
        if meeting == loan_meeting:
            amount = loan.principal if loan.principal is not None else loan.requested_amount
            values.update(
                outcome=MeetingOutcome.LOAN, loan=loan, intended_amount=amount, note="对接后获批知识产权质押贷款"
            )
        else:
            roll = rng.random()
            if roll < 0.1:
                values = {"status": MeetingStatus.NO_SHOW}
            elif roll < 0.5:
                values.update(
                    outcome=MeetingOutcome.INTENT,
                    intended_amount=Money(rng.randrange(50, 600) * 10_000),
                    note="达成初步授信意向，待尽职调查",
                )
            elif roll < 0.8:
                values.update(
                    outcome=MeetingOutcome.FOLLOW_UP,
                    follow_up_on=event.event_date + datetime.timedelta(days=rng.randrange(7, 31)),
                    note="补充专利评估报告后再议",
                )
            else:
                values.update(outcome=MeetingOutcome.NO_INTEREST, note="额度需求与产品期限不匹配")
        try:
            with transaction.atomic():
                services.meeting_record_outcome(meeting=meeting, acting_user=recorder, **values)
        except ValidationError:
            continue
        counts["outcomes"] += 1
        if values.get("loan") is not None:
            counts["loans_linked"] += 1


def _granted_loan(pool: _Pool) -> Any:
    """The most recent granted loan of an enterprise with its own login (matched enterprises first)."""
    from ipledge.lending.models import Loan

    loans = (
        Loan.objects.filter(borrower_id__in=list(pool.enterprises))
        .exclude(status__in=_UNGRANTED_LOAN_STATUSES)
        .select_related("bank", "borrower__organisation")
        .order_by("-approved_at", "-pk")
    )
    first = None
    for loan in loans[:500]:
        if loan.borrower_id in pool.matches:
            return loan
        first = first or loan
    return first


def seed_events(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    """Build the three demo events (see the module docstring) as of `today`; returns counts."""
    with as_of(today):
        return _seed(rng=rng, today=today, stdout=stdout)


def _seed(*, rng: random.Random, today: datetime.date, stdout: Any) -> dict[str, int]:
    people = _People()
    pool = _Pool()
    counts: Counter[str] = Counter()
    say = stdout.write if stdout is not None else (lambda _msg: None)

    # 1. The past event, held, with outcomes and the real loan.
    loan = _granted_loan(pool)
    anchor = loan.borrower if loan is not None else (pool.matched()[0] if pool.matched() else None)
    organiser, park = _organiser(people, pool, anchor)
    organiser_user = people.get(organiser)
    assert organiser_user is not None
    day = today - datetime.timedelta(days=45)
    title, theme = THEMES[0]
    with as_of(day - datetime.timedelta(days=21)):
        past = services.event_create(
            title=f"{today.year}年第一期{title}",
            theme=theme,
            description="银行现场介绍知识产权质押融资产品，企业与银行一对一洽谈。",
            park=park,
            place=f"{park.name}企业服务中心" if park is not None else f"{organiser.name}会议中心",
            event_date=day,
            registration_closes_on=day - datetime.timedelta(days=5),
            starts_at=datetime.time(9, 30),
            slot_minutes=20,
            slot_count=8,
            acting_user=organiser_user,
        )
        counts["events"] += 1
        enterprises = ([anchor] if anchor is not None else []) + _same_province(pool, anchor, rng, 5)
        joined = _fill(
            people,
            pool,
            organiser_user,
            past,
            rng,
            enterprises,
            extra_banks=[loan.bank] if loan is not None else [],
            counts=counts,
        )
    with as_of(day - datetime.timedelta(days=3)):
        _propose(past, organiser_user, counts)
        if loan is not None and loan.borrower_id in joined:
            bank_participant = EventParticipant.objects.filter(
                event=past, organisation=loan.bank, withdrawn_at__isnull=True
            ).first()
            live = list(
                Meeting.objects.filter(event=past, status__in=services.LIVE_MEETING_STATUSES).select_related(
                    "bank_participant__organisation", "enterprise_participant"
                )
            )
            if bank_participant is not None and _covering(live, loan) is None:
                before = Meeting.objects.filter(event=past).count()
                _book_by_hand(past, organiser_user, bank_participant, joined[loan.borrower_id])
                counts["meetings"] += Meeting.objects.filter(event=past).count() - before
    with as_of(day):
        _record_outcomes(people, past, organiser_user, rng, loan, counts)
        past.refresh_from_db()
        if past.status == "scheduled":
            services.event_mark_held(event=past, acting_user=organiser_user)
    say(f"  past event {past.pk}: held, {counts['outcomes']} outcomes, {counts['loans_linked']} loan linked\n")

    # 2. The upcoming event, registration closed and meetings proposed.
    # Preferably in another province than the first, with enterprises of its own province.
    elsewhere = [e for e in pool.matched() if anchor is None or e.region_code[:2] != anchor.region_code[:2]]
    second_anchor = rng.choice(elsewhere) if elsewhere else anchor
    others = ([second_anchor] if second_anchor is not None else []) + _same_province(pool, second_anchor, rng, 5)
    organiser2, park2 = _organiser(people, pool, second_anchor)
    organiser2_user = people.get(organiser2)
    assert organiser2_user is not None
    day2 = today + datetime.timedelta(days=10)
    title, theme = THEMES[1]
    with as_of(today - datetime.timedelta(days=10)):
        upcoming = services.event_create(
            title=title,
            theme=theme,
            description="面向园区科技型中小企业的知识产权质押融资专场。",
            park=park2,
            place=f"{park2.name}创新中心" if park2 is not None else f"{organiser2.name}报告厅",
            event_date=day2,
            registration_closes_on=today - datetime.timedelta(days=1),
            starts_at=datetime.time(14, 0),
            slot_minutes=30,
            slot_count=6,
            acting_user=organiser2_user,
        )
        counts["events"] += 1
        _fill(people, pool, organiser2_user, upcoming, rng, others[:6], counts=counts)
    _propose(upcoming, organiser2_user, counts)
    say(f"  upcoming event {upcoming.pk}: {upcoming.participants.count()} registered\n")

    # 3. The event open for registration, with its first registrations.
    title, theme = THEMES[2]
    day3 = today + datetime.timedelta(days=35)
    opened = services.event_create(
        title=title,
        theme=theme,
        description="欢迎有融资需求的企业与提供知识产权金融产品的银行报名。",
        park=park,
        place=f"{park.name}路演厅" if park is not None else f"{organiser.name}多功能厅",
        event_date=day3,
        registration_closes_on=day3 - datetime.timedelta(days=7),
        acting_user=organiser_user,
    )
    counts["events"] += 1
    _fill(people, pool, organiser_user, opened, rng, _same_province(pool, anchor, rng, 2), counts=counts)
    say(f"  open event {opened.pk}: registration until {opened.registration_closes_on:%Y-%m-%d}\n")
    return {
        "events": counts["events"],
        "participants": counts["participants"],
        "meetings": counts["meetings"],
        "outcomes": counts["outcomes"],
        "loans_linked": counts["loans_linked"],
    }
