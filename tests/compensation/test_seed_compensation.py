"""`ipledge seed_compensation` on a tiny registry with tiny loans: funds, published schemes, enrolments that keep the
enrolment rules (version in force, window, eligibility, covered amount, cover, leverage cap, one open per loan),
claims at several stages, cleared claims whose ledger conserves money, demo logins for a created fund manager, and
a second run with --if-empty that does nothing."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from ipledge.compensation import ledger, services
from ipledge.compensation.choices import (
    AccountKind,
    ClaimStatus,
    EnrolmentStatus,
    PartyRole,
    PaymentPurpose,
    PaymentStatus,
    SchemeStatus,
)
from ipledge.compensation.engine import sharing
from ipledge.compensation.models import Claim, Enrolment, Fund, JournalLine, Payment, SchemeVersion
from ipledge.compensation.stress import portfolio_frame
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of, business_date
from ipledge.core.models import AuditEvent, Organisation, User
from ipledge.lending.choices import CoverKind, LoanClass, LoanStatus
from ipledge.lending.classification import loan_classification_override
from ipledge.lending.models import Loan, LoanCover
from ipledge.lending.seeding import seed_loans
from ipledge.registration.seeding import seed_pledges
from ipledge.registry.seeding import demo_login_rows, seed_database

pytestmark = pytest.mark.django_db


def _seed_world() -> str:
    """A tiny registry with 30 pledges, the demo loan scale on it, and 30 live loans the banks' reviewers classify
    次级 in spring 2026 (the loan seed alone turns only a handful bad at this size); then the compensation seed."""
    seed_database(scale="tiny", seed=7)
    seed_pledges(count=30, seed=7)
    # Jiangsu's fund manager is gone: the compensation seed must create one, with demo logins.
    Organisation.objects.filter(kind=OrganisationKind.FUND_MANAGER, region__code__startswith="32").update(
        is_active=False
    )
    seed_loans(scale="demo", seed=3)
    live = Loan.objects.filter(
        status=LoanStatus.ACTIVE, classification=LoanClass.NORMAL, first_disbursed_on__lt=date(2026, 3, 1)
    ).order_by("pk")
    for n, loan in enumerate(live[:30]):
        assert loan.first_disbursed_on is not None
        reviewer = User.objects.filter(organisation=loan.bank, role=Role.REVIEWER).first()
        day = max(date(2026, 4, 1) + timedelta(days=3 * n), loan.first_disbursed_on + timedelta(days=45))
        with as_of(day):
            loan_classification_override(
                loan=loan, to_class=LoanClass.SUBSTANDARD, reason="借款人停产，逾期", acting_user=reviewer
            )
    out = io.StringIO()
    call_command("seed_compensation", "--scale", "demo", "--seed", "5", stdout=out)
    return out.getvalue()


def test_seed_compensation() -> None:
    output = _seed_world()
    assert "Seeded compensation at scale demo" in output
    _check_funds_schemes_and_logins()
    _check_enrolments()
    _check_claims_and_ledger()
    _check_audit_and_if_empty()
    _check_commands()


def _fen(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_funds_schemes_and_logins() -> None:
    funds = list(Fund.objects.order_by("code"))
    assert [f.code for f in funds] == ["BJ-IPF", "JS-IPF"]
    for fund in funds:
        assert fund.manager.kind == OrganisationKind.FUND_MANAGER and fund.manager.is_active
        (sponsor,) = fund.sponsors.all()
        assert sponsor.kind == OrganisationKind.IP_OFFICE and sponsor.region_id == fund.region_id
        assert 30_000_000 <= fund.capital.amount <= 50_000_000 and fund.leverage_cap == 10
        contributed = Payment.objects.filter(fund=fund, purpose=PaymentPurpose.CONTRIBUTION, status=PaymentStatus.PAID)
        assert ledger.as_fen(contributed.aggregate(t=Sum("amount"))["t"]) == fund.capital.fen
        codes = set(fund.schemes.values_list("code", flat=True))
        assert {"ZS", "HK"} <= codes and ("SZD" in codes) == (fund.code == "JS-IPF")
        for scheme in fund.schemes.all():
            in_force = services.version_in_force(scheme, business_date())
            assert in_force is not None and in_force.status == SchemeStatus.PUBLISHED
        published = SchemeVersion.objects.filter(scheme__fund=fund, status=SchemeStatus.PUBLISHED)
        assert all(v.approved_by_id and v.prepared_by_id and v.approved_by_id != v.prepared_by_id for v in published)
        assert SchemeVersion.objects.filter(scheme__fund=fund, status=SchemeStatus.PENDING).count() == 1
    jiangsu = funds[1]
    assert jiangsu.manager.name.startswith("江苏省")  # created: the registry's one was deactivated
    logins = {row[0] for row in demo_login_rows()}
    assert set(jiangsu.manager.users.values_list("username", flat=True)) <= logins


def _check_enrolments() -> None:
    enrolments = list(
        Enrolment.objects.select_related("loan__borrower", "scheme_version__scheme__fund__region", "cover", "fund")
    )
    assert len(enrolments) >= 40
    assert {e.status for e in enrolments} >= {EnrolmentStatus.ACTIVE, EnrolmentStatus.RELEASED}
    open_per_loan: dict[int, int] = defaultdict(int)
    for e in enrolments:
        loan, version = e.loan, e.scheme_version
        assert loan.is_ip_pledge and loan.first_disbursed_on is not None
        assert services.version_in_force(version.scheme, loan.first_disbursed_on) == version
        assert 0 <= (e.enrolled_on - loan.first_disbursed_on).days <= version.enrol_window_days
        assert services.eligibility_problems(version=version, loan=loan, ip_share=e.ip_share) == []
        principal = loan.principal or loan.requested_amount
        assert e.covered_amount.fen == _fen(Decimal(principal.fen) * e.ip_share / 100)
        assert (e.status == EnrolmentStatus.RELEASED) == (e.released_on is not None)
        assert e.released_on is None or e.released_on > e.enrolled_on
        # The cover: risk compensation by the fund's manager at the fund's share of the principal's tier.
        rule = services.sharing_rule(version)
        tier = rule.tiers[sharing.tier_for(rule, principal.fen)]
        assert e.cover is not None and e.cover.loan_id == loan.pk
        assert (e.cover.kind, e.cover.provider_id) == (CoverKind.RISK_COMPENSATION, e.fund.manager_id)
        assert e.cover.cover_ratio == Decimal(tier.shares["fund"])
        assert sum(LoanCover.objects.filter(loan=loan).values_list("cover_ratio", flat=True)) <= 1
        if version.scheme.code == "ZS":
            assert e.insurer is not None and e.valuer is not None
        if e.status != EnrolmentStatus.RELEASED:
            open_per_loan[loan.pk] += 1
    assert max(open_per_loan.values()) == 1
    # The leverage cap held on every enrolment day, releases (出池) included.
    for fund in Fund.objects.all():
        capacity = _fen(fund.capital.amount * fund.leverage_cap)
        rows = [e for e in enrolments if e.fund_id == fund.pk]
        for day in {e.enrolled_on for e in rows}:
            covered = sum(
                e.covered_amount.fen
                for e in rows
                if e.enrolled_on <= day and (e.released_on is None or e.released_on >= day)
            )
            assert covered <= capacity


def _check_claims_and_ledger() -> None:
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert ClaimStatus.CLEARED in statuses
    assert (
        len(statuses & {ClaimStatus.FILED, ClaimStatus.REVIEWED, ClaimStatus.ADVANCE_PAID, ClaimStatus.CLEARING}) >= 2
    )
    for claim in Claim.objects.filter(status=ClaimStatus.CLEARED):
        assert claim.final_loss is not None and claim.enrolment.status == EnrolmentStatus.RELEASED
        positions = ledger.claim_positions(claim)
        losses = {key: fen for key, fen in positions.items() if key[0] == AccountKind.LOSS}
        assert sum(losses.values()) == claim.final_loss.fen
        shares = claim.terms["clearing"]["shares_fen"]
        assert positions.get((AccountKind.LOSS, PartyRole.FUND, None), 0) == shares["fund"] == claim.fund_committed.fen
        assert not any(key[0] == AccountKind.EXPOSURE for key in positions)
        assert not claim.payments.filter(status=PaymentStatus.INSTRUCTED).exists()
    for fund in Fund.objects.all():
        lines = JournalLine.objects.filter(entry__fund=fund)
        assert ledger.as_fen(lines.aggregate(t=Sum("amount"))["t"]) == 0  # double entry
        paid = Payment.objects.filter(fund=fund, status=PaymentStatus.PAID)
        contributions = sum(p.amount.fen for p in paid.filter(purpose=PaymentPurpose.CONTRIBUTION))
        cleared = Claim.objects.filter(fund=fund, status=ClaimStatus.CLEARED)
        fund_final = sum(c.terms["clearing"]["shares_fen"].get("fund", 0) for c in cleared)
        open_claims = paid.filter(claim__isnull=False).exclude(claim__status=ClaimStatus.CLEARED)
        open_advances = sum(p.amount.fen for p in open_claims.filter(payer_role=PartyRole.FUND)) - sum(
            p.amount.fen for p in open_claims.filter(payee_role=PartyRole.FUND)
        )
        assert ledger.cash_fen(fund) == contributions - fund_final - open_advances


def _check_audit_and_if_empty() -> None:
    (event,) = AuditEvent.objects.filter(action="seed.compensation")
    extra = event.changes["extra"]
    assert extra["funds"] == 2 and extra["enrolments"] == Enrolment.objects.count()
    assert extra["claims"] == Claim.objects.count() and extra["scale"] == "demo"
    before = (Fund.objects.count(), Enrolment.objects.count(), Claim.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()
    call_command("seed_compensation", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    after = (Fund.objects.count(), Enrolment.objects.count(), Claim.objects.count(), AuditEvent.objects.count())
    assert after == before


def _check_commands() -> None:
    """`compensation scan`, `compensation stress --json` and `bench compensation` on the seeded funds."""
    out = io.StringIO()
    call_command("compensation", "scan", "--json", stdout=out)
    assert set(json.loads(out.getvalue())) == {"date", "released", "raised", "resolved"}
    out = io.StringIO()
    call_command("compensation", "stress", "--fund", "JS-IPF", "--simulations", "500", "--json", stdout=out)
    result = json.loads(out.getvalue())
    pooled = portfolio_frame(Fund.objects.get(code="JS-IPF")).height  # in the pool, or claimed and not yet paid
    assert result["fund"] == "JS-IPF" and result["loans"] == pooled > 0 and result["simulations"] == 500
    assert [h["years"] for h in result["horizons"]] == [1, 3]
    out = io.StringIO()
    call_command("bench", "compensation", "--simulations", "500", "--baseline-simulations", "50", stdout=out)
    bench = json.loads(out.getvalue().strip().splitlines()[-1])
    assert bench["funds"] == 2 and bench["loans"] == sum(portfolio_frame(f).height for f in Fund.objects.all())
    assert bench["seconds"] > 0 and bench["baseline_extrapolated_seconds"] > 0 and bench["seeded_seconds"] == {}
