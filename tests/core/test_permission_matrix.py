"""The generated permission matrix: every model × every world user (all kinds, all roles) × every action.

`restrict(user, action)` builds SQL from each model's `scope_q`. Here an independent oracle states the same
policy in plain Python over loaded objects, and the two must agree object by object. A model added to any
ipledge app without a `restrict` manager, a `scope_q` and an oracle entry fails `test_every_model_is_covered`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from ipledge.compensation.models import (
    Claim,
    Enrolment,
    Fund,
    FundAlert,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Payment,
    Recovery,
    Scheme,
    SchemeVersion,
    StressRun,
)
from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.models import ApiCall, ApiKey, AuditEvent, Organisation, Region, User
from ipledge.core.scoping import Action, RestrictedQuerySet
from ipledge.core.services import api_call_record, api_key_create
from ipledge.disposal.models import (
    AuctionSession,
    Bid,
    BidderRegistration,
    CaseRight,
    DisposalCase,
    LicenceIncome,
    Lot,
    ProceedsEntry,
)
from ipledge.integration import models as integration
from ipledge.lending.models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    Instalment,
    InvestmentLink,
    Loan,
    LoanCollateral,
    LoanCover,
    LoanTransaction,
    LprQuote,
)
from ipledge.market.choices import ProductStatus, ProductVersionStatus, SurveyStatus
from ipledge.market.models import (
    Demand,
    DemandRight,
    DemandShare,
    EventParticipant,
    Match,
    MatchmakingEvent,
    Meeting,
    Product,
    ProductVersion,
    SurveyCampaign,
    SurveyQuestion,
    SurveyResponse,
    SurveyTarget,
)
from ipledge.monitoring import models as monitoring
from ipledge.portal import models as portal
from ipledge.registration.choices import Decision
from ipledge.registration.models import (
    Alert,
    CalendarDay,
    ExaminationFinding,
    FilingDocument,
    FilingItem,
    LegalStatusEvent,
    PledgedRight,
    PledgeFiling,
    PledgeRegistration,
    RegistrationSequence,
)
from ipledge.registration.monitoring import legal_status_import
from ipledge.registration.services import filing_confirm, filing_create, filing_decide
from ipledge.registry.licensing import licence_record
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, LicenceContract, Park, ParkMembership
from ipledge.registry.services import enterprise_update, membership_add, park_update
from ipledge.screening.choices import CriteriaStatus, VersionStatus
from ipledge.screening.models import (
    CreditDecision,
    CreditImport,
    CreditRecord,
    Criteria,
    IntendedCreditLine,
    LineAllocation,
    Scorecard,
    Subscription,
    Whitelist,
    WhitelistApplication,
    WhitelistEntry,
    WhitelistVersion,
)
from ipledge.valuation.models import (
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
from tests.compensation.factories import add_compensation
from tests.disposal.factories import add_disposal
from tests.integration.factories import add_integration, add_national_and_jiangsu_partners
from tests.lending.factories import add_loans
from tests.market.factories import add_market
from tests.monitoring.factories import add_monitoring
from tests.portal.factories import add_portal
from tests.screening.factories import add_screening
from tests.world import add_pledges, add_valuations

pytestmark = pytest.mark.django_db

ROLE_ACTIONS = {
    Role.ADMIN: set(Action),
    Role.OPERATOR: {Action.VIEW, Action.ADD, Action.CHANGE},
    Role.REVIEWER: {Action.VIEW, Action.APPROVE},
    Role.VIEWER: {Action.VIEW},
}
READ_ONLY = {OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM}
GOVERNMENT = {OrganisationKind.IP_OFFICE, *READ_ONLY}


def jurisdiction(org: Organisation) -> str | None:
    """The region-code prefix an organisation oversees: "" for national bodies, None for no region."""
    if org.admin_level == AdminLevel.NATIONAL:
        return ""
    return org.region.prefix if org.region is not None else None


def in_jurisdiction(org: Organisation, code: str | None) -> bool:
    prefix = jurisdiction(org)
    return prefix is not None and code is not None and code.startswith(prefix)


def in_tree(org: Organisation, other: Organisation | None) -> bool:
    return other is not None and other.tree_path.startswith(org.tree_path)


def role_allows(user: User, action: str) -> bool:
    if user.organisation.kind in READ_ONLY and action != Action.VIEW:
        return False
    return action in ROLE_ACTIONS[user.role]


# Oracles: (user, action, obj) -> may the user reach obj for action? Role gating is applied before.


def region_oracle(user: User, action: str, obj: Region) -> bool:
    return action == Action.VIEW


def organisation_oracle(user: User, action: str, obj: Organisation) -> bool:
    org = user.organisation
    if action != Action.VIEW:
        return user.role == Role.ADMIN and in_tree(org, obj)
    return in_tree(org, obj) or (
        org.kind in GOVERNMENT and in_jurisdiction(org, obj.region.code if obj.region else None)
    )


def user_oracle(user: User, action: str, obj: User) -> bool:
    if user.role == Role.ADMIN:
        return in_tree(user.organisation, obj.organisation)
    return action == Action.VIEW and obj.pk == user.pk


def audit_oracle(user: User, action: str, obj: AuditEvent) -> bool:
    if action != Action.VIEW or user.role not in (Role.ADMIN, Role.REVIEWER):
        return False
    org = user.organisation
    own = in_tree(org, obj.organisation)
    return own or (org.kind == OrganisationKind.IP_OFFICE and in_jurisdiction(org, obj.region_code))


def api_key_oracle(user: User, action: str, obj: ApiKey) -> bool:
    return user.role == Role.ADMIN and action != Action.APPROVE and obj.organisation_id == user.organisation_id


def api_call_oracle(user: User, action: str, obj: ApiCall) -> bool:
    # The organisation's own admins only (not its parent's): each organisation accounts for its own keys.
    return action == Action.VIEW and user.role == Role.ADMIN and obj.organisation_id == user.organisation_id


def park_oracle(user: User, action: str, obj: Park) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        return True
    if org.kind == OrganisationKind.IP_OFFICE:
        return in_jurisdiction(org, obj.region.code)
    return org.kind == OrganisationKind.PARK_ADMIN and action == Action.CHANGE and in_tree(org, obj.administering_org)


def enterprise_oracle(user: User, action: str, obj: Enterprise) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.ENTERPRISE:
        return action in (Action.VIEW, Action.CHANGE) and obj.organisation_id == org.pk
    parks = [m.park for m in obj.memberships.all()]
    if org.kind == OrganisationKind.PARK_ADMIN:
        return any(in_tree(org, p.administering_org) for p in parks)
    if org.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return in_jurisdiction(org, obj.region_code) or any(in_jurisdiction(org, p.region.code) for p in parks)
    if org.kind == OrganisationKind.BANK:
        # Its customers, once they took part: borrowers that applied themselves or were lent money, and pledgors
        # that confirmed a filing pledged to it or filed by it.
        return action == Action.VIEW and (
            any(
                in_tree(org, loan.bank)
                and (
                    loan.first_disbursed_on is not None
                    or (
                        obj.organisation_id is not None
                        and loan.created_by is not None
                        and loan.created_by.organisation_id == obj.organisation_id
                    )
                )
                for loan in obj.loans.all()
            )
            or any(
                (in_tree(org, f.pledgee) or in_tree(org, f.filed_by_org)) and f.pledgor_confirmed_at is not None
                for f in obj.pledge_filings.all()
            )
        )
    return False


def membership_oracle(user: User, action: str, obj: ParkMembership) -> bool:
    if action == Action.VIEW:
        return enterprise_oracle(user, Action.VIEW, obj.enterprise)
    if user.organisation.kind == OrganisationKind.ENTERPRISE:
        return False
    return enterprise_oracle(user, Action.CHANGE, obj.enterprise)


def ip_right_oracle(user: User, action: str, obj: IPRight) -> bool:
    enterprise_action = Action.VIEW if action == Action.VIEW else Action.CHANGE
    return any(
        o.enterprise is not None and enterprise_oracle(user, enterprise_action, o.enterprise) for o in obj.owners.all()
    )


def owner_oracle(user: User, action: str, obj: IPRightOwner) -> bool:
    return ip_right_oracle(user, action, obj.right)


def licence_oracle(user: User, action: str, obj: LicenceContract) -> bool:
    return ip_right_oracle(user, action, obj.ip_right)


def pledge_oracle(user: User, action: str, obj: Any, *, filer: Organisation | None, is_filing: bool = True) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return action != Action.APPROVE and (in_tree(org, obj.pledgee) or in_tree(org, filer))
    if org.kind == OrganisationKind.PATENT_AGENCY:
        return action != Action.APPROVE and in_tree(org, filer)
    if org.kind == OrganisationKind.ENTERPRISE:
        allowed = (Action.VIEW, Action.CHANGE) if is_filing else (Action.VIEW,)
        return action in allowed and obj.pledgor.organisation_id == org.pk
    if org.kind == OrganisationKind.PARK_ADMIN:
        return action == Action.VIEW and any(
            in_tree(org, m.park.administering_org) for m in obj.pledgor.memberships.all()
        )
    if org.kind == OrganisationKind.IP_OFFICE:
        return action in (Action.VIEW, Action.APPROVE) and in_jurisdiction(org, obj.region_code)
    if org.kind == OrganisationKind.FINANCIAL_REGULATOR:
        return in_jurisdiction(org, obj.pledgee.region.code if obj.pledgee.region else None)
    return False


def filing_oracle(user: User, action: str, obj: PledgeFiling) -> bool:
    return pledge_oracle(user, action, obj, filer=obj.filed_by_org)


def filing_child_oracle(user: User, action: str, obj: Any) -> bool:
    return filing_oracle(user, action, obj.filing)


def finding_oracle(user: User, action: str, obj: ExaminationFinding) -> bool:
    return action == Action.VIEW and filing_oracle(user, action, obj.filing)


def registration_oracle(user: User, action: str, obj: PledgeRegistration) -> bool:
    return pledge_oracle(user, action, obj, filer=None, is_filing=False)


def pledged_right_oracle(user: User, action: str, obj: PledgedRight) -> bool:
    return registration_oracle(user, action, obj.registration)


def legal_status_event_oracle(user: User, action: str, obj: LegalStatusEvent) -> bool:
    return action == Action.VIEW and (
        ip_right_oracle(user, action, obj.ip_right)
        or any(pledged_right_oracle(user, action, p) for p in obj.ip_right.pledges.all())
    )


def alert_oracle(user: User, action: str, obj: Alert) -> bool:
    return action in (Action.VIEW, Action.CHANGE) and in_tree(user.organisation, obj.organisation)


def calendar_oracle(user: User, action: str, obj: Any) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        return True
    return (
        org.kind == OrganisationKind.IP_OFFICE
        and org.admin_level in ("national", "provincial")
        and user.role == Role.ADMIN
    )


COVER_PROVIDERS = {OrganisationKind.GUARANTOR, OrganisationKind.INSURER, OrganisationKind.FUND_MANAGER}


def loan_oracle(user: User, action: str, obj: Loan) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return in_tree(org, obj.bank)
    if org.kind == OrganisationKind.ENTERPRISE:
        return action in (Action.VIEW, Action.CHANGE) and obj.borrower.organisation_id == org.pk
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.PARK_ADMIN:
        return any(in_tree(org, m.park.administering_org) for m in obj.borrower.memberships.all())
    if org.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return in_jurisdiction(org, obj.region_code)
    if org.kind == OrganisationKind.FINANCIAL_REGULATOR:
        return in_jurisdiction(org, obj.bank.region.code if obj.bank.region else None)
    if org.kind in COVER_PROVIDERS:
        return any(in_tree(org, c.provider) for c in obj.covers.all())
    return False


def loan_child_oracle(user: User, action: str, obj: Any) -> bool:
    return loan_oracle(user, action, obj.loan)


def implementation_report_oracle(user: User, action: str, obj: ImplementationReport) -> bool:
    return loan_oracle(user, action, obj.collateral.loan)


def bank_report_oracle(user: User, action: str, obj: Any) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return action != Action.APPROVE and in_tree(org, obj.bank)
    return (
        action == Action.VIEW
        and org.kind in (OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.IP_OFFICE)
        and in_jurisdiction(org, obj.bank.region.code if obj.bank.region else None)
    )


def nobody(user: User, action: str, obj: Any) -> bool:
    return False


def _enterprise_business(org: Organisation, enterprise: Enterprise | None, region_code: str) -> bool:
    """The enterprise itself, its parks' administrations, and the IP office and NDRC of its region."""
    if enterprise is None:
        return False
    if org.kind == OrganisationKind.ENTERPRISE:
        return enterprise.organisation_id == org.pk
    if org.kind == OrganisationKind.PARK_ADMIN:
        return any(in_tree(org, m.park.administering_org) for m in enterprise.memberships.all())
    if org.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return in_jurisdiction(org, region_code)
    return False


