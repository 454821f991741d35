"""Demo collateral disposal (质物处置) for `ipledge seed_disposal`, on top of `seed_compensation`.

What is seeded
--------------
The candidates are the live IP-pledge loans that defaulted or are non-performing (次级 or worse), still pledged (an
active registration and pledged rights), without an open disposal case, whose lending bank has an operator and a
reviewer, and whose risk-compensation claim (if any) is not already in clearing: those with an advance-paid claim
first (their sale is the recovery the fund is waiting for), then by the day they turned bad. Each gets one role, when
its dates allow it (a case opens after the loan turned bad and after its claim was approved; the cases are opened a
few weeks before their sale, the licensing one four months before today):

* **Sold at auction** (three) — opened, revalued (a fresh machine valuation of every right, 机评), the route proposed
  by the bank's operator and approved by its reviewer (maker-checker), listed in a *past* session of the province's
  disposal platform (集中拍卖: the cases of one platform share a session, which ran three days and ended six days
  ago) at a reserve of 70–80 % of the disposal value (a first auction's 起拍价 may not be under 70 % of the
  appraisal), deposit 10 % of the reserve, increment 2 %. Two to four enterprises of other parks sign up, the
  platform confirms their deposits, they bid (each bid zero to two increments above the minimum, never twice in a
  row by the same bidder; the first lot of each session is sniped two minutes before its end and extended), the
  scheduled job closes the lots, the buyer pays, the rights pass to it and the pledge cancellation is filed, and the
  proceeds run down the waterfall with costs of 5–10 % of the price. The bank's share is recorded as the recovery
  on the loan's advance-paid claim; the fund clears (and the parties settle the true-ups of) every such claim but the
  last one, which is left for the fund manager to clear in the demo; the other cases are closed.
* **Licensing** (许可运营) — the rights are licensed out and two licence incomes are credited down the waterfall.
* **Negotiated transfer** (协议转让) — sold to an enterprise of another park, paid, transferred, distributed, closed.
* **Third-party acquisition** (第三方收储) — bought by the province's IP operating company (created as a disposal-
  platform organisation, e.g. 北京知识产权运营管理有限公司, with demo logins); paid, awaiting the transfer.
* **Live auction** — a case listed in the past session that found no bidder (流拍; the deposit of its one registered
  bidder refunded) is relisted at 80 % of the first reserve in a session open now and ending in four days; two
  bidders have bid. When the candidate's dates do not allow the past session, it is listed directly.
* **Route proposed** — awaiting the second officer's approval. **Just opened** — the loan that turned bad last.

The disposal value the prices are drawn from is the larger of the rights' fresh machine valuation and a haircut of
15–45 % (most often 25 %) on the appraisal the bank lent against (`LoanCollateral.appraised_value`): the machine
values of a defaulted borrower's rights are often nil (annual fees unpaid), and no auction runs at a nil reserve.
Negotiated sales fetch 75–95 % of it, acquisitions 55–70 %, and each licence income 3–8 % (10 % operating costs).

The disposal platform of a province is the registry seed's (知识产权交易中心); when there is none it is created with
a user per role (with the demo password when the other demo logins have it, so `ipledge demo_logins` lists them).

How rows are written, and why
-----------------------------
Everything goes through the services, back-dated with `as_of(day)` where they read `business_date()`. Auction times
are real instants: the bids and the closing take `now=`. The services rightly refuse to list a lot in, or sign up
for, a session that has already ended, so a past session is created ending an hour from now, its lots listed and its
bidders registered, and only then are the session's and lots' ends (and the creation stamps of the session, lots and
registrations) moved back to the past, by a plain update — the one write that bypasses a service. The bids are then
placed at past instants through `bid_place` (so the increments, the numbering and the anti-sniping extension are the
service's), and the scheduled job `close_due_lots` closes the lots. One `AuditEvent` (``seed.disposal``) records the
run with its counts. Deterministic for a seed, a database and a business date, except the case references (random
by design) and the real-time instants of the live session.
"""

from __future__ import annotations

import datetime
import functools
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ipledge.compensation import services as compensation
from ipledge.compensation.choices import ClaimStatus, PartyRole, PaymentPurpose, PaymentStatus, RecoveryKind
from ipledge.compensation.models import Claim, Payment, Recovery
from ipledge.compensation.seeding import _demo_password_hash, _People
from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of, business_date
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.lending.choices import LIVE_STATUSES, NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import Loan
from ipledge.registration.choices import RegistrationStatus
from ipledge.registry.models import Enterprise, ParkMembership
from ipledge.registry.seeding import PROVINCE_ABBR