def valuation_oracle(user: User, action: str, obj: Valuation) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.VALUER:
        return action in (Action.VIEW, Action.CHANGE, Action.APPROVE) and in_tree(org, obj.agency)
    if action != Action.VIEW:
        return False
    return in_tree(org, obj.requested_by_org) or _enterprise_business(org, obj.enterprise, obj.region_code)


def bundle_oracle(user: User, action: str, obj: ValuationBundle) -> bool:
    org = user.organisation
    own = in_tree(org, obj.created_by_org)
    if action != Action.VIEW:
        return own
    return own or _enterprise_business(org, obj.enterprise, obj.region_code)


def bundle_item_oracle(user: User, action: str, obj: BundleItem) -> bool:
    return bundle_oracle(user, action, obj.bundle)


def batch_oracle(user: User, action: str, obj: RevaluationBatch) -> bool:
    org = user.organisation
    own = in_tree(org, obj.requested_by_org)
    if action == Action.VIEW and org.kind == OrganisationKind.IP_OFFICE:
        return own or in_jurisdiction(org, obj.region_code)
    return own and action in (Action.VIEW, Action.CHANGE)


def pledge_policy_oracle(user: User, action: str, obj: PledgeRatePolicy) -> bool:
    org = user.organisation
    if org.kind != OrganisationKind.BANK:
        return False
    if action == Action.VIEW:
        # Its own tree's policies, and those of the offices above it (the policy it lends under).
        return in_tree(org, obj.bank) or org.tree_path.startswith(obj.bank.tree_path)
    return action in (Action.ADD, Action.CHANGE) and in_tree(org, obj.bank)


def comparable_oracle(user: User, action: str, obj: ComparableTransaction) -> bool:
    org = user.organisation
    own = in_tree(org, obj.recorded_by_org)
    if action != Action.VIEW:
        return own and action in (Action.ADD, Action.CHANGE)
    if org.kind == OrganisationKind.VALUER:
        return True
    if org.kind == OrganisationKind.IP_OFFICE:
        return own or in_jurisdiction(org, obj.region_code)
    return own


def innovation_score_oracle(user: User, action: str, obj: InnovationScore) -> bool:
    return action == Action.VIEW and enterprise_oracle(user, Action.VIEW, obj.enterprise)


def valuation_model_oracle(user: User, action: str, obj: ValuationModel) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        return True
    return org.kind == OrganisationKind.IP_OFFICE and jurisdiction(org) == ""


# Risk compensation: a fund's books are read by its manager's tree, its sponsors and the government of its region;
# the parties that may share a loss read the (public) funds and schemes; the manager's tree alone writes.
SHARING_PARTIES = {
    OrganisationKind.BANK,
    OrganisationKind.INSURER,
    OrganisationKind.GUARANTOR,
    OrganisationKind.VALUER,
}


def fund_books(org: Organisation, fund: Fund) -> bool:
    return (
        in_tree(org, fund.manager)
        or (org.kind in GOVERNMENT and in_jurisdiction(org, fund.region.code))
        or any(in_tree(org, sponsor) for sponsor in fund.sponsors.all())
    )


def fund_manages(org: Organisation, fund: Fund) -> bool:
    return org.kind == OrganisationKind.FUND_MANAGER and in_tree(org, fund.manager)


def fund_oracle(user: User, action: str, obj: Fund) -> bool:
    org = user.organisation
    if action != Action.VIEW:
        return fund_manages(org, obj)
    return fund_books(org, obj) or (org.kind in SHARING_PARTIES and obj.status != "closed")


def scheme_oracle(user: User, action: str, obj: Scheme) -> bool:
    return fund_oracle(user, action, obj.fund)


def scheme_version_oracle(user: User, action: str, obj: SchemeVersion) -> bool:
    return fund_oracle(user, action, obj.scheme.fund)


def fund_child_oracle(user: User, action: str, obj: Any) -> bool:
    org = user.organisation
    return fund_books(org, obj.fund) if action == Action.VIEW else fund_manages(org, obj.fund)


def enrolment_oracle(user: User, action: str, obj: Enrolment) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.FUND_MANAGER:
        return fund_books(org, obj.fund) if action == Action.VIEW else in_tree(org, obj.fund.manager)
    if org.kind == OrganisationKind.BANK:
        return action != Action.DELETE and in_tree(org, obj.loan.bank)
    if action != Action.VIEW:
        return False
    party = {
        OrganisationKind.INSURER: obj.insurer,
        OrganisationKind.GUARANTOR: obj.guarantor,
        OrganisationKind.VALUER: obj.valuer,
    }
    if org.kind in party:
        return in_tree(org, party[org.kind])
    return fund_books(org, obj.fund)


def claim_oracle(user: User, action: str, obj: Claim) -> bool:
    return enrolment_oracle(user, action, obj.enrolment)


def recovery_oracle(user: User, action: str, obj: Recovery) -> bool:
    return claim_oracle(user, action, obj.claim)


def ledger_account_oracle(user: User, action: str, obj: LedgerAccount) -> bool:
    return action == Action.VIEW and (fund_books(user.organisation, obj.fund) or in_tree(user.organisation, obj.party))


def journal_entry_oracle(user: User, action: str, obj: JournalEntry) -> bool:
    org = user.organisation
    if action != Action.VIEW:
        return False
    return fund_books(org, obj.fund) or any(in_tree(org, line.account.party) for line in obj.lines.all())


def journal_line_oracle(user: User, action: str, obj: JournalLine) -> bool:
    return journal_entry_oracle(user, action, obj.entry)


def payment_oracle(user: User, action: str, obj: Payment) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        return fund_books(org, obj.fund) or in_tree(org, obj.payer) or in_tree(org, obj.payee)
    if action == Action.CHANGE:
        return in_tree(org, obj.payer) or fund_manages(org, obj.fund)
    return False