from . import services
from .choices import CaseStatus, LotStatus, Route
from .models import AuctionSession, Bid, BidderRegistration, DisposalCase, LicenceIncome, Lot, ProceedsEntry

__all__ = ["DisposalSeedReport", "seed_disposal"]

PAST_SESSION_ENDS = 6  # days before today; the sold cases are paid, transferred and distributed after it
PAST_SESSION_DAYS = 3  # bidding runs three days, from 10:00 to 10:00
LIVE_SESSION_DAYS = 4  # the live session ends four days from today at 10:00
EXTENSION_MINUTES = 5
RESERVE_SHARE = (0.70, 0.80)  # of the disposal value: a first auction's reserve may not be under 70 % of it
RELIST_SHARE = Decimal("0.8")  # a relisting after no bid lowers the reserve by at most 20 %
DEPOSIT_SHARE = Decimal("0.10")
INCREMENT_SHARE = Decimal("0.02")
COSTS_PERCENT = (5, 10)
APPRAISAL_HAIRCUT = (0.15, 0.45, 0.25)  # low, high, mode: what a disposal realises of the lending appraisal
ROLES = ("auction", "auction", "auction", "licensing", "negotiated", "acquisition", "live", "proposed")
SESSION_HOUR = datetime.time(10, 0)


@dataclass
class DisposalSeedReport:
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Candidate:
    loan: Loan
    claim: Claim | None
    earliest: datetime.date  # the first day a case may open
    role: str = ""
    case: DisposalCase | None = None
    value_fen: int = 0  # the disposal value the prices are drawn from (`_Run._value`)
    platform: Organisation | None = None
    lot: Lot | None = None
    reserve_fen: int = 0
    bidders: list[tuple[BidderRegistration, User]] = field(default_factory=list)
    distributed_on: datetime.date | None = None
    stopped: bool = False

    @property
    def the_case(self) -> DisposalCase:
        assert self.case is not None
        return self.case