# Disposal: the pledgee bank's tree does everything with its cases; the pledgor, the platform or acquirer, the buyer,
# the fund manager covering the loan and the borrower region's IP office / NDRC read. Auction listings are public.
def disposal_case_oracle(user: User, action: str, obj: DisposalCase) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return in_tree(org, obj.bank)
    if action != Action.VIEW:
        return False
    if in_tree(org, obj.platform) or in_tree(org, obj.buyer):
        return True
    if org.kind == OrganisationKind.ENTERPRISE:
        return obj.pledgor.organisation_id == org.pk
    if org.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.DEVELOPMENT_REFORM):
        return in_jurisdiction(org, obj.region_code)
    if org.kind == OrganisationKind.FUND_MANAGER:
        return any(in_tree(org, e.fund.manager) for e in obj.loan.fund_enrolments.all())
    return False


def case_child_oracle(user: User, action: str, obj: Any) -> bool:
    return disposal_case_oracle(user, action, obj.case)


def auction_session_oracle(user: User, action: str, obj: AuctionSession) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        return True
    return org.kind == OrganisationKind.DISPOSAL_PLATFORM and in_tree(org, obj.platform)


def lot_oracle(user: User, action: str, obj: Lot) -> bool:
    return auction_session_oracle(user, action, obj.session)


def bidder_oracle(user: User, action: str, obj: BidderRegistration) -> bool:
    org = user.organisation
    own = in_tree(org, obj.bidder)
    if action == Action.DELETE:
        return False
    if org.kind == OrganisationKind.DISPOSAL_PLATFORM:
        return own or in_tree(org, obj.lot.session.platform)
    if action == Action.VIEW and org.kind == OrganisationKind.BANK:
        return own or in_tree(org, obj.lot.case.bank)
    if action == Action.APPROVE:
        return False
    return own


def bid_oracle(user: User, action: str, obj: Bid) -> bool:
    org = user.organisation
    if action != Action.VIEW:
        return False
    if in_tree(org, obj.registration.bidder):
        return True
    if org.kind == OrganisationKind.DISPOSAL_PLATFORM:
        return in_tree(org, obj.lot.session.platform)
    if org.kind == OrganisationKind.BANK:
        return in_tree(org, obj.lot.case.bank)
    return False


# Screening: credit data is the IP offices' (importer's tree acts, the jurisdiction reads); others read the records of
# enterprises they can see. Whitelists: the park works on its own, the region's IP office reads and approves,
# regulators read, subscribed banks read approved versions' included entries; an enterprise reads its own approved
# entry. Banks own their subscriptions, lines and decisions; the park allocates its lines.
def credit_import_oracle(user: User, action: str, obj: CreditImport) -> bool:
    org = user.organisation
    return org.kind == OrganisationKind.IP_OFFICE and in_tree(org, obj.organisation)


def credit_record_oracle(user: User, action: str, obj: CreditRecord) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.IP_OFFICE:
        own = in_tree(org, obj.batch.organisation)
        return own or (action == Action.VIEW and in_jurisdiction(org, obj.region_code))
    if action != Action.VIEW or obj.enterprise is None:
        return False
    return enterprise_oracle(user, Action.VIEW, obj.enterprise)


def scorecard_oracle(user: User, action: str, obj: Scorecard) -> bool:
    org = user.organisation
    return action == Action.VIEW or (org.kind == OrganisationKind.IP_OFFICE and in_tree(org, obj.owner))


def criteria_oracle(user: User, action: str, obj: Criteria) -> bool:
    org = user.organisation
    own = in_tree(org, obj.owner)
    if action != Action.VIEW:
        return own and org.kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN)
    return own or obj.status in (CriteriaStatus.PUBLISHED, CriteriaStatus.RETIRED)


def whitelist_oracle(user: User, action: str, obj: Whitelist) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.park.administering_org)
    if org.kind == OrganisationKind.IP_OFFICE:
        return action in (Action.VIEW, Action.APPROVE) and in_jurisdiction(org, obj.region_code)
    if action != Action.VIEW:
        return False
    if org.kind in READ_ONLY:
        return in_jurisdiction(org, obj.region_code)
    if org.kind == OrganisationKind.BANK:
        subscriptions = Subscription.objects.filter(is_active=True).select_related("bank", "region")
        return any(
            in_tree(org, s.bank)
            and (s.park_id == obj.park_id or (s.region is not None and obj.region_code.startswith(s.region.prefix)))
            for s in subscriptions
        )
    return False


def whitelist_version_oracle(user: User, action: str, obj: WhitelistVersion) -> bool:
    if user.organisation.kind == OrganisationKind.BANK and obj.status not in (
        VersionStatus.APPROVED,
        VersionStatus.SUPERSEDED,
    ):
        return False
    return whitelist_oracle(user, action, obj.whitelist)


def whitelist_entry_oracle(user: User, action: str, obj: WhitelistEntry) -> bool:
    org = user.organisation
    if (
        org.kind == OrganisationKind.ENTERPRISE
        and action == Action.VIEW
        and obj.enterprise.organisation_id == org.pk
        and obj.version.status in (VersionStatus.APPROVED, VersionStatus.SUPERSEDED)
    ):
        return True
    if org.kind == OrganisationKind.BANK and not obj.included:
        return False
    return whitelist_version_oracle(user, action, obj.version)


def whitelist_application_oracle(user: User, action: str, obj: WhitelistApplication) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.ENTERPRISE:
        return action != Action.APPROVE and obj.enterprise.organisation_id == org.pk
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.park.administering_org)
    return org.kind == OrganisationKind.IP_OFFICE and in_jurisdiction(org, obj.region_code)


def subscription_oracle(user: User, action: str, obj: Subscription) -> bool:
    org = user.organisation
    return org.kind == OrganisationKind.BANK and action != Action.APPROVE and in_tree(org, obj.bank)


def credit_line_oracle(user: User, action: str, obj: IntendedCreditLine) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return in_tree(org, obj.bank)
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.park.administering_org)
    return org.kind in GOVERNMENT and in_jurisdiction(org, obj.region_code)


def line_allocation_oracle(user: User, action: str, obj: LineAllocation) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.line.park.administering_org)
    if org.kind == OrganisationKind.ENTERPRISE:
        return action == Action.VIEW and obj.enterprise.organisation_id == org.pk
    return action == Action.VIEW and credit_line_oracle(user, Action.VIEW, obj.line)