def _round_to(fen: int | Decimal, step_yuan: int) -> int:
    step = step_yuan * 100
    return max(int((Decimal(fen) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step, step)


def _at(day: datetime.date, clock: datetime.time = SESSION_HOUR) -> datetime.datetime:
    return datetime.datetime.combine(day, clock, tzinfo=timezone.get_default_timezone())


def _chain(
    start: datetime.date, gaps: Sequence[tuple[int, int]], last: datetime.date, rng: random.Random
) -> list[datetime.date]:
    """Days after `start`, each a drawn number of days after the one before, squeezed to end by `last`."""
    drawn = [rng.randint(low, high) for low, high in gaps]
    room = max((last - start).days, 0)
    total = sum(drawn)
    if total > room:
        drawn = [g * room // total for g in drawn]
    days, day = [], start
    for gap in drawn:
        day = min(day + datetime.timedelta(days=gap), last)
        days.append(day)
    return days


# ---------------------------------------------------------------------------
# Organisations and users
# ---------------------------------------------------------------------------


class _Orgs:
    """The disposal platforms and the acquirers, per province, found or created (with demo logins)."""

    def __init__(self, people: _People, counts: Counter[str]) -> None:
        self.people, self.counts = people, counts
        self.platforms: dict[str, Organisation] = {}
        self.acquirers: dict[str, Organisation] = {}

    @staticmethod
    def _province(prefix: str) -> Region | None:
        return Region.objects.filter(code=f"{prefix}0000").first()

    @staticmethod
    def _short(region: Region | None) -> str:
        from ipledge.registry.seeding import _province_short

        return _province_short(region.name) if region is not None else ""

    def _users(self, org: Organisation, stem: str) -> None:
        missing = [role for role in Role.values if self.people.get(org.pk, role) is None]
        if not missing:
            return
        demo_hash = _demo_password_hash()
        created = []
        for role in missing:
            username = f"{stem}_{role}"
            if User.objects.filter(username=username).exists():
                username = f"{stem}_{org.pk}_{role}"
            user = user_create(
                username=username,
                organisation=org,
                role=role,
                password=None,
                acting_user=None,
                display_name=f"{org.name[:40]}{Role(role).label}",
            )
            created.append(user.pk)
            self.people.ids[(org.pk, role)] = user.pk
        if demo_hash is not None:
            User.objects.filter(pk__in=created).update(password=demo_hash)
        self.counts["users_created"] += len(created)

    def platform(self, prefix: str) -> Organisation:
        """The province's disposal platform (知识产权交易中心): the registry seed's, else a new one."""
        if prefix in self.platforms:
            return self.platforms[prefix]
        acquirers = [o.pk for o in self.acquirers.values()]
        found = (
            Organisation.objects.filter(
                kind=OrganisationKind.DISPOSAL_PLATFORM,
                is_active=True,
                parent__isnull=True,
                region__code__startswith=prefix,
            )
            .exclude(pk__in=acquirers)
            .exclude(name__endswith="运营管理有限公司")
            .order_by("pk")
            .first()
        )
        if found is None:
            region = self._province(prefix)
            found = organisation_create(
                name=f"{self._short(region)}知识产权交易中心",
                kind=OrganisationKind.DISPOSAL_PLATFORM,
                acting_user=None,
                region=region,
            )
            self.counts["organisations_created"] += 1
        self._users(found, f"exchange_{PROVINCE_ABBR.get(prefix, prefix)}")
        self.platforms[prefix] = found
        return found

    def acquirer(self, prefix: str) -> Organisation:
        """The province's IP operating company (知识产权运营管理有限公司), which buys rights for its pool (收储)."""
        if prefix in self.acquirers:
            return self.acquirers[prefix]
        region = self._province(prefix)
        name = f"{self._short(region)}知识产权运营管理有限公司"
        found = Organisation.objects.filter(name=name, is_active=True).order_by("pk").first()
        if found is None:
            found = organisation_create(
                name=name, kind=OrganisationKind.DISPOSAL_PLATFORM, acting_user=None, region=region
            )
            self.counts["organisations_created"] += 1
        self._users(found, f"ipops_{PROVINCE_ABBR.get(prefix, prefix)}")
        self.acquirers[prefix] = found
        return found


class _Bidders:
    """Enterprises with an operator login, grouped away from a pledgor's parks ("enterprises of other parks")."""

    def __init__(self, people: _People, rng: random.Random) -> None:
        self.rng = rng
        operators = {org_id for (org_id, role) in people.ids if role == Role.OPERATOR}
        self.enterprises = list(
            Enterprise.objects.filter(organisation_id__in=operators, organisation__is_active=True)
            .select_related("organisation")
            .order_by("pk")[:2000]
        )
        self.parks: dict[int, set[int]] = {}
        for enterprise_id, park_id in ParkMembership.objects.filter(
            enterprise__in=[e.pk for e in self.enterprises], left_on__isnull=True
        ).values_list("enterprise_id", "park_id"):
            self.parks.setdefault(enterprise_id, set()).add(park_id)

    def others(self, pledgor: Enterprise, n: int) -> list[Enterprise]:
        """Up to `n` enterprises in none of the pledgor's parks (at random, deterministic for the seed)."""
        own = set(
            ParkMembership.objects.filter(enterprise=pledgor, left_on__isnull=True).values_list("park_id", flat=True)
        )
        pool = [
            e
            for e in self.enterprises
            if e.pk != pledgor.pk
            and e.organisation_id != pledgor.organisation_id
            and not (self.parks.get(e.pk, set()) & own)
        ]
        return self.rng.sample(pool, min(n, len(pool)))


# ---------------------------------------------------------------------------
# Candidates and roles
# ---------------------------------------------------------------------------


def _candidates(people: _People, today: datetime.date) -> list[_Candidate]:
    busy_loans = DisposalCase.objects.exclude(status=CaseStatus.CLOSED).values("loan_id")
    disposed = Claim.objects.filter(
        Q(status__in=[ClaimStatus.CLEARING, ClaimStatus.CLEARED]) | Q(recoveries__kind=RecoveryKind.DISPOSAL)
    ).values("loan_id")
    loans = (
        Loan.objects.filter(is_ip_pledge=True, status__in=LIVE_STATUSES, outstanding_principal__gt=0)
        .filter(Q(status=LoanStatus.DEFAULTED) | Q(classification__in=list(NON_PERFORMING_CLASSES)))
        .filter(pledge_registration__status=RegistrationStatus.ACTIVE, collateral__isnull=False)
        .exclude(pk__in=busy_loans)
        .exclude(pk__in=disposed)
        .select_related("borrower", "bank", "pledge_registration")
        .distinct()
        .order_by("pk")
    )
    claims = {
        c.loan_id: c
        for c in Claim.objects.filter(status=ClaimStatus.ADVANCE_PAID).select_related("fund__manager").order_by("pk")
    }
    found = []
    for loan in loans:
        if people.get(loan.bank_id) is None or people.get(loan.bank_id, Role.REVIEWER) is None:
            continue
        bad_days = [loan.defaulted_on]
        if loan.classification in NON_PERFORMING_CLASSES:
            bad_days.append(loan.classification_since)
        known = [d for d in bad_days if d is not None]
        bad_on = min(known) if known else today
        claim = claims.get(loan.pk)
        earliest = max(bad_on, claim.approved_on or bad_on) if claim is not None else bad_on
        found.append(_Candidate(loan=loan, claim=claim, earliest=min(earliest + datetime.timedelta(days=1), today)))
    found.sort(key=lambda c: (c.claim is None, c.earliest, c.loan.pk))
    return found


def _latest_open(role: str, today: datetime.date) -> datetime.date:
    past_start = today - datetime.timedelta(days=PAST_SESSION_ENDS + PAST_SESSION_DAYS)
    return {
        "auction": past_start - datetime.timedelta(days=3),
        "licensing": today - datetime.timedelta(days=10),
        "negotiated": today - datetime.timedelta(days=10),
        "acquisition": today - datetime.timedelta(days=10),
        "live": today - datetime.timedelta(days=3),
        "proposed": today - datetime.timedelta(days=1),
        "opened": today,
    }[role]


def _assign(candidates: list[_Candidate], today: datetime.date) -> list[_Candidate]:
    """One role per candidate, in the order of ROLES, each to the first candidate whose dates allow it; the loan that
    turned bad last is the case just opened."""
    free = list(candidates)
    chosen = []
    for role in ROLES:
        for candidate in free:
            if candidate.earliest <= _latest_open(role, today):
                candidate.role = role
                chosen.append(candidate)
                free.remove(candidate)
                break
    if free:
        last = max(free, key=lambda c: (c.earliest, c.loan.pk))
        last.role = "opened"
        chosen.append(last)
    return chosen


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


class _Run:
    def __init__(self, rng: random.Random, people: _People, today: datetime.date, say: Callable[[str], None]) -> None:
        self.rng, self.people, self.today, self.say = rng, people, today, say
        self.counts: Counter[str] = Counter()
        self.orgs = _Orgs(people, self.counts)
        self.bidders = _Bidders(people, rng)
        self.past_end = today - datetime.timedelta(days=PAST_SESSION_ENDS)
        self.past_start = self.past_end - datetime.timedelta(days=PAST_SESSION_DAYS)

    # -- helpers ------------------------------------------------------------------------------------------------

    def _step(
        self, candidate: _Candidate, name: str, day: datetime.date | None, action: Callable[[], Any], stop: bool = True
    ) -> bool:
        """Run one service call on `day` (or real today); a refusal is counted and (unless `stop` is false) leaves
        the case where it is."""
        try:
            if day is None:
                action()
            else:
                with as_of(day):
                    action()
        except (ValidationError, PermissionDenied, LookupError) as exc:
            self.counts[f"steps_refused_{name}"] += 1
            self.say(f"loan {candidate.loan.pk} ({candidate.role}): {name} refused: {exc}")
            candidate.stopped = candidate.stopped or stop
            return False
        if candidate.case is not None:
            candidate.case.refresh_from_db()
        return True

    def bank(self, candidate: _Candidate, role: str = Role.OPERATOR) -> User:
        return self.people.need(candidate.loan.bank_id, role)

    def _value(self, c: _Candidate) -> int:
        """The disposal value the prices are drawn from: the fresh machine valuation, or a disposal haircut (15–45 %,
        most often 25 %) on the appraisal the bank lent against when that is higher (see the module docstring)."""
        rights = list(c.the_case.rights.all())
        fresh = sum(r.fresh_value.fen for r in rights if r.fresh_value)
        prior = sum(r.prior_value.fen for r in rights if r.prior_value)
        appraised = sum(p.appraised_value.fen for p in c.loan.collateral.all() if p.appraised_value)
        haircut = self.rng.triangular(*APPRAISAL_HAIRCUT)
        return max(fresh, int(appraised * haircut)) or prior or c.loan.outstanding_principal.fen * 3 // 10

    # -- opening and the route ----------------------------------------------------------------------------------

    def prepare(self, c: _Candidate) -> bool:
        """Open the case; past the first step, revalue its rights and propose (and approve) the route."""
        timing = "auction" if c.role == "live" and c.earliest <= _latest_open("auction", self.today) else c.role
        latest = _latest_open(timing, self.today)
        low, high = OPEN_BEFORE_LATEST.get(timing, (0, 0))
        opened = max(c.earliest, latest - datetime.timedelta(days=self.rng.randint(low, high)))
        note = self.rng.choice(OPEN_NOTES)
        bank = self.bank(c)

        def open_case() -> None:
            c.case = services.case_open(loan=c.loan, acting_user=bank, note=note)

        if not self._step(c, "open", opened, open_case) or c.role == "opened":
            return not c.stopped
        if not self._step(c, "revalue", opened, lambda: services.case_revalue(case=c.the_case, acting_user=bank)):
            return False
        c.value_fen = self._value(c)
        prefix = c.loan.region_code[:2]
        route = ROLE_ROUTES.get(c.role, Route.AUCTION)
        if route == Route.AUCTION:
            c.platform = self.orgs.platform(prefix)
        elif route == Route.ACQUISITION:
            c.platform = self.orgs.acquirer(prefix)
        if c.role == "auction" or (c.role == "live" and opened <= _latest_open("auction", self.today)):
            bound = self.past_start - datetime.timedelta(days=1)  # listed in the past session
        elif c.role in ("live", "proposed"):
            bound = self.today
        else:
            bound = self.today - datetime.timedelta(days=8)
        proposed_on, approved_on = _chain(opened, [(1, 4), (1, 3)], max(bound, opened), self.rng)
        if not self._step(
            c,
            "propose_route",
            proposed_on,
            lambda: services.case_propose_route(
                case=c.the_case, route=route, platform=c.platform, acting_user=bank, note=ROUTE_NOTES[route]
            ),
        ):
            return False
        if c.role == "proposed":
            return True
        reviewer = self.bank(c, Role.REVIEWER)
        return self._step(
            c, "approve_route", approved_on, lambda: services.case_approve_route(case=c.the_case, acting_user=reviewer)
        )

    # -- auctions -----------------------------------------------------------------------------------------------

    def _register(
        self, c: _Candidate, enterprises: Sequence[Enterprise], platform: Organisation, paid_on: datetime.date
    ) -> None:
        """The enterprises sign up for the case's lot (now: it is still open) and the platform confirms their
        deposits on `paid_on`."""
        assert c.lot is not None
        for enterprise in enterprises:
            assert enterprise.organisation_id is not None
            user = self.people.need(enterprise.organisation_id)
            registration = services.bidder_register(lot=c.lot, acting_user=user)
            with as_of(paid_on):
                services.deposit_confirm(
                    registration=registration, acting_user=self.people.need(platform.pk), paid_on=paid_on
                )
            c.bidders.append((registration, user))

    def _list(self, c: _Candidate, session: AuctionSession, reserve_fen: int) -> None:
        reserve = _round_to(reserve_fen, 1000)
        c.reserve_fen = reserve
        c.lot = services.lot_list(
            session=session,
            case=c.the_case,
            reserve_price=Money.from_fen(reserve),
            deposit=Money.from_fen(_round_to(reserve * DEPOSIT_SHARE, 1000)),
            increment=Money.from_fen(_round_to(reserve * INCREMENT_SHARE, 1000)),
            acting_user=self.people.need(session.platform_id),
        )

    def _bids(
        self,
        lot: Lot,
        bidders: list[tuple[BidderRegistration, User]],
        start: datetime.datetime,
        until: datetime.datetime,
        count: int,
        snipe: bool = False,
    ) -> None:
        """`count` bids between `start` and `until`, each zero to two increments above the minimum, never by the
        current leader; with `snipe` the last lands two minutes before the end, which extends the lot."""
        span = (until - start).total_seconds()
        instants = sorted(
            start + datetime.timedelta(seconds=int(span * self.rng.uniform(0.05, 0.95))) for _ in range(count)
        )
        if snipe:
            instants[-1] = until - datetime.timedelta(minutes=2, seconds=self.rng.randint(0, 59))
            instants.sort()
        leader: User | None = None
        for instant in instants:
            lot.refresh_from_db()
            user = self.rng.choice([u for _r, u in bidders if u is not leader])
            minimum = lot.reserve_price.fen if lot.current_price is None else lot.current_price.fen + lot.increment.fen
            amount = minimum + self.rng.choice((0, 0, 1, 2)) * lot.increment.fen
            services.bid_place(lot=lot, amount=Money.from_fen(amount), acting_user=user, now=instant)
            leader = user

    def past_sessions(self, sold: list[_Candidate], relisted: list[_Candidate]) -> None:
        """One past session per platform with its cases' lots, bids at past instants, closed by the scheduled job."""
        by_platform: dict[int, list[_Candidate]] = {}
        for c in [*sold, *relisted]:
            assert c.platform is not None
            by_platform.setdefault(c.platform.pk, []).append(c)
        start, end = _at(self.past_start), _at(self.past_end)
        announced_on = self.past_start - datetime.timedelta(days=7)
        for cases in by_platform.values():
            platform = cases[0].platform
            assert platform is not None
            with as_of(announced_on):
                session = services.session_create(
                    platform=platform,
                    title=f"知识产权质物集中拍卖会（{_day(self.past_start)}场）",
                    starts_at=start,
                    ends_at=timezone.now() + datetime.timedelta(hours=1),  # moved back below, once listed
                    extension_minutes=EXTENSION_MINUTES,
                    acting_user=self.people.need(platform.pk),
                )
            listed = []
            for c in cases:
                reserve = int(c.value_fen * self.rng.uniform(*RESERVE_SHARE))
                if not self._step(c, "list", None, functools.partial(self._list, c, session, reserve)):
                    continue
                enterprises = self.bidders.others(c.the_case.pledgor, self.rng.randint(2, 4) if c in sold else 1)
                paid_on = self.past_start - datetime.timedelta(days=1)
                self._step(c, "register", None, functools.partial(self._register, c, enterprises, platform, paid_on))
                listed.append(c)
            # Back-date the session: it ran from `start` to `end` (see the module docstring).
            AuctionSession.objects.filter(pk=session.pk).update(ends_at=end, created_at=_at(announced_on))
            Lot.objects.filter(session=session).update(ends_at=end, created_at=_at(announced_on))
            for registration in BidderRegistration.objects.filter(lot__session=session).order_by("pk"):
                signed = start - datetime.timedelta(days=self.rng.randint(2, 6), minutes=self.rng.randint(0, 600))
                BidderRegistration.objects.filter(pk=registration.pk).update(created_at=signed)
            for n, c in enumerate(c for c in listed if c in sold and len(c.bidders) >= 2):
                lot, count = c.lot, self.rng.randint(3, 7)
                assert lot is not None
                self._step(c, "bid", None, functools.partial(self._bids, lot, c.bidders, start, end, count, n == 0))
        due = Lot.objects.filter(status=LotStatus.LISTED, ends_at__lte=end + datetime.timedelta(hours=1))
        closing = max((lot.ends_at for lot in due), default=end)
        with as_of(self.past_end):
            closed = services.close_due_lots(now=closing)
        self.counts.update({f"past_lots_{k}": v for k, v in closed.items()})
        for c in [*sold, *relisted]:
            if c.case is not None:
                c.case.refresh_from_db()

    def live_session(self, c: _Candidate) -> None:
        """A session open now (since yesterday, ending in a few days) with the case's lot and two bids."""
        platform = c.platform
        assert platform is not None
        now = timezone.now().replace(microsecond=0)
        start = now - datetime.timedelta(days=1)
        session = services.session_create(
            platform=platform,
            title=f"知识产权质物集中拍卖会（{_day(self.today)}场）",
            starts_at=start,
            ends_at=_at(self.today + datetime.timedelta(days=LIVE_SESSION_DAYS)),
            extension_minutes=EXTENSION_MINUTES,
            acting_user=self.people.need(platform.pk),
        )
        reserve = c.reserve_fen * RELIST_SHARE if c.reserve_fen else c.value_fen * Decimal("0.75")
        if not self._step(c, "list", None, lambda: self._list(c, session, int(reserve))):
            return
        lot = c.lot
        assert lot is not None
        enterprises = self.bidders.others(c.the_case.pledgor, 2)
        c.bidders = []  # the past session's sign-up was for the lot that found no bid
        self._step(c, "register", None, functools.partial(self._register, c, enterprises, platform, self.today))
        if len(c.bidders) >= 2:
            self._step(c, "bid", None, lambda: self._bids(lot, c.bidders, start, now, 2))

    # -- sales, licensing, settlement -----------------------------------------------------------------------------

    def _costs(self, c: _Candidate) -> Money:
        price = c.the_case.sale_price
        assert price is not None
        return Money.from_fen(price.fen * self.rng.randint(*COSTS_PERCENT) // 100 // 100 * 100)

    def settle(self, c: _Candidate, *, until: str = "distribute") -> None:
        """Payment, then the transfer and the waterfall, each a few days after the last."""
        sold_on = c.the_case.sold_on
        assert sold_on is not None
        paid_on, transferred_on, distributed_on = _chain(
            sold_on, [(1, 4), (1, 3), (1, 2)], self.today - datetime.timedelta(days=2), self.rng
        )
        bank = self.bank(c)
        payer = self.people.get(c.platform.pk) if c.platform is not None and c.role != "acquisition" else None
        confirmer = payer or bank
        if not self._step(
            c, "pay", paid_on, lambda: services.payment_confirm(case=c.the_case, acting_user=confirmer, paid_on=paid_on)
        ):
            return
        if until == "paid":
            return
        if not self._step(
            c, "transfer", transferred_on, lambda: services.case_transfer(case=c.the_case, acting_user=bank)
        ):
            return
        if self._step(
            c,
            "distribute",
            distributed_on,
            lambda: services.proceeds_distribute(case=c.the_case, costs=self._costs(c), acting_user=bank),
        ):
            c.distributed_on = distributed_on

    def close(self, c: _Candidate) -> None:
        assert c.distributed_on is not None
        (closed_on,) = _chain(c.distributed_on, [(1, 4)], self.today, self.rng)
        bank = self.bank(c)
        self._step(
            c,
            "close",
            closed_on,
            lambda: services.case_close(case=c.the_case, acting_user=bank, note="价款已分配完毕，结案。"),
        )

    def sale(self, c: _Candidate, share: tuple[float, float], buyer: Organisation) -> bool:
        """A negotiated sale or an acquisition, agreed a week or two after the route's approval."""
        approved_on = c.the_case.route_approved_on
        assert approved_on is not None
        (sold_on,) = _chain(approved_on, [(5, 20)], self.today - datetime.timedelta(days=6), self.rng)
        price = Money.from_fen(_round_to(c.value_fen * Decimal(str(round(self.rng.uniform(*share), 3))), 1000))
        bank = self.bank(c)
        return self._step(
            c,
            "sale",
            sold_on,
            lambda: services.sale_record(case=c.the_case, buyer=buyer, price=price, acting_user=bank),
        )

    def licensing(self, c: _Candidate) -> None:
        """Two licence incomes, a month or two after the approval and a quarter after that."""
        approved_on = c.the_case.route_approved_on
        assert approved_on is not None
        names = [e.name for e in self.bidders.others(c.the_case.pledgor, 2)]
        names += [name for name in LICENSEES if name not in names]
        bank = self.bank(c)
        days = _chain(approved_on, [(20, 60), (60, 92)], self.today, self.rng)
        for n, (day, licensee) in enumerate(zip(days, names, strict=False), start=1):
            amount = _round_to(c.value_fen * Decimal(str(round(self.rng.uniform(0.03, 0.08), 4))), 100)
            costs = Money.from_fen(amount // 10 // 100 * 100)

            def record(
                day: datetime.date = day,
                licensee: str = licensee,
                amount: int = amount,
                costs: Money = costs,
                n: int = n,
            ) -> None:
                services.licence_income_record(
                    case=c.the_case,
                    licensee=licensee,
                    amount=Money.from_fen(amount),
                    costs=costs,
                    received_on=day,
                    idempotency_key=f"seed-{n}-{day:%Y%m%d}",
                    acting_user=bank,
                )

            self._step(c, "licence_income", day, record)

    def clear_claim(self, c: _Candidate) -> bool:
        """The fund manager clears the claim once the proceeds are in, and the true-ups are paid."""
        claim = c.claim
        assert claim is not None and c.distributed_on is not None
        operator = self.people.need(claim.fund.manager_id)
        cleared_on, paid_on = _chain(c.distributed_on, [(1, 3), (1, 3)], self.today, self.rng)

        def clear() -> None:
            claim.refresh_from_db()
            compensation.claim_clear(claim=claim, acting_user=operator, note="质物处置完毕，清算。")

        def pay() -> None:
            for payment in Payment.objects.filter(
                claim=claim, purpose=PaymentPurpose.TRUE_UP, status=PaymentStatus.INSTRUCTED
            ).order_by("pk"):
                user = operator if payment.payer_role == PartyRole.FUND else self.people.need(payment.payer_id)
                compensation.payment_mark_paid(
                    payment=payment, acting_user=user, paid_on=paid_on, reference=f"HX{paid_on:%Y%m%d}{payment.pk:06d}"
                )

        if not self._step(c, "clear_claim", cleared_on, clear):
            return False
        self.counts["claims_cleared"] += 1
        return self._step(c, "pay_true_ups", paid_on, pay)


def _day(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# How many days before the last day its timeline allows a case opens (drawn), by role.
OPEN_BEFORE_LATEST = {
    "auction": (5, 30),
    "licensing": (100, 150),
    "negotiated": (10, 40),
    "acquisition": (10, 40),
    "live": (3, 20),
    "proposed": (0, 4),
}
ROLE_ROUTES = {"licensing": Route.LICENSING, "negotiated": Route.NEGOTIATED, "acquisition": Route.ACQUISITION}
OPEN_NOTES = (
    "借款人停产，经催收仍无力清偿，启动质物处置。",
    "贷款逾期已超过 90 天，借款人无还款来源，依质押合同处置质物。",
    "借款人涉诉，其他财产已被查封，申请处置质押知识产权。",
)
ROUTE_NOTES = {
    Route.AUCTION: "经重新评估，委托知识产权交易中心网络公开拍卖（集中拍卖）。",
    Route.NEGOTIATED: "已有意向受让方，经协商按评估值折价协议转让。",
    Route.ACQUISITION: "由省知识产权运营管理公司收储，纳入专利运营池。",
    Route.LICENSING: "暂不转让，许可实施并以许可收入清偿贷款。",
}
LICENSEES = ("苏州精研制造有限公司", "无锡华芯电子有限公司")


def _count(counts: Counter[str], cases: Any) -> None:
    counts["cases"] = cases.count()
    for status, _label in CaseStatus.choices:
        n = cases.filter(status=status).count()
        if n:
            counts[f"cases_{CaseStatus(status).name.lower()}"] = n
    lots = Lot.objects.filter(case__in=cases)
    counts["sessions"] = AuctionSession.objects.filter(lots__in=lots).distinct().count()
    counts["lots"] = lots.count()
    for lot_status in LotStatus.values:
        n = lots.filter(status=lot_status).count()
        if n:
            counts[f"lots_{lot_status}"] = n
    counts["bidders"] = BidderRegistration.objects.filter(lot__in=lots).count()
    counts["bids"] = Bid.objects.filter(lot__in=lots).count()
    counts["licence_incomes"] = LicenceIncome.objects.filter(case__in=cases).count()
    counts["proceeds_entries"] = ProceedsEntry.objects.filter(case__in=cases).count()
    references = list(cases.values_list("reference", flat=True))
    counts["recoveries"] = Recovery.objects.filter(source_reference__in=references).count()
    counts["claims_left_to_clear"] = (
        Claim.objects.filter(status=ClaimStatus.ADVANCE_PAID, recoveries__source_reference__in=references)
        .distinct()
        .count()
    )


def seed_disposal(*, seed: int = 42, log: Callable[[str], None] | None = None) -> DisposalSeedReport:
    """Open and run disposal cases on the demo's bad loans (see the module docstring); one transaction."""
    started = time.perf_counter()
    say = log or (lambda _msg: None)
    today = business_date()
    report = DisposalSeedReport(seed=seed)
    with transaction.atomic():
        people = _People()
        run = _Run(random.Random(f"disposal-{seed}"), people, today, say)
        candidates = _candidates(people, today)
        chosen = _assign(candidates, today)
        run.counts["candidates"] = len(candidates)
        say(
            f"{len(candidates)} candidate loans ({sum(c.claim is not None for c in candidates)} with an advance-paid "
            "claim): " + ", ".join(f"loan {c.loan.pk} {c.role}" for c in chosen)
        )
        ready = [c for c in chosen if run.prepare(c)]
        by_role: dict[str, list[_Candidate]] = {}
        for c in ready:
            by_role.setdefault(c.role, []).append(c)
        sold = by_role.get("auction", [])
        live = next(iter(by_role.get("live", [])), None)
        relisted = [live] if live is not None and live.the_case.opened_on <= _latest_open("auction", today) else []
        if sold or relisted:
            run.past_sessions(sold, relisted)

        # The sold lots: paid, transferred, distributed; every claim but the last cleared; those cases closed.
        sold = [c for c in sold if c.the_case.status == CaseStatus.SOLD]
        for c in sold:
            run.settle(c)
        distributed = [c for c in sold if c.distributed_on is not None]
        with_claims = [c for c in distributed if c.claim is not None]
        left = with_claims[-1] if with_claims else (distributed[-1] if distributed else None)
        for c in distributed:
            if c is left or (c.claim is not None and not run.clear_claim(c)):
                continue
            run.close(c)

        for c in by_role.get("licensing", []):
            run.licensing(c)
        for c in by_role.get("negotiated", []):
            buyers = run.bidders.others(c.the_case.pledgor, 1)
            if buyers and buyers[0].organisation is not None and run.sale(c, (0.75, 0.95), buyers[0].organisation):
                run.settle(c)
                if c.distributed_on is not None:
                    run.close(c)
        for c in by_role.get("acquisition", []):
            assert c.platform is not None
            if run.sale(c, (0.55, 0.70), c.platform):
                run.settle(c, until="paid")
        if live is not None and live.the_case.status == CaseStatus.ROUTE_APPROVED:
            run.live_session(live)

        counts = run.counts
        _count(counts, DisposalCase.objects.filter(pk__in=[c.case.pk for c in chosen if c.case is not None]))
        report.counts = dict(sorted(counts.items()))
        report.seconds = time.perf_counter() - started
        record_event(
            acting_user=None,
            action="seed.disposal",
            object_type="disposal.disposalcase",
            object_repr=f"{counts['cases']} × 处置案件",
            extra={"seed": seed, "as_of": today, "seconds": round(report.seconds, 1), **report.counts},
        )
    return report