def credit_decision_oracle(user: User, action: str, obj: CreditDecision) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return action != Action.APPROVE and in_tree(org, obj.bank)
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.ENTERPRISE:
        return obj.enterprise.organisation_id == org.pk
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.entry.version.whitelist.park.administering_org)
    return org.kind in GOVERNMENT and in_jurisdiction(org, obj.region_code)


# Market: live products are the platform's library, drafts stay in the bank's tree. A demand is its enterprise's, its
# parks' (while a member) and the region's offices' (read); a bank reads it only with the enterprise's consent (shared
# with the bank, or with every bank whose product matches). Surveys are their organiser's; a target reads a published
# campaign and owns its response. Events are announced to all; meetings belong to the organiser, the bank and the
# enterprise met.
SURVEY_ORGANISERS = {OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN}


def product_oracle(user: User, action: str, obj: Product) -> bool:
    org = user.organisation
    own = org.kind == OrganisationKind.BANK and in_tree(org, obj.bank)
    return own or (action == Action.VIEW and obj.status == ProductStatus.LIVE)


def product_version_oracle(user: User, action: str, obj: ProductVersion) -> bool:
    org = user.organisation
    own = org.kind == OrganisationKind.BANK and in_tree(org, obj.product.bank)
    current = obj.status == ProductVersionStatus.APPROVED and obj.product.status == ProductStatus.LIVE
    return own or (action == Action.VIEW and current)


def demand_oracle(user: User, action: str, obj: Demand) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.ENTERPRISE:
        return action != Action.APPROVE and obj.enterprise.organisation_id == org.pk
    if org.kind == OrganisationKind.PARK_ADMIN:
        if action == Action.APPROVE:
            return False
        member = any(
            m.left_on is None and in_tree(org, m.park.administering_org) for m in obj.enterprise.memberships.all()
        )
        return member or (obj.park is not None and in_tree(org, obj.park.administering_org))
    if org.kind in GOVERNMENT:
        return action == Action.VIEW and in_jurisdiction(org, obj.region_code)
    if org.kind == OrganisationKind.BANK and action == Action.VIEW:
        shared = any(in_tree(org, s.bank) for s in obj.shares.all())
        matched = obj.share_with_matching_banks and any(
            m.eligible and in_tree(org, m.product.bank) for m in obj.matches.all()
        )
        return shared or matched
    return False


def demand_right_oracle(user: User, action: str, obj: DemandRight) -> bool:
    return demand_oracle(user, action, obj.demand)


def demand_share_oracle(user: User, action: str, obj: DemandShare) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return action == Action.VIEW and in_tree(org, obj.bank)
    return demand_oracle(user, action, obj.demand)


def match_oracle(user: User, action: str, obj: Match) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return (
            action in (Action.VIEW, Action.CHANGE)
            and in_tree(org, obj.product.bank)
            and demand_oracle(user, Action.VIEW, obj.demand)
        )
    return action == Action.VIEW and demand_oracle(user, Action.VIEW, obj.demand)


def survey_campaign_oracle(user: User, action: str, obj: SurveyCampaign) -> bool:
    org = user.organisation
    organiser = in_tree(org, obj.organiser)
    if action != Action.VIEW:
        return organiser and org.kind in SURVEY_ORGANISERS
    targeted = obj.targets.filter(organisation=org).exists() and obj.status != SurveyStatus.DRAFT
    return organiser or targeted


def survey_question_oracle(user: User, action: str, obj: SurveyQuestion) -> bool:
    return survey_campaign_oracle(user, action, obj.campaign)


def survey_target_oracle(user: User, action: str, obj: SurveyTarget) -> bool:
    org = user.organisation
    organiser = in_tree(org, obj.campaign.organiser)
    if action != Action.VIEW:
        return organiser and org.kind in SURVEY_ORGANISERS
    own = obj.organisation_id == org.pk and obj.campaign.status in (SurveyStatus.OPEN, SurveyStatus.CLOSED)
    return organiser or own


def survey_response_oracle(user: User, action: str, obj: SurveyResponse) -> bool:
    org = user.organisation
    own = obj.organisation_id == org.pk
    if action == Action.VIEW:
        return own or in_tree(org, obj.campaign.organiser)
    return own and action in (Action.ADD, Action.CHANGE)


def event_oracle(user: User, action: str, obj: MatchmakingEvent) -> bool:
    org = user.organisation
    return action == Action.VIEW or (org.kind in SURVEY_ORGANISERS and in_tree(org, obj.organiser))


def event_participant_oracle(user: User, action: str, obj: EventParticipant) -> bool:
    org = user.organisation
    mine = in_tree(org, obj.event.organiser) or in_tree(org, obj.organisation)
    if action == Action.VIEW:
        met = any(in_tree(org, m.bank_participant.organisation) for m in obj.enterprise_meetings.all())
        return mine or met
    return mine and action in (Action.ADD, Action.CHANGE)


def meeting_oracle(user: User, action: str, obj: Meeting) -> bool:
    org = user.organisation
    organiser = in_tree(org, obj.event.organiser)
    bank = in_tree(org, obj.bank_participant.organisation)
    if action == Action.VIEW:
        return organiser or bank or obj.enterprise_participant.organisation_id == org.pk
    if action == Action.CHANGE:
        return org.kind != OrganisationKind.ENTERPRISE and (organiser or bank)
    return organiser


# Monitoring (行动监测): officials read inside their region; IP offices write; owners reach their own rows.


def _official(org: Organisation, code: str | None) -> bool:
    return org.kind in GOVERNMENT and in_jurisdiction(org, code)


def _ip_office(org: Organisation, code: str | None) -> bool:
    return org.kind == OrganisationKind.IP_OFFICE and in_jurisdiction(org, code)


def anomaly_scan_oracle(user: User, action: str, obj: monitoring.AnomalyScan) -> bool:
    kind = user.organisation.kind
    return (action == Action.VIEW and kind in GOVERNMENT) or (
        action == Action.ADD and kind == OrganisationKind.IP_OFFICE
    )


def bulletin_oracle(user: User, action: str, obj: monitoring.Bulletin) -> bool:
    if action == Action.VIEW:
        return _official(user.organisation, obj.region_code)
    return action in (Action.ADD, Action.CHANGE) and _ip_office(user.organisation, obj.region_code)


def anomaly_finding_oracle(user: User, action: str, obj: monitoring.Finding) -> bool:
    if action == Action.VIEW:
        return _official(user.organisation, obj.region_code)
    return action in (Action.CHANGE, Action.APPROVE) and _ip_office(user.organisation, obj.region_code)


def finding_event_oracle(user: User, action: str, obj: monitoring.FindingEvent) -> bool:
    return anomaly_finding_oracle(user, action, obj.finding)


def plan_oracle(user: User, action: str, obj: monitoring.ProvincialPlan) -> bool:
    org = user.organisation
    if action == Action.VIEW:
        owns_task = any(in_tree(org, task.owner_org) for task in obj.tasks.all())
        return _official(org, obj.region.code) or owns_task
    return _ip_office(org, obj.region.code)


def plan_task_oracle(user: User, action: str, obj: monitoring.PlanTask) -> bool:
    org = user.organisation
    region = obj.plan.region.code
    if action == Action.VIEW:
        return _official(org, region) or in_tree(org, obj.owner_org)
    if action == Action.CHANGE:
        return _ip_office(org, region) or in_tree(org, obj.owner_org)
    return _ip_office(org, region)


def reminder_oracle(user: User, action: str, obj: monitoring.Reminder) -> bool:
    org = user.organisation
    return action == Action.VIEW and (_official(org, obj.region_code) or in_tree(org, obj.recipient))


def designation_oracle(user: User, action: str, obj: monitoring.KeyParkDesignation) -> bool:
    return action == Action.VIEW or _ip_office(user.organisation, obj.region_code)


def _runs_park_of(org: Organisation, enterprise: Enterprise) -> bool:
    return org.kind == OrganisationKind.PARK_ADMIN and any(
        in_tree(org, m.park.administering_org) for m in enterprise.memberships.filter(left_on__isnull=True)
    )


def financials_oracle(user: User, action: str, obj: monitoring.EnterpriseFinancials) -> bool:
    org = user.organisation
    own = org.kind == OrganisationKind.ENTERPRISE and obj.enterprise.organisation_id == org.pk
    if action == Action.VIEW:
        return own or _official(org, obj.region_code) or _runs_park_of(org, obj.enterprise)
    return action in (Action.ADD, Action.CHANGE) and (own or _ip_office(org, obj.region_code))


def _runs_park(org: Organisation, park: Park | None) -> bool:
    return org.kind == OrganisationKind.PARK_ADMIN and park is not None and in_tree(org, park.administering_org)


def measure_oracle(user: User, action: str, obj: monitoring.MeasureEntry) -> bool:
    org = user.organisation
    own = in_tree(org, obj.owner_org) or _runs_park(org, obj.park)
    if action == Action.VIEW:
        return obj.is_public or own or _official(org, obj.region_code)
    if action == Action.ADD:
        return _ip_office(org, obj.region_code) or _runs_park(org, obj.park)
    return action != Action.APPROVE and (own or _ip_office(org, obj.region_code))


def report_oracle(user: User, action: str, obj: monitoring.GeneratedReport) -> bool:
    if action == Action.VIEW:
        return _official(user.organisation, obj.region_code)
    return action == Action.ADD and _ip_office(user.organisation, obj.region_code)


def typical_case_oracle(user: User, action: str, obj: monitoring.TypicalCase) -> bool:
    org = user.organisation
    own = in_tree(org, obj.nominated_by_org)
    if action == Action.VIEW:
        return obj.status == monitoring.CaseStatus.PUBLISHED or own or _official(org, obj.region_code)
    if action == Action.ADD:
        return own and org.kind != OrganisationKind.ENTERPRISE
    if action == Action.CHANGE:
        return own or _ip_office(org, obj.region_code)
    return action == Action.APPROVE and _ip_office(org, obj.region_code)


# Portal (公共服务门户): published policies are public; issuers keep their drafts; consultations reach the asker, the
# office answering and the region's officials; service requests the asker, the park's staff and the officials.

POLICY_ISSUERS = {*GOVERNMENT, OrganisationKind.PARK_ADMIN}


def policy_oracle(user: User, action: str, obj: portal.Policy) -> bool:
    org = user.organisation
    own = in_tree(org, obj.owner_org)
    if action == Action.VIEW:
        return obj.status == portal.PolicyStatus.PUBLISHED or own or _official(org, obj.region_code)
    if action == Action.ADD:
        return org.kind in POLICY_ISSUERS
    return action in (Action.CHANGE, Action.DELETE) and own and org.kind in POLICY_ISSUERS


def policy_attachment_oracle(user: User, action: str, obj: portal.PolicyAttachment) -> bool:
    return policy_oracle(user, Action.VIEW if action == Action.VIEW else Action.CHANGE, obj.policy)


def consultation_oracle(user: User, action: str, obj: portal.Consultation) -> bool:
    org = user.organisation
    asker = org.kind == OrganisationKind.ENTERPRISE and in_tree(org, obj.enterprise_org)
    office = in_tree(org, obj.routed_to)
    if action == Action.VIEW:
        return asker or office or _official(org, obj.region_code)
    if action == Action.ADD:
        return org.kind == OrganisationKind.ENTERPRISE
    return action == Action.CHANGE and (office or _ip_office(org, obj.region_code))


def service_request_oracle(user: User, action: str, obj: portal.ServiceRequest) -> bool:
    org = user.organisation
    asker = org.kind == OrganisationKind.ENTERPRISE and in_tree(org, obj.enterprise_org)
    if action == Action.VIEW:
        return asker or _runs_park(org, obj.park) or _official(org, obj.region_code)
    if action == Action.ADD:
        return org.kind == OrganisationKind.ENTERPRISE
    return action == Action.CHANGE and _runs_park(org, obj.park)


# Integration (数据交换): the exchange is run by platform operators only; an enterprise controls its own consent and
# reads what partners sent about it, as do the officials of its region; bulk transfers stay with their organisation.


def exchange_watch_oracle(user: User, action: str, obj: Any) -> bool:
    """Operators run the exchange; a government body reads the partners of its jurisdiction and their queues."""
    partner = obj if isinstance(obj, integration.ExchangePartner) else obj.partner
    return action == Action.VIEW and _official(user.organisation, partner.region_code)


def consent_oracle(user: User, action: str, obj: integration.ShareConsent) -> bool:
    org = user.organisation
    own = org.kind == OrganisationKind.ENTERPRISE and in_tree(org, obj.enterprise_org)
    if action == Action.VIEW:
        return own or _official(org, obj.region_code)
    return action in (Action.ADD, Action.CHANGE) and own


def partner_fact_oracle(user: User, action: str, obj: Any) -> bool:
    org = user.organisation
    if action != Action.VIEW:
        return False
    own = org.kind == OrganisationKind.ENTERPRISE and in_tree(org, obj.enterprise.organisation)
    return own or _official(org, obj.enterprise.region_code)


def bulk_transfer_oracle(user: User, action: str, obj: integration.BulkTransfer) -> bool:
    return action == Action.VIEW and in_tree(user.organisation, obj.organisation)


ORACLES: dict[type[models.Model], Callable[[User, str, Any], bool]] = {
    Region: region_oracle,
    Organisation: organisation_oracle,
    User: user_oracle,
    AuditEvent: audit_oracle,
    ApiKey: api_key_oracle,
    ApiCall: api_call_oracle,
    Park: park_oracle,
    Enterprise: enterprise_oracle,
    ParkMembership: membership_oracle,
    IPRight: ip_right_oracle,
    IPRightOwner: owner_oracle,
    LicenceContract: licence_oracle,
    PledgeFiling: filing_oracle,
    FilingItem: filing_child_oracle,
    FilingDocument: filing_child_oracle,
    ExaminationFinding: finding_oracle,
    PledgeRegistration: registration_oracle,
    PledgedRight: pledged_right_oracle,
    RegistrationSequence: nobody,
    CalendarDay: calendar_oracle,
    LegalStatusEvent: legal_status_event_oracle,
    Alert: alert_oracle,
    Loan: loan_oracle,
    Instalment: loan_child_oracle,
    LoanTransaction: loan_child_oracle,
    LoanCover: loan_child_oracle,
    InvestmentLink: loan_child_oracle,
    LoanCollateral: loan_child_oracle,
    ClassificationChange: loan_child_oracle,
    ImplementationReport: implementation_report_oracle,
    CreditPlan: bank_report_oracle,
    BankNplReport: bank_report_oracle,
    LprQuote: region_oracle,  # published rates are public
    Valuation: valuation_oracle,
    ValuationBundle: bundle_oracle,
    BundleItem: bundle_item_oracle,
    RevaluationBatch: batch_oracle,
    PledgeRatePolicy: pledge_policy_oracle,
    ComparableTransaction: comparable_oracle,
    InnovationScore: innovation_score_oracle,
    ValuationModel: valuation_model_oracle,
    CohortStatistics: nobody,
    Fund: fund_oracle,
    Scheme: scheme_oracle,
    SchemeVersion: scheme_version_oracle,
    Enrolment: enrolment_oracle,
    Claim: claim_oracle,
    Recovery: recovery_oracle,
    LedgerAccount: ledger_account_oracle,
    JournalEntry: journal_entry_oracle,
    JournalLine: journal_line_oracle,
    Payment: payment_oracle,
    FundAlert: fund_child_oracle,
    StressRun: fund_child_oracle,
    DisposalCase: disposal_case_oracle,
    CaseRight: case_child_oracle,
    AuctionSession: auction_session_oracle,
    Lot: lot_oracle,
    BidderRegistration: bidder_oracle,
    Bid: bid_oracle,
    LicenceIncome: case_child_oracle,
    ProceedsEntry: case_child_oracle,
    CreditImport: credit_import_oracle,
    CreditRecord: credit_record_oracle,
    Scorecard: scorecard_oracle,
    Criteria: criteria_oracle,
    Whitelist: whitelist_oracle,
    WhitelistVersion: whitelist_version_oracle,
    WhitelistEntry: whitelist_entry_oracle,
    WhitelistApplication: whitelist_application_oracle,
    Subscription: subscription_oracle,
    IntendedCreditLine: credit_line_oracle,
    LineAllocation: line_allocation_oracle,
    CreditDecision: credit_decision_oracle,
    Product: product_oracle,
    ProductVersion: product_version_oracle,
    Demand: demand_oracle,
    DemandRight: demand_right_oracle,
    DemandShare: demand_share_oracle,
    Match: match_oracle,
    SurveyCampaign: survey_campaign_oracle,
    SurveyQuestion: survey_question_oracle,
    SurveyTarget: survey_target_oracle,
    SurveyResponse: survey_response_oracle,
    MatchmakingEvent: event_oracle,
    EventParticipant: event_participant_oracle,
    Meeting: meeting_oracle,
    monitoring.AnomalyScan: anomaly_scan_oracle,
    monitoring.Bulletin: bulletin_oracle,
    monitoring.Finding: anomaly_finding_oracle,
    monitoring.FindingEvent: finding_event_oracle,
    monitoring.ProvincialPlan: plan_oracle,
    monitoring.PlanTask: plan_task_oracle,
    monitoring.Reminder: reminder_oracle,
    monitoring.KeyParkDesignation: designation_oracle,
    monitoring.EnterpriseFinancials: financials_oracle,
    monitoring.MeasureEntry: measure_oracle,
    monitoring.GeneratedReport: report_oracle,
    monitoring.TypicalCase: typical_case_oracle,
    portal.Policy: policy_oracle,
    portal.PolicyAttachment: policy_attachment_oracle,
    portal.Consultation: consultation_oracle,
    portal.ServiceRequest: service_request_oracle,
    integration.ExchangePartner: exchange_watch_oracle,
    integration.OutboundMessage: exchange_watch_oracle,
    integration.InboundMessage: exchange_watch_oracle,
    integration.ShareConsent: consent_oracle,
    integration.PartnerCreditReport: partner_fact_oracle,
    integration.PartnerLoanOutcome: partner_fact_oracle,
    integration.BulkTransfer: bulk_transfer_oracle,
}
# Internal bookkeeping that no organisation reads through the application.
INTERNAL_MODELS = {RegistrationSequence, CohortStatistics}


def ipledge_models() -> list[type[models.Model]]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ipledge."):
            continue
        for model in config.get_models():
            # simple_history's generated Historical* tables are read only through their parent's history.
            if getattr(model, "instance_type", None) is not None and model.__name__.startswith("Historical"):
                continue
            found.append(model)
    return found


def test_every_model_is_covered() -> None:
    missing = []
    for model in ipledge_models():
        has_restrict = isinstance(model._default_manager.all(), RestrictedQuerySet)
        has_scope = callable(getattr(model, "scope_q", None))
        if not (has_restrict and has_scope and model in ORACLES):
            missing.append(model._meta.label)
    assert not missing, f"models without scoping or a permission-matrix oracle: {missing}"


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The matrix world, built once per module (per worker) inside a transaction rolled back at the end: the tests
    only read it, and each test's own transaction is a savepoint inside this one."""
    from tests.world import build_world

    with django_db_blocker.unblock(), transaction.atomic():
        world = _populate(build_world())
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def matrix_world(_module_world, db):  # type: ignore[no-untyped-def]
    return _module_world


def _populate(world):  # type: ignore[no-untyped-def]
    """The world plus rows that only exist after use: API keys, and audit events made by real users."""
    for key in ("bank1", "bank2", "park1"):
        api_key, _ = api_key_create(
            organisation=world.orgs[key], name=f"{key}-etl", role=Role.VIEWER, acting_user=world.user(key, Role.ADMIN)
        )
        # API calls: one with the key, one by a person of the organisation (and below, one nobody's).
        for call_key, call_user in ((api_key, None), (None, world.user(key, Role.OPERATOR))):
            api_call_record(
                api_key=call_key,
                user=call_user,
                method="GET",
                path="/api/v1/me",
                status_code=200,
                duration_ms=3,
                request_id="matrix",
                client_ip="127.0.0.1",
            )
    api_call_record(
        api_key=None,
        user=None,
        method="GET",
        path="/api/v1/me",
        status_code=401,
        duration_ms=1,
        request_id="matrix",
        client_ip=None,
    )
    park_update(park=world.parks["p1"], data={"is_key_park": False}, acting_user=world.user("park1", Role.ADMIN))
    enterprise_update(enterprise=world.enterprises["e2"], data={"employees": 310}, acting_user=world.user("park2"))
    membership_add(
        enterprise=world.enterprises["e2"],
        park=world.parks["p1"],
        joined_on=datetime.date(2024, 1, 1),
        left_on=datetime.date(2024, 6, 30),
        acting_user=world.user("ipo_bj"),
    )
    # Recorded licences of a Beijing and a Jiangsu right (before r1 is pledged, so no consent is needed).
    for key, owner, record_no in (("r1", "ent1", "2024110000001"), ("r2", "ent2", "2024320000001")):
        licence_record(
            right=world.rights[key],
            licensee_name="被许可企业",
            licence_kind="ordinary",
            record_no=record_no,
            start_on=datetime.date(2024, 1, 1),
            end_on=datetime.date(2027, 12, 31),
            acting_user=world.user(owner),
        )
    add_pledges(world)
    # A second registration (Jiangsu) and a refused-looking filing, so pledges and findings exist on both sides.
    f2 = world.filings["f2"]
    filing_confirm(filing=f2, acting_user=world.user("ent2"))
    filing_decide(filing=f2, decision=Decision.REGISTER, acting_user=world.user("ipo_js", Role.REVIEWER))
    again = filing_create(
        pledgor=world.enterprises["e2"],
        pledgee=world.orgs["bank2"],
        items=[{"ip_right": world.rights["r2"]}],
        acting_user=world.user("bank2"),
    )
    filing_confirm(filing=again, acting_user=world.user("ent2"))
    beijing = filing_create(
        pledgor=world.enterprises["e1"],
        pledgee=world.orgs["bank1"],
        items=[{"ip_right": world.rights["r1"]}],
        acting_user=world.user("bank1"),
    )
    filing_confirm(filing=beijing, acting_user=world.user("ent1"))
    assert again.findings.exists() and beijing.findings.exists()
    # Legal-status events on both pledged patents, raising alerts to both banks and both enterprises.
    events = (
        "申请号,法律状态代码,法律状态公告日\n"
        f"{world.rights['r1'].number},TR01,{timezone.localdate() + datetime.timedelta(days=1)}\n"
        f"{world.rights['r2'].number},PP01,2024-03-01\n"
    )
    imported = legal_status_import(filename="events.csv", content=events.encode(), acting_user=world.user("cnipa"))
    assert imported.ok and imported.alerts == 4, imported.errors
    add_loans(world)
    add_valuations(world)
    add_compensation(world)
    add_disposal(world)
    add_screening(world)
    add_market(world)
    add_monitoring(world)
    add_portal(world)
    add_integration(world)
    add_national_and_jiangsu_partners(world)
    return world


MODEL_IDS = [m.__name__ for m in ORACLES]


@pytest.mark.parametrize("model", list(ORACLES), ids=MODEL_IDS)
def test_restrict_agrees_with_oracle(matrix_world, model: type[models.Model]) -> None:  # type: ignore[no-untyped-def]
    oracle = ORACLES[model]
    objects = list(model._default_manager.all())
    assert objects or model in INTERNAL_MODELS, f"the world has no {model.__name__} rows, so the matrix proves nothing"
    users = list(User.objects.select_related("organisation", "organisation__region").filter(is_superuser=False))
    disagreements = []
    for user in users:
        for action in Action:
            got = set(model._default_manager.restrict(user, action).values_list("pk", flat=True))
            expected = {o.pk for o in objects if role_allows(user, action) and oracle(user, action, o)}
            if got != expected:
                disagreements.append(
                    f"{user.username} {action}: extra={sorted(map(str, got - expected))} "
                    f"missing={sorted(map(str, expected - got))}"
                )
    assert not disagreements, "\n".join(disagreements[:20])


@pytest.mark.parametrize(
    "model",
    [
        m
        for m in ORACLES
        if m
        not in (
            Region,
            Park,
            CalendarDay,
            LprQuote,
            ValuationModel,
            AuctionSession,
            Lot,
            Scorecard,
            MatchmakingEvent,
            monitoring.AnomalyScan,
            monitoring.KeyParkDesignation,
            *INTERNAL_MODELS,
        )
    ],
    ids=lambda m: m.__name__,
)
def test_other_organisations_are_isolated(matrix_world, model: type[models.Model]) -> None:  # type: ignore[no-untyped-def]
    """The matrix is not vacuous: for every owned model some object is visible to one org and hidden from another."""
    users = list(User.objects.filter(is_superuser=False, role=Role.ADMIN))
    visible_sets = {
        u.username: set(model._default_manager.restrict(u, Action.VIEW).values_list("pk", flat=True)) for u in users
    }
    all_pks = set(model._default_manager.values_list("pk", flat=True))
    assert any(v and v != all_pks for v in visible_sets.values())
    assert any(not v >= all_pks for v in visible_sets.values())
