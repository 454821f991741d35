"""The permission matrix at the edges: every UI route and every API operation × world users × objects.

Each route must be declared below (`UI_ROUTES`, `API_ROUTES`); a route added without a declaration fails
`test_every_ui_route_is_declared` / `test_every_api_operation_is_declared`. For object routes, the response
must be 200 exactly when the object is inside `restrict(user, action)` and 404 (or 403 for a role that may
never do the action) otherwise; list routes must return nothing outside `restrict(user, "view")`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Model, QuerySet
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tables2 import Table

from ipledge.api import api
from ipledge.compensation import models as compensation
from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.models import ApiCall, ApiKey, AuditEvent, Organisation, User
from ipledge.core.scoping import Action, scope_for
from ipledge.core.services import api_key_create
from ipledge.core.synthetic import make_uscc
from ipledge.disposal import models as disposal
from ipledge.integration import models as integration
from ipledge.lending.models import BankNplReport, CreditPlan, Loan, LoanCollateral
from ipledge.market import models as market
from ipledge.monitoring import models as monitoring
from ipledge.portal import models as portal
from ipledge.registration.models import Alert, CalendarDay, FilingDocument, PledgeFiling, PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight, Park
from ipledge.screening import models as screening
from ipledge.valuation.models import ComparableTransaction, RevaluationBatch, Valuation, ValuationBundle
from tests.compensation.factories import add_compensation
from tests.disposal.factories import add_disposal
from tests.integration.factories import add_integration
from tests.lending.factories import add_loans
from tests.market.factories import add_market
from tests.monitoring.factories import add_monitoring
from tests.portal.factories import add_portal
from tests.screening.factories import add_screening
from tests.world import PDF_BYTES, add_valuations

pytestmark = pytest.mark.django_db

MATRIX_ROLES = (Role.ADMIN, Role.OPERATOR, Role.VIEWER)

# name -> (kind, model, action). kinds: public | page | list | create | object | object_post
UI_ROUTES: dict[str, tuple[str, type[Model] | None, str | None]] = {
    "login": ("public", None, None),
    "healthz": ("public", None, None),
    "readyz": ("public", None, None),
    "logout": ("public", None, None),
    "set_language": ("public", None, None),
    "set_language_public": ("public", None, None),
    "dashboard": ("page", None, None),
    "audit_log": ("list", AuditEvent, Action.VIEW),
    "api_keys": ("list", ApiKey, Action.VIEW),
    "api_key_revoke": ("object_post", ApiKey, Action.CHANGE),
    "api_calls": ("list", ApiCall, Action.VIEW),
    "users": ("list", User, Action.VIEW),
    "user_create": ("create", User, Action.ADD),
    # Access hardening (tests/core/test_access_*.py): own account pages, the login's second step, admin security
    "login_verify": ("page", None, None),
    "account": ("page", None, None),
    "account_password": ("page", None, None),
    "account_otp_start": ("page", None, None),
    "account_otp_confirm": ("page", None, None),
    "account_otp_disable": ("page", None, None),
    "account_sessions_end": ("page", None, None),
    "user_security": ("list", User, Action.CHANGE),
    "user_unlock": ("object_post", User, Action.CHANGE),
    "user_sessions_end": ("object_post", User, Action.CHANGE),
    "user_otp_reset": ("object_post", User, Action.CHANGE),
    "registry:park_list": ("list", Park, Action.VIEW),
    "registry:park_create": ("create", Park, Action.ADD),
    "registry:park_detail": ("object", Park, Action.VIEW),
    "registry:park_edit": ("object", Park, Action.CHANGE),
    "registry:enterprise_list": ("list", Enterprise, Action.VIEW),
    "registry:enterprise_create": ("create", Enterprise, Action.ADD),
    "registry:enterprise_detail": ("object", Enterprise, Action.VIEW),
    "registry:enterprise_edit": ("object", Enterprise, Action.CHANGE),
    "registry:ipright_list": ("list", IPRight, Action.VIEW),
    "registry:ipright_create": ("create", IPRight, Action.ADD),
    "registry:ipright_kind_fields": ("page", None, None),
    "registry:ipright_detail": ("object", IPRight, Action.VIEW),
    "registry:ipright_edit": ("object", IPRight, Action.CHANGE),
    "registry:licence_create": ("object", IPRight, Action.CHANGE),
    # The import page checks the acting user's add scope inside the importer (tests/registry/test_importing.py).
    "registry:import": ("page", None, None),
    "registry:import_template": ("page", None, None),
    # Error workbooks are keyed by an unguessable token stored in the requester's own session.
    "registry:import_errors": ("page", None, None),
    # Pledge registration
    "registration:filing_list": ("list", PledgeFiling, Action.VIEW),
    "registration:filing_create": ("create", PledgeFiling, Action.ADD),
    "registration:awaiting_confirmation": ("list", PledgeFiling, Action.VIEW),
    "registration:examination_queue": ("list", PledgeFiling, Action.VIEW),
    "registration:filing_detail": ("object", PledgeFiling, Action.VIEW),
    "registration:filing_confirm": ("object_post", PledgeFiling, Action.CHANGE),
    "registration:filing_withdraw": ("object_post", PledgeFiling, Action.CHANGE),
    "registration:filing_resubmit": ("object_post", PledgeFiling, Action.CHANGE),
    "registration:filing_decide": ("object_post", PledgeFiling, Action.APPROVE),
    "registration:document_upload": ("object_post", PledgeFiling, Action.CHANGE),
    "registration:document_download": ("object", FilingDocument, Action.VIEW),
    "registration:registration_list": ("list", PledgeRegistration, Action.VIEW),
    "registration:registration_detail": ("object", PledgeRegistration, Action.VIEW),
    "registration:registration_cancel": ("object_post", PledgeRegistration, Action.CHANGE),
    "registration:registration_notice": ("object", PledgeRegistration, Action.VIEW),
    "registration:public_query": ("public", None, None),
    # The calendar is public information; only its editing is scoped (checked per user below and in
    # tests/registration/test_calendar.py).
    "registration:calendar": ("page", None, None),
    "registration:calendar_remove": ("object_post", CalendarDay, Action.DELETE),
    "registration:alerts": ("list", Alert, Action.VIEW),
    "registration:alert_read": ("object_post", Alert, Action.CHANGE),
    # Aggregate figures over `restrict()`ed filings (tests/registration/test_monitoring.py checks the scoping).
    "registration:figures": ("page", None, None),
    "registration:registration_change": ("object_post", PledgeRegistration, Action.CHANGE),
    "registration:bulk_filing": ("create", PledgeFiling, Action.ADD),
    "registration:bulk_template": ("create", PledgeFiling, Action.ADD),
    # Keyed by an unguessable token kept in the requester's own session, like the registry import errors.
    "registration:bulk_errors": ("page", None, None),
    # Lending
    "lending:loan_list": ("list", Loan, Action.VIEW),
    # The export is the list's table as xlsx, built from the same restricted queryset (tests/lending).
    "lending:loan_export": ("page", None, None),
    # Banks apply for customers and enterprises for themselves; the services decide (tests/lending).
    "lending:loan_apply": ("page", None, None),
    "lending:credit_plans": ("list", CreditPlan, Action.VIEW),
    "lending:npl_reports": ("list", BankNplReport, Action.VIEW),
    "lending:loan_detail": ("object", Loan, Action.VIEW),
    "lending:loan_schedule_export": ("object", Loan, Action.VIEW),
    "lending:loan_audit": ("object", Loan, Action.VIEW),
    **{
        f"lending:loan_{name}": ("object_post", Loan, action)
        for name, action in {
            "dd_start": Action.CHANGE,
            "dd_record": Action.CHANGE,
            "submit": Action.CHANGE,
            "approve": Action.APPROVE,
            "reject": Action.APPROVE,
            "sign": Action.CHANGE,
            "pledge": Action.CHANGE,
            "disburse": Action.CHANGE,
            "repay": Action.CHANGE,
            "reverse": Action.CHANGE,
            "renew": Action.APPROVE,
            "default": Action.CHANGE,
            "withdraw": Action.CHANGE,
            "cover": Action.CHANGE,
            "investment": Action.CHANGE,
            "collateral": Action.CHANGE,
            "implementation": Action.CHANGE,
            "override": Action.APPROVE,
            "override_clear": Action.APPROVE,
            "flags": Action.CHANGE,
        }.items()
    },
    # Aggregates over restricted frames (tests/lending/test_indicator_views.py checks what each user sees).
    "lending_indicators:dashboard": ("page", None, None),
    # Valuation
    "valuation:list": ("list", Valuation, Action.VIEW),
    "valuation:detail": ("object", Valuation, Action.VIEW),
    "valuation:report": ("object", Valuation, Action.VIEW),
    "valuation:submit": ("object_post", Valuation, Action.CHANGE),
    "valuation:sign_off": ("object_post", Valuation, Action.APPROVE),
    "valuation:right": ("object", IPRight, Action.VIEW),
    # Whoever may value a right they see; the services check each right and the holder (tests/valuation).
    "valuation:bundle_create": ("page", None, None),
    "valuation:bundle_revalue": ("object_post", ValuationBundle, Action.VIEW),
    "valuation:batches": ("list", RevaluationBatch, Action.VIEW),
    "valuation:batch_detail": ("object", RevaluationBatch, Action.VIEW),
    # A bank's own policy page (404 for other kinds; tests/valuation/test_views_valuation.py).
    "valuation:policy": ("page", None, None),
    "valuation:enterprise": ("object", Enterprise, Action.VIEW),
    # The published method and model cards, the same for every user.
    "valuation:model": ("page", None, None),
    # Risk compensation
    "compensation:fund_list": ("list", compensation.Fund, Action.VIEW),
    "compensation:fund_create": ("create", compensation.Fund, Action.ADD),
    "compensation:fund_detail": ("object", compensation.Fund, Action.VIEW),
    "compensation:fund_edit": ("object", compensation.Fund, Action.CHANGE),
    # A party sees the entries touching its own accounts, the books readers all (JournalEntry.scope_q).
    "compensation:fund_ledger": ("object", compensation.Fund, Action.VIEW),
    "compensation:contribution_record": ("object_post", compensation.Fund, Action.CHANGE),
    # Fetched in view scope; the service admits the books readers only (403 for the others).
    "compensation:stress_request": ("object_post", compensation.Fund, Action.VIEW),
    "compensation:stress_run_detail": ("object", compensation.StressRun, Action.VIEW),
    "compensation:scheme_create": ("object", compensation.Fund, Action.ADD),
    "compensation:version_create": ("object", compensation.Scheme, Action.CHANGE),
    "compensation:version_submit": ("object_post", compensation.SchemeVersion, Action.CHANGE),
    "compensation:version_approve": ("object_post", compensation.SchemeVersion, Action.APPROVE),
    "compensation:version_reject": ("object_post", compensation.SchemeVersion, Action.APPROVE),
    # Entries are only ever read through restrict(); the service lets the fund's reviewers reverse (403 otherwise).
    "compensation:entry_reverse": ("object_post", compensation.JournalEntry, Action.VIEW),
    "compensation:enrolment_list": ("list", compensation.Enrolment, Action.VIEW),
    # Banks enrol their own loans (404 for other kinds); the service checks the loan (tests/compensation).
    "compensation:enrolment_create": ("page", None, None),
    "compensation:enrolment_detail": ("object", compensation.Enrolment, Action.VIEW),
    "compensation:enrolment_claim": ("object_post", compensation.Enrolment, Action.CHANGE),
    "compensation:enrolment_release": ("object_post", compensation.Enrolment, Action.CHANGE),
    "compensation:claim_list": ("list", compensation.Claim, Action.VIEW),
    "compensation:claim_detail": ("object", compensation.Claim, Action.VIEW),
    **{
        f"compensation:claim_{name}": ("object_post", compensation.Claim, action)
        for name, action in {
            "review": Action.CHANGE,
            "approve": Action.APPROVE,
            "reject": Action.CHANGE,
            "withdraw": Action.CHANGE,
            "recovery": Action.CHANGE,
            "clear": Action.CHANGE,
        }.items()
    },
    "compensation:payment_list": ("list", compensation.Payment, Action.VIEW),
    "compensation:payment_pay": ("object_post", compensation.Payment, Action.CHANGE),
    # Collateral disposal (the flow through the pages is followed in tests/disposal/test_views_disposal.py)
    "disposal:case_list": ("list", disposal.DisposalCase, Action.VIEW),
    # Banks open cases on their own defaulted loans (404 for other kinds); the service checks the loan.
    "disposal:open": ("create", disposal.DisposalCase, Action.ADD),
    "disposal:case_detail": ("object", disposal.DisposalCase, Action.VIEW),
    **{
        f"disposal:case_{name}": ("object_post", disposal.DisposalCase, action)
        for name, action in {
            "revalue": Action.CHANGE,
            "propose": Action.CHANGE,
            "approve": Action.APPROVE,
            "sale": Action.CHANGE,
            # Fetched in view scope: the platform running the sale or the bank confirms (the service decides, 403).
            "pay": Action.VIEW,
            "transfer": Action.CHANGE,
            "distribute": Action.CHANGE,
            "licence": Action.CHANGE,
            "close": Action.CHANGE,
        }.items()
    },
    # Auction listings are open to every signed-in organisation; platforms run their own sessions.
    "disposal:session_list": ("list", disposal.AuctionSession, Action.VIEW),
    "disposal:session_create": ("create", disposal.AuctionSession, Action.ADD),
    "disposal:session_detail": ("object", disposal.AuctionSession, Action.VIEW),
    "disposal:lot_create": ("object", disposal.AuctionSession, Action.CHANGE),
    "disposal:lot_detail": ("object", disposal.Lot, Action.VIEW),
    # Any organisation may sign up and bid on a lot it sees; the service refuses the pledgee and the pledgor.
    "disposal:lot_register": ("object_post", disposal.Lot, Action.VIEW),
    "disposal:lot_bid": ("object_post", disposal.Lot, Action.VIEW),
    "disposal:lot_close": ("object_post", disposal.Lot, Action.CHANGE),
    "disposal:registration_deposit": ("object_post", disposal.BidderRegistration, Action.CHANGE),
    # The public auction listing (拍卖公示): public fields only, no bidder.
    "disposal:public_auctions": ("public", None, None),
    # Credit screening (授信白名单): records and imports (tests/screening/test_records_*.py follow the flows)
    "screening:record_list": ("list", screening.CreditRecord, Action.VIEW),
    "screening:record_detail": ("object", screening.CreditRecord, Action.VIEW),
    "screening:record_confirm": ("object_post", screening.CreditRecord, Action.CHANGE),
    "screening:record_reject": ("object_post", screening.CreditRecord, Action.CHANGE),
    "screening:import_list": ("list", screening.CreditImport, Action.VIEW),
    "screening:import_create": ("create", screening.CreditImport, Action.ADD),
    "screening:import_detail": ("object", screening.CreditImport, Action.VIEW),
    # The pending records the user may review: a subset of the visible ones (404 for those who cannot review).
    "screening:review_queue": ("list", screening.CreditRecord, Action.VIEW),
    # Criteria, whitelists, versions, applications (tests/screening/test_whitelists_*.py)
    "screening:criteria_list": ("list", screening.Criteria, Action.VIEW),
    "screening:criteria_create": ("create", screening.Criteria, Action.ADD),
    "screening:criteria_detail": ("object", screening.Criteria, Action.VIEW),
    "screening:criteria_edit": ("object", screening.Criteria, Action.CHANGE),
    "screening:criteria_publish": ("object_post", screening.Criteria, Action.CHANGE),
    "screening:whitelist_list": ("list", screening.Whitelist, Action.VIEW),
    "screening:screen_park": ("create", screening.Whitelist, Action.ADD),
    "screening:whitelist_detail": ("object", screening.Whitelist, Action.VIEW),
    "screening:whitelist_screen": ("object_post", screening.Whitelist, Action.CHANGE),
    "screening:version_detail": ("object", screening.WhitelistVersion, Action.VIEW),
    "screening:version_submit": ("object_post", screening.WhitelistVersion, Action.CHANGE),
    "screening:version_approve": ("object_post", screening.WhitelistVersion, Action.APPROVE),
    "screening:version_return": ("object_post", screening.WhitelistVersion, Action.APPROVE),
    "screening:entry_override": ("object_post", screening.WhitelistEntry, Action.CHANGE),
    "screening:application_list": ("list", screening.WhitelistApplication, Action.VIEW),
    "screening:application_create": ("create", screening.WhitelistApplication, Action.ADD),
    "screening:application_withdraw": ("object_post", screening.WhitelistApplication, Action.CHANGE),
    # An enterprise's own entries (404 for other kinds of organisation)
    "screening:my_status": ("list", screening.WhitelistEntry, Action.VIEW),
    # Scorecards (tests/screening/test_scorecards_*.py); training is a POST-only form action
    "screening:scorecard_list": ("list", screening.Scorecard, Action.VIEW),
    "screening:scorecard_detail": ("object", screening.Scorecard, Action.VIEW),
    "screening:scorecard_train": ("page", None, None),
    "screening:scorecard_activate": ("object_post", screening.Scorecard, Action.APPROVE),
    "screening:scorecard_deactivate": ("object_post", screening.Scorecard, Action.APPROVE),
    "screening:enterprise_score": ("object", Enterprise, Action.VIEW),
    # Banks: the delivered list, subscriptions, decisions, park intended credit lines (tests/screening/test_banking_*)
    "screening:bank_whitelist": ("list", screening.WhitelistEntry, Action.VIEW),
    "screening:bank_export": ("page", None, None),
    "screening:subscription_list": ("list", screening.Subscription, Action.VIEW),
    "screening:subscription_create": ("create", screening.Subscription, Action.ADD),
    "screening:subscription_cancel": ("object_post", screening.Subscription, Action.CHANGE),
    "screening:decision_list": ("list", screening.CreditDecision, Action.VIEW),
    "screening:decision_create": ("object", screening.WhitelistEntry, Action.VIEW),
    "screening:line_list": ("list", screening.IntendedCreditLine, Action.VIEW),
    "screening:line_create": ("create", screening.IntendedCreditLine, Action.ADD),
    "screening:line_detail": ("object", screening.IntendedCreditLine, Action.VIEW),
    # The park allocates on a line it may only read; the service refuses everyone else (403).
    "screening:line_allocate": ("object_post", screening.IntendedCreditLine, Action.VIEW),
    "screening:line_withdraw": ("object_post", screening.IntendedCreditLine, Action.CHANGE),
    "screening:allocation_release": ("object_post", screening.LineAllocation, Action.CHANGE),
    # Market: products (tests/market/test_products_*.py follow the flows)
    "market:product_list": ("list", market.Product, Action.VIEW),
    "market:product_create": ("create", market.Product, Action.ADD),
    "market:product_approvals": ("list", market.ProductVersion, Action.VIEW),
    "market:product_import": ("create", market.Product, Action.ADD),
    "market:product_import_template": ("page", None, None),
    "market:product_detail": ("object", market.Product, Action.VIEW),
    "market:product_version_new": ("object", market.Product, Action.CHANGE),
    "market:product_withdraw": ("object_post", market.Product, Action.CHANGE),
    # Only a draft is edited; a decided version redirects to its product (tests/market/test_products_views.py).
    "market:product_version_edit": ("page", None, None),
    "market:product_version_submit": ("object_post", market.ProductVersion, Action.CHANGE),
    "market:product_version_approve": ("object_post", market.ProductVersion, Action.APPROVE),
    "market:product_version_reject": ("object_post", market.ProductVersion, Action.APPROVE),
    # Demands and leads (tests/market/test_demands_*.py, test_leads_*.py)
    "market:demand_list": ("list", market.Demand, Action.VIEW),
    "market:demand_create": ("create", market.Demand, Action.ADD),
    "market:demand_rights": ("page", None, None),
    "market:demand_detail": ("object", market.Demand, Action.VIEW),
    "market:demand_edit": ("object", market.Demand, Action.CHANGE),
    "market:demand_withdraw": ("object_post", market.Demand, Action.CHANGE),
    "market:demand_link_loan": ("object", market.Demand, Action.CHANGE),
    "market:demand_shares": ("object", market.Demand, Action.CHANGE),
    "market:demand_rematch": ("object_post", market.Demand, Action.CHANGE),
    "market:lead_list": ("list", market.Match, Action.VIEW),
    "market:lead_detail": ("object", market.Match, Action.VIEW),
    "market:park_unmet": ("list", market.Demand, Action.VIEW),
    # Surveys (tests/market/test_surveys_*.py)
    "market:survey_list": ("list", market.SurveyCampaign, Action.VIEW),
    "market:survey_create": ("create", market.SurveyCampaign, Action.ADD),
    # 我的调查 lists the user's own organisation's targets (tests/market/test_surveys_views.py).
    "market:survey_mine": ("page", None, None),
    "market:survey_detail": ("object", market.SurveyCampaign, Action.VIEW),
    "market:survey_edit": ("object", market.SurveyCampaign, Action.CHANGE),
    "market:survey_delete": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_question_add": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_question_edit": ("object", market.SurveyQuestion, Action.CHANGE),
    "market:survey_question_delete": ("object_post", market.SurveyQuestion, Action.CHANGE),
    "market:survey_question_move": ("object_post", market.SurveyQuestion, Action.CHANGE),
    "market:survey_targets": ("object", market.SurveyCampaign, Action.VIEW),
    "market:survey_target_remove": ("object_post", market.SurveyTarget, Action.CHANGE),
    "market:survey_publish": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_remind": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_close": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_repeat": ("object_post", market.SurveyCampaign, Action.CHANGE),
    "market:survey_results": ("object", market.SurveyCampaign, Action.VIEW),
    "market:survey_export": ("object", market.SurveyCampaign, Action.VIEW),
    "market:survey_respond": ("object", market.SurveyCampaign, Action.VIEW),
    "market:survey_response_detail": ("object", market.SurveyResponse, Action.VIEW),
    # Matchmaking events (tests/market/test_events_*.py); meeting routes carry two keys and are followed there
    "market:event_list": ("list", market.MatchmakingEvent, Action.VIEW),
    "market:event_create": ("create", market.MatchmakingEvent, Action.ADD),
    "market:event_detail": ("object", market.MatchmakingEvent, Action.VIEW),
    "market:event_edit": ("object", market.MatchmakingEvent, Action.CHANGE),
    "market:event_cancel": ("object_post", market.MatchmakingEvent, Action.CHANGE),
    "market:event_mark_held": ("object_post", market.MatchmakingEvent, Action.CHANGE),
    "market:event_register_bank": ("object_post", market.MatchmakingEvent, Action.VIEW),
    "market:event_register_enterprise": ("object_post", market.MatchmakingEvent, Action.VIEW),
    "market:event_participant_withdraw": ("page", None, None),
    "market:event_schedule": ("object", market.MatchmakingEvent, Action.VIEW),
    "market:event_propose": ("object_post", market.MatchmakingEvent, Action.CHANGE),
    "market:event_meeting_add": ("object_post", market.MatchmakingEvent, Action.CHANGE),
    "market:event_meeting_cancel": ("page", None, None),
    "market:event_meeting_outcome": ("page", None, None),
    "market:event_report": ("object", market.MatchmakingEvent, Action.VIEW),
    "market:event_export": ("object", market.MatchmakingEvent, Action.VIEW),
    # Monitoring (行动监测). The targets pages read figures, not rows: the park page's reach is in OBJECT_SCOPES.
    "monitoring:targets": ("page", None, None),
    "monitoring:targets_province": ("page", None, None),
    "monitoring:targets_park": ("object", Park, Action.VIEW),
    "monitoring:findings": ("list", monitoring.Finding, Action.VIEW),
    "monitoring:finding_detail": ("object", monitoring.Finding, Action.VIEW),
    "monitoring:finding_assign": ("object_post", monitoring.Finding, Action.CHANGE),
    "monitoring:finding_start": ("object_post", monitoring.Finding, Action.CHANGE),
    "monitoring:finding_note": ("object_post", monitoring.Finding, Action.CHANGE),
    "monitoring:finding_decide": ("object_post", monitoring.Finding, Action.APPROVE),
    "monitoring:scans": ("list", monitoring.AnomalyScan, Action.VIEW),
    "monitoring:bulletins": ("list", monitoring.Bulletin, Action.VIEW),
    "monitoring:bulletin_create": ("create", monitoring.Bulletin, Action.ADD),
    "monitoring:bulletin_detail": ("object", monitoring.Bulletin, Action.VIEW),
    "monitoring:plans": ("list", monitoring.ProvincialPlan, Action.VIEW),
    "monitoring:plan_create": ("create", monitoring.ProvincialPlan, Action.ADD),
    "monitoring:plan_detail": ("object", monitoring.ProvincialPlan, Action.VIEW),
    "monitoring:plan_edit": ("object", monitoring.ProvincialPlan, Action.CHANGE),
    "monitoring:plan_issue": ("object_post", monitoring.ProvincialPlan, Action.CHANGE),
    "monitoring:plan_submit": ("object_post", monitoring.ProvincialPlan, Action.CHANGE),
    "monitoring:plan_ledger_xlsx": ("object", monitoring.ProvincialPlan, Action.VIEW),
    "monitoring:task_create": ("object", monitoring.ProvincialPlan, Action.CHANGE),
    "monitoring:task_edit": ("object", monitoring.PlanTask, Action.CHANGE),
    "monitoring:task_move": ("object_post", monitoring.PlanTask, Action.CHANGE),
    "monitoring:task_evidence": ("page", None, None),
    "monitoring:reminders": ("list", monitoring.Reminder, Action.VIEW),
    "monitoring:key_parks": ("list", monitoring.KeyParkDesignation, Action.VIEW),
    "monitoring:designation_create": ("create", monitoring.KeyParkDesignation, Action.ADD),
    "monitoring:designation_revoke": ("object_post", monitoring.KeyParkDesignation, Action.CHANGE),
    "monitoring:impact": ("page", None, None),
    "monitoring:financials": ("list", monitoring.EnterpriseFinancials, Action.VIEW),
    "monitoring:financials_create": ("create", monitoring.EnterpriseFinancials, Action.ADD),
    "monitoring:financials_edit": ("object", monitoring.EnterpriseFinancials, Action.CHANGE),
    "monitoring:measures": ("list", monitoring.MeasureEntry, Action.VIEW),
    "monitoring:measure_create": ("create", monitoring.MeasureEntry, Action.ADD),
    "monitoring:measure_detail": ("object", monitoring.MeasureEntry, Action.VIEW),
    "monitoring:measure_edit": ("object", monitoring.MeasureEntry, Action.CHANGE),
    "monitoring:measure_delete": ("object_post", monitoring.MeasureEntry, Action.DELETE),
    "monitoring:reports": ("list", monitoring.GeneratedReport, Action.VIEW),
    "monitoring:report_create": ("create", monitoring.GeneratedReport, Action.ADD),
    "monitoring:report_detail": ("object", monitoring.GeneratedReport, Action.VIEW),
    "monitoring:report_download": ("object", monitoring.GeneratedReport, Action.VIEW),
    "monitoring:cases": ("list", monitoring.TypicalCase, Action.VIEW),
    "monitoring:case_create": ("create", monitoring.TypicalCase, Action.ADD),
    "monitoring:case_selection": ("page", None, None),
    "monitoring:case_detail": ("object", monitoring.TypicalCase, Action.VIEW),
    "monitoring:case_edit": ("object", monitoring.TypicalCase, Action.CHANGE),
    "monitoring:case_withdraw": ("object_post", monitoring.TypicalCase, Action.CHANGE),
    "monitoring:case_review_open": ("object_post", monitoring.TypicalCase, Action.APPROVE),
    "monitoring:case_review": ("object_post", monitoring.TypicalCase, Action.APPROVE),
    "monitoring:case_decide": ("object_post", monitoring.TypicalCase, Action.APPROVE),
    "monitoring:case_publish": ("object_post", monitoring.TypicalCase, Action.APPROVE),
    # The public showcase (成效展示): published cases and public measures only, checked in tests/monitoring.
    "showcase:index": ("public", None, None),
    "showcase:park": ("public", None, None),
    "showcase:case": ("public", None, None),
    # The public portal (公共服务门户, no login): published policies, live products and the public FAQ only,
    # checked in tests/portal; the 信易贷 receiver authenticates each request by its HMAC signature.
    "portal:home": ("public", None, None),
    "portal:product_list": ("public", None, None),
    "portal:product_detail": ("public", None, None),
    "portal:policy_list": ("public", None, None),
    "portal:policy_detail": ("public", None, None),
    "portal:policy_for_me": ("public", None, None),
    "portal:policy_attachment": ("public", None, None),
    "portal:faq": ("public", None, None),
    "exchange:messages": ("public", None, None),
    "exchange:ping": ("public", None, None),
    "portal:policy_manage": ("page", None, None),
    "portal:policy_create": ("create", portal.Policy, Action.ADD),
    "portal:policy_edit": ("object", portal.Policy, Action.CHANGE),
    "portal:policy_publish": ("object_post", portal.Policy, Action.CHANGE),
    "portal:policy_withdraw": ("object_post", portal.Policy, Action.CHANGE),
    "portal:policy_attachment_add": ("object_post", portal.Policy, Action.CHANGE),
    "portal:policy_attachment_remove": ("page", None, None),
    "portal:consultation_list": ("page", None, None),
    "portal:consultation_create": ("create", portal.Consultation, Action.ADD),
    "portal:consultation_detail": ("object", portal.Consultation, Action.VIEW),
    "portal:consultation_answer": ("object_post", portal.Consultation, Action.CHANGE),
    "portal:consultation_publish": ("object_post", portal.Consultation, Action.CHANGE),
    "portal:consultation_close": ("object_post", portal.Consultation, Action.CHANGE),
    # A park's one-stop service centre opens to its member enterprises, its staff and the region's officials
    # (tests/portal/test_service_centre.py), not to everyone who may view the park.
    "portal:service_centre": ("page", None, None),
    "portal:my_service_centre": ("page", None, None),
    "portal:service_queue": ("page", None, None),
    "portal:service_request_accept": ("object_post", portal.ServiceRequest, Action.CHANGE),
    "portal:service_request_complete": ("object_post", portal.ServiceRequest, Action.CHANGE),
    "portal:service_request_reject": ("object_post", portal.ServiceRequest, Action.CHANGE),
    # The exchange's operator pages answer 403 to every organisation (tests/integration/test_exchange_views.py).
    "integration:partner_list": ("page", None, None),
    "integration:partner_create": ("page", None, None),
    "integration:partner_edit": ("object", integration.ExchangePartner, Action.CHANGE),
    "integration:partner_rotate_secret": ("object_post", integration.ExchangePartner, Action.CHANGE),
    "integration:partner_sync": ("object_post", integration.ExchangePartner, Action.CHANGE),
    "integration:outbound_list": ("page", None, None),
    "integration:outbound_detail": ("object", integration.OutboundMessage, Action.VIEW),
    "integration:outbound_requeue": ("object_post", integration.OutboundMessage, Action.CHANGE),
    "integration:inbound_list": ("page", None, None),
    "integration:inbound_detail": ("object", integration.InboundMessage, Action.VIEW),
    "integration:consent": ("page", None, None),
    "integration:consent_grant": ("page", None, None),
    "integration:consent_revoke": ("page", None, None),
    "integration:credit_reports": ("page", None, None),
    "integration:bulk_index": ("page", None, None),
    "integration:bulk_export": ("page", None, None),
    "integration:bulk_template": ("page", None, None),
    "integration:bulk_import": ("page", None, None),
    "integration:bulk_transfer_detail": ("object", integration.BulkTransfer, Action.VIEW),
}

# (method, path) -> (kind, model, action). kinds: open | list | object | create | key_revoke | fallback
API_ROUTES: dict[tuple[str, str], tuple[str, type[Model] | None, str | None]] = {
    ("GET", "/me"): ("open", None, None),
    ("GET", "/regions"): ("open", None, None),
    ("GET", "/validate/{kind}"): ("open", None, None),
    ("GET", "/organisations"): ("list", Organisation, Action.VIEW),
    ("GET", "/organisations/{organisation_id}"): ("object", Organisation, Action.VIEW),
    ("GET", "/audit-events"): ("list", AuditEvent, Action.VIEW),
    ("GET", "/api-keys"): ("list", ApiKey, Action.VIEW),
    ("POST", "/api-keys"): ("create", ApiKey, Action.ADD),
    ("POST", "/api-keys/{key_id}/revoke"): ("object", ApiKey, Action.CHANGE),
    ("GET", "/api-calls"): ("list", ApiCall, Action.VIEW),
    ("GET", "/parks"): ("list", Park, Action.VIEW),
    ("POST", "/parks"): ("create", Park, Action.ADD),
    ("GET", "/parks/{park_id}"): ("object", Park, Action.VIEW),
    ("PATCH", "/parks/{park_id}"): ("object", Park, Action.CHANGE),
    ("GET", "/enterprises"): ("list", Enterprise, Action.VIEW),
    ("POST", "/enterprises"): ("create", Enterprise, Action.ADD),
    ("GET", "/enterprises/{enterprise_id}"): ("object", Enterprise, Action.VIEW),
    ("PATCH", "/enterprises/{enterprise_id}"): ("object", Enterprise, Action.CHANGE),
    ("GET", "/ip-rights"): ("list", IPRight, Action.VIEW),
    ("POST", "/ip-rights"): ("create", IPRight, Action.ADD),
    ("GET", "/ip-rights/{right_id}"): ("object", IPRight, Action.VIEW),
    ("PATCH", "/ip-rights/{right_id}"): ("object", IPRight, Action.CHANGE),
    # Licences of a right are reached through the right: 404 outside its view/change scope.
    ("GET", "/ip-rights/{right_id}/licences"): ("object", IPRight, Action.VIEW),
    ("POST", "/ip-rights/{right_id}/licences"): ("object", IPRight, Action.CHANGE),
    ("POST", "/ip-rights/{right_id}/transfer"): ("object", IPRight, Action.CHANGE),
    ("GET", "/{path:rest}"): ("fallback", None, None),
    # Pledge registration
    ("GET", "/pledge-filings"): ("list", PledgeFiling, Action.VIEW),
    ("POST", "/pledge-filings"): ("create", PledgeFiling, Action.ADD),
    ("GET", "/pledge-filings/bulk/template"): ("open", None, None),
    ("POST", "/pledge-filings/bulk"): ("create", PledgeFiling, Action.ADD),
    ("GET", "/pledge-filings/{filing_id}"): ("object", PledgeFiling, Action.VIEW),
    ("POST", "/pledge-filings/{filing_id}/confirm"): ("object", PledgeFiling, Action.CHANGE),
    ("POST", "/pledge-filings/{filing_id}/withdraw"): ("object", PledgeFiling, Action.CHANGE),
    ("POST", "/pledge-filings/{filing_id}/resubmit"): ("object", PledgeFiling, Action.CHANGE),
    ("POST", "/pledge-filings/{filing_id}/decision"): ("object", PledgeFiling, Action.APPROVE),
    ("POST", "/pledge-filings/{filing_id}/documents"): ("object_multipart", PledgeFiling, Action.CHANGE),
    ("GET", "/pledge-filings/{filing_id}/documents/{document_id}"): ("document", FilingDocument, Action.VIEW),
    ("GET", "/pledge-registrations"): ("list", PledgeRegistration, Action.VIEW),
    ("GET", "/pledge-registrations/{registration_id}"): ("object", PledgeRegistration, Action.VIEW),
    ("POST", "/pledge-registrations/{registration_id}/cancellation"): ("object", PledgeRegistration, Action.CHANGE),
    ("GET", "/pledge-registrations/{registration_id}/notice.docx"): ("object", PledgeRegistration, Action.VIEW),
    ("GET", "/public/pledges"): ("public", None, None),
    ("POST", "/pledge-registrations/{registration_id}/changes"): ("object", PledgeRegistration, Action.CHANGE),
    # Lending
    ("GET", "/loans"): ("list", Loan, Action.VIEW),
    ("POST", "/loans"): ("create", Loan, Action.ADD),
    ("GET", "/loans/{loan_id}"): ("object", Loan, Action.VIEW),
    **{
        ("POST", f"/loans/{{loan_id}}/{tail}"): ("object", Loan, action)
        for tail, action in {
            "withdraw": Action.CHANGE,
            "due-diligence": Action.CHANGE,
            "due-diligence/{item}": Action.CHANGE,
            "submit": Action.CHANGE,
            "approve": Action.APPROVE,
            "reject": Action.APPROVE,
            "contract": Action.CHANGE,
            "pledge": Action.CHANGE,
            "disburse": Action.CHANGE,
            "repay": Action.CHANGE,
            "renew": Action.APPROVE,
            "default": Action.CHANGE,
            "covers": Action.CHANGE,
            "investments": Action.CHANGE,
            "collateral": Action.CHANGE,
            "classification": Action.APPROVE,
            "classification/clear": Action.APPROVE,
            "risk-flags": Action.CHANGE,
            "transactions/{transaction_id}/reverse": Action.CHANGE,
        }.items()
    },
    ("POST", "/collateral/{collateral_id}/implementation"): ("object", LoanCollateral, Action.CHANGE),
    ("GET", "/lending/credit-plans"): ("list", CreditPlan, Action.VIEW),
    ("POST", "/lending/credit-plans"): ("create", CreditPlan, Action.ADD),
    ("GET", "/lending/npl-reports"): ("list", BankNplReport, Action.VIEW),
    ("POST", "/lending/npl-reports"): ("create", BankNplReport, Action.ADD),
    ("GET", "/lending/lpr"): ("open", None, None),
    # Aggregates over restricted frames (tests/lending/test_indicator_views.py checks what each user sees).
    ("GET", "/lending/indicators"): ("open", None, None),
    # Valuation: creating one checks the right (or every right of a bundle) within the caller's view scope.
    ("POST", "/valuations"): ("create", Valuation, Action.ADD),
    ("POST", "/valuations/bundle"): ("create", Valuation, Action.ADD),
    ("GET", "/valuations"): ("list", Valuation, Action.VIEW),
    ("GET", "/valuations/{valuation_id}"): ("object", Valuation, Action.VIEW),
    ("GET", "/valuations/{valuation_id}/report.docx"): ("object", Valuation, Action.VIEW),
    ("POST", "/valuations/{valuation_id}/submit"): ("object", Valuation, Action.CHANGE),
    ("POST", "/valuations/{valuation_id}/sign-off"): ("object", Valuation, Action.APPROVE),
    # The caller's own bank's policy (403 for other kinds; tests/valuation/test_api_valuation.py).
    ("GET", "/valuation/pledge-policy"): ("open", None, None),
    ("PUT", "/valuation/pledge-policy"): ("open", None, None),
    ("GET", "/valuation/comparables"): ("list", ComparableTransaction, Action.VIEW),
    ("POST", "/valuation/comparables"): ("create", ComparableTransaction, Action.ADD),
    ("GET", "/enterprises/{enterprise_id}/innovation-scores"): ("object", Enterprise, Action.VIEW),
    ("POST", "/enterprises/{enterprise_id}/innovation-scores"): ("object", Enterprise, Action.VIEW),
    ("POST", "/valuation/batches"): ("create", RevaluationBatch, Action.ADD),
    ("GET", "/valuation/batches/{batch_id}"): ("object", RevaluationBatch, Action.VIEW),
    # Model cards are published to every signed-in user.
    ("GET", "/valuation/models"): ("open", None, None),
    # Risk compensation (the money is followed in tests/compensation/test_api_compensation.py; here, the scoping).
    ("GET", "/compensation/funds"): ("list", compensation.Fund, Action.VIEW),
    ("POST", "/compensation/funds"): ("create", compensation.Fund, Action.ADD),
    ("GET", "/compensation/funds/{fund_id}"): ("object", compensation.Fund, Action.VIEW),
    ("PATCH", "/compensation/funds/{fund_id}"): ("object", compensation.Fund, Action.CHANGE),
    # A fund's books are read by its manager, sponsors and supervisors; the banks and other sharing parties that
    # see the fund get 403 (checked user by user in tests/compensation/test_api_compensation.py).
    ("GET", "/compensation/funds/{fund_id}/figures"): ("open", None, None),
    ("POST", "/compensation/funds/{fund_id}/contributions"): ("object", compensation.Fund, Action.CHANGE),
    # Runs are listed within restrict(); requesting one is for the books readers (the service decides, 403).
    ("GET", "/compensation/funds/{fund_id}/stress-runs"): ("object", compensation.Fund, Action.VIEW),
    ("POST", "/compensation/funds/{fund_id}/stress-runs"): ("object", compensation.Fund, Action.VIEW),
    ("GET", "/compensation/stress-runs/{run_id}"): ("object", compensation.StressRun, Action.VIEW),
    ("POST", "/compensation/schemes"): ("create", compensation.Scheme, Action.ADD),
    ("GET", "/compensation/scheme-versions"): ("list", compensation.SchemeVersion, Action.VIEW),
    ("POST", "/compensation/scheme-versions"): ("create", compensation.SchemeVersion, Action.ADD),
    **{
        ("POST", f"/compensation/scheme-versions/{{version_id}}/{tail}"): ("object", compensation.SchemeVersion, action)
        for tail, action in {"submit": Action.CHANGE, "approve": Action.APPROVE, "reject": Action.APPROVE}.items()
    },
    ("GET", "/compensation/enrolments"): ("list", compensation.Enrolment, Action.VIEW),
    ("POST", "/compensation/enrolments"): ("create", compensation.Enrolment, Action.ADD),
    ("POST", "/compensation/enrolments/{enrolment_id}/release"): ("object", compensation.Enrolment, Action.CHANGE),
    ("GET", "/compensation/claims"): ("list", compensation.Claim, Action.VIEW),
    ("POST", "/compensation/claims"): ("create", compensation.Claim, Action.ADD),
    ("GET", "/compensation/claims/{claim_id}"): ("object", compensation.Claim, Action.VIEW),
    ("GET", "/compensation/claims/{claim_id}/advance-preview"): ("object", compensation.Claim, Action.VIEW),
    **{
        ("POST", f"/compensation/claims/{{claim_id}}/{tail}"): ("object", compensation.Claim, action)
        for tail, action in {
            "review": Action.CHANGE,
            "approve": Action.APPROVE,
            "reject": Action.CHANGE,
            "withdraw": Action.CHANGE,
            "clear": Action.CHANGE,
            "recoveries": Action.CHANGE,
        }.items()
    },
    ("GET", "/compensation/payments"): ("list", compensation.Payment, Action.VIEW),
    ("POST", "/compensation/payments/{payment_id}/paid"): ("object", compensation.Payment, Action.CHANGE),
    ("GET", "/compensation/entries"): ("list", compensation.JournalEntry, Action.VIEW),
    # Entries are never changed, only reversed by the fund's reviewer (the service decides, 403); outside the
    # caller's view an entry answers 404.
    ("POST", "/compensation/entries/{entry_id}/reverse"): ("object", compensation.JournalEntry, Action.VIEW),
    ("GET", "/compensation/alerts"): ("list", compensation.FundAlert, Action.VIEW),
    # Collateral disposal (the flow is followed in tests/disposal/test_api_disposal.py; here, the scoping).
    ("GET", "/disposal/cases"): ("list", disposal.DisposalCase, Action.VIEW),
    ("POST", "/disposal/cases"): ("create", disposal.DisposalCase, Action.ADD),
    ("GET", "/disposal/cases/{case_id}"): ("object", disposal.DisposalCase, Action.VIEW),
    **{
        ("POST", f"/disposal/cases/{{case_id}}/{tail}"): ("object", disposal.DisposalCase, action)
        for tail, action in {
            "revalue": Action.CHANGE,
            "route": Action.CHANGE,
            "approve-route": Action.APPROVE,
            "sale": Action.CHANGE,
            # The platform selling the case confirms the payment too (the service decides, 403); outside the
            # caller's view a case answers 404.
            "payment": Action.VIEW,
            "transfer": Action.CHANGE,
            "distribute": Action.CHANGE,
            "licence-income": Action.CHANGE,
            "close": Action.CHANGE,
        }.items()
    },
    # Sessions and lots are public listings; the platform's tree runs them.
    ("GET", "/disposal/sessions"): ("list", disposal.AuctionSession, Action.VIEW),
    ("POST", "/disposal/sessions"): ("create", disposal.AuctionSession, Action.ADD),
    ("GET", "/disposal/sessions/{session_id}"): ("object", disposal.AuctionSession, Action.VIEW),
    ("POST", "/disposal/sessions/{session_id}/lots"): ("object", disposal.AuctionSession, Action.CHANGE),
    ("GET", "/disposal/lots/{lot_id}"): ("object", disposal.Lot, Action.VIEW),
    # Any organisation may sign up and bid on a listed lot; the services refuse the pledgor, the pledgee, roles
    # that cannot add and bidders without a paid deposit (tests/disposal/test_api_disposal.py).
    ("POST", "/disposal/lots/{lot_id}/register"): ("object", disposal.Lot, Action.VIEW),
    ("POST", "/disposal/lots/{lot_id}/bids"): ("object", disposal.Lot, Action.VIEW),
    ("POST", "/disposal/lots/{lot_id}/close"): ("object", disposal.Lot, Action.CHANGE),
    ("GET", "/disposal/bidders"): ("list", disposal.BidderRegistration, Action.VIEW),
    # A bidder may change its own registration, but only the session's platform confirms the deposit (403).
    ("POST", "/disposal/bidders/{registration_id}/deposit"): ("object", disposal.BidderRegistration, Action.CHANGE),
    # Sales of the cases the caller sees (no ids of their own; tests/disposal/test_api_disposal.py checks them).
    ("GET", "/disposal/history"): ("open", None, None),
    # Credit screening: records. The import takes a multipart file (flows in tests/screening/test_records_api.py);
    # the review queue lists only the pending records the caller may review.
    ("POST", "/screening/credit-imports"): ("open", None, None),
    ("GET", "/screening/credit-imports"): ("list", screening.CreditImport, Action.VIEW),
    ("GET", "/screening/credit-imports/{import_id}"): ("object", screening.CreditImport, Action.VIEW),
    ("GET", "/screening/credit-records"): ("list", screening.CreditRecord, Action.VIEW),
    ("GET", "/screening/credit-records/{record_id}"): ("object", screening.CreditRecord, Action.VIEW),
    ("POST", "/screening/credit-records/{record_id}/confirm-match"): ("object", screening.CreditRecord, Action.CHANGE),
    ("POST", "/screening/credit-records/{record_id}/reject-match"): ("object", screening.CreditRecord, Action.CHANGE),
    ("GET", "/screening/match-reviews"): ("open", None, None),
    # Criteria, whitelists, versions, applications
    ("GET", "/screening/criteria"): ("list", screening.Criteria, Action.VIEW),
    ("POST", "/screening/criteria"): ("create", screening.Criteria, Action.ADD),
    ("GET", "/screening/criteria/{criteria_id}"): ("object", screening.Criteria, Action.VIEW),
    ("PATCH", "/screening/criteria/{criteria_id}"): ("object", screening.Criteria, Action.CHANGE),
    ("POST", "/screening/criteria/{criteria_id}/publish"): ("object", screening.Criteria, Action.CHANGE),
    ("GET", "/screening/whitelists"): ("list", screening.Whitelist, Action.VIEW),
    ("POST", "/screening/whitelists/screen"): ("create", screening.Whitelist, Action.ADD),
    ("GET", "/screening/whitelists/{whitelist_id}"): ("object", screening.Whitelist, Action.VIEW),
    ("GET", "/screening/versions/{version_id}"): ("object", screening.WhitelistVersion, Action.VIEW),
    ("GET", "/screening/versions/{version_id}/entries"): ("object", screening.WhitelistVersion, Action.VIEW),
    ("GET", "/screening/versions/{version_id}/diff"): ("object", screening.WhitelistVersion, Action.VIEW),
    ("POST", "/screening/versions/{version_id}/submit"): ("object", screening.WhitelistVersion, Action.CHANGE),
    ("POST", "/screening/versions/{version_id}/approve"): ("object", screening.WhitelistVersion, Action.APPROVE),
    ("POST", "/screening/versions/{version_id}/return"): ("object", screening.WhitelistVersion, Action.APPROVE),
    ("POST", "/screening/entries/{entry_id}/override"): ("object", screening.WhitelistEntry, Action.CHANGE),
    ("GET", "/screening/applications"): ("list", screening.WhitelistApplication, Action.VIEW),
    ("POST", "/screening/applications"): ("create", screening.WhitelistApplication, Action.ADD),
    ("POST", "/screening/applications/{application_id}/withdraw"): (
        "object",
        screening.WhitelistApplication,
        Action.CHANGE,
    ),
    # Scorecards
    ("GET", "/screening/scorecards"): ("list", screening.Scorecard, Action.VIEW),
    ("GET", "/screening/scorecards/{card_id}"): ("object", screening.Scorecard, Action.VIEW),
    ("POST", "/screening/scorecards/train"): ("create", screening.Scorecard, Action.ADD),
    ("POST", "/screening/scorecards/{card_id}/activate"): ("object", screening.Scorecard, Action.APPROVE),
    ("POST", "/screening/scorecards/{card_id}/deactivate"): ("object", screening.Scorecard, Action.APPROVE),
    ("GET", "/screening/enterprises/{enterprise_id}/score"): ("object", Enterprise, Action.VIEW),
    # Banks. The pull narrows restrict() to included entries of current approved versions (test_banking_api.py).
    ("GET", "/screening/subscriptions"): ("list", screening.Subscription, Action.VIEW),
    ("POST", "/screening/subscriptions"): ("create", screening.Subscription, Action.ADD),
    ("POST", "/screening/subscriptions/{subscription_id}/cancel"): ("object", screening.Subscription, Action.CHANGE),
    ("GET", "/screening/bank/entries"): ("open", None, None),
    ("GET", "/screening/bank/entries.xlsx"): ("open", None, None),
    ("GET", "/screening/decisions"): ("list", screening.CreditDecision, Action.VIEW),
    ("POST", "/screening/decisions"): ("create", screening.CreditDecision, Action.ADD),
    ("GET", "/screening/decisions/{decision_id}"): ("object", screening.CreditDecision, Action.VIEW),
    ("GET", "/screening/credit-lines"): ("list", screening.IntendedCreditLine, Action.VIEW),
    ("POST", "/screening/credit-lines"): ("create", screening.IntendedCreditLine, Action.ADD),
    ("GET", "/screening/credit-lines/{line_id}"): ("object", screening.IntendedCreditLine, Action.VIEW),
    ("POST", "/screening/credit-lines/{line_id}/withdraw"): ("object", screening.IntendedCreditLine, Action.CHANGE),
    ("POST", "/screening/credit-lines/{line_id}/allocations"): ("object", screening.IntendedCreditLine, Action.VIEW),
    ("POST", "/screening/allocations/{allocation_id}/release"): ("object", screening.LineAllocation, Action.CHANGE),
    # Market. Nested routes name their parent first, which is looked up (and refused) before the child.
    ("POST", "/market/products/import"): ("open", None, None),
    ("GET", "/market/products"): ("list", market.Product, Action.VIEW),
    ("POST", "/market/products"): ("create", market.Product, Action.ADD),
    ("GET", "/market/products/{product_id}"): ("object", market.Product, Action.VIEW),
    ("POST", "/market/products/{product_id}/withdraw"): ("object", market.Product, Action.CHANGE),
    ("GET", "/market/products/{product_id}/versions"): ("object", market.Product, Action.VIEW),
    ("POST", "/market/products/{product_id}/versions"): ("object", market.Product, Action.CHANGE),
    ("PUT", "/market/products/{product_id}/versions/{version_id}"): ("object", market.Product, Action.VIEW),
    ("POST", "/market/products/{product_id}/versions/{version_id}/submit"): ("object", market.Product, Action.VIEW),
    ("POST", "/market/products/{product_id}/versions/{version_id}/approve"): ("object", market.Product, Action.VIEW),
    ("POST", "/market/products/{product_id}/versions/{version_id}/reject"): ("object", market.Product, Action.VIEW),
    ("GET", "/market/demands"): ("list", market.Demand, Action.VIEW),
    ("POST", "/market/demands"): ("create", market.Demand, Action.ADD),
    ("GET", "/market/demands/{demand_id}"): ("object", market.Demand, Action.VIEW),
    ("PATCH", "/market/demands/{demand_id}"): ("object", market.Demand, Action.CHANGE),
    ("POST", "/market/demands/{demand_id}/withdraw"): ("object", market.Demand, Action.CHANGE),
    ("POST", "/market/demands/{demand_id}/link-loan"): ("object", market.Demand, Action.CHANGE),
    ("PUT", "/market/demands/{demand_id}/shares"): ("object", market.Demand, Action.CHANGE),
    ("POST", "/market/demands/{demand_id}/rematch"): ("object", market.Demand, Action.CHANGE),
    ("GET", "/market/demands/{demand_id}/matches"): ("object", market.Demand, Action.VIEW),
    # The bank's working list: eligible matches of live products on active demands; others 403 (tests/market).
    ("GET", "/market/leads"): ("open", None, None),
    ("GET", "/market/leads/{match_id}"): ("object", market.Match, Action.VIEW),
    ("POST", "/market/leads/{match_id}/respond"): ("object", market.Match, Action.CHANGE),
    # The organiser's campaigns; a target reads its own at /market/surveys/mine (tests/market/test_surveys_api.py).
    ("GET", "/market/surveys"): ("open", None, None),
    ("POST", "/market/surveys"): ("create", market.SurveyCampaign, Action.ADD),
    ("GET", "/market/surveys/mine"): ("open", None, None),
    ("GET", "/market/surveys/{survey_id}"): ("object", market.SurveyCampaign, Action.VIEW),
    ("PATCH", "/market/surveys/{survey_id}"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("DELETE", "/market/surveys/{survey_id}"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/questions"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("PATCH", "/market/surveys/{survey_id}/questions/{question_id}"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("DELETE", "/market/surveys/{survey_id}/questions/{question_id}"): (
        "object",
        market.SurveyCampaign,
        Action.CHANGE,
    ),
    ("POST", "/market/surveys/{survey_id}/questions/{question_id}/move"): (
        "object",
        market.SurveyCampaign,
        Action.CHANGE,
    ),
    ("GET", "/market/surveys/{survey_id}/targets"): ("object", market.SurveyCampaign, Action.VIEW),
    ("POST", "/market/surveys/{survey_id}/targets"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("DELETE", "/market/surveys/{survey_id}/targets/{target_id}"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/publish"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/remind"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/close"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/repeat"): ("object", market.SurveyCampaign, Action.CHANGE),
    ("POST", "/market/surveys/{survey_id}/responses"): ("object", market.SurveyCampaign, Action.VIEW),
    ("GET", "/market/surveys/{survey_id}/responses"): ("object", market.SurveyCampaign, Action.VIEW),
    ("GET", "/market/surveys/{survey_id}/results"): ("object", market.SurveyCampaign, Action.VIEW),
    ("GET", "/market/surveys/{survey_id}/export.xlsx"): ("object", market.SurveyCampaign, Action.VIEW),
    ("GET", "/market/events"): ("list", market.MatchmakingEvent, Action.VIEW),
    ("POST", "/market/events"): ("create", market.MatchmakingEvent, Action.ADD),
    ("GET", "/market/events/{event_id}"): ("object", market.MatchmakingEvent, Action.VIEW),
    ("PATCH", "/market/events/{event_id}"): ("object", market.MatchmakingEvent, Action.CHANGE),
    ("POST", "/market/events/{event_id}/cancel"): ("object", market.MatchmakingEvent, Action.CHANGE),
    ("POST", "/market/events/{event_id}/held"): ("object", market.MatchmakingEvent, Action.CHANGE),
    ("GET", "/market/events/{event_id}/participants"): ("object", market.MatchmakingEvent, Action.VIEW),
    ("POST", "/market/events/{event_id}/participants"): ("object", market.MatchmakingEvent, Action.VIEW),
    ("POST", "/market/events/{event_id}/participants/{participant_id}/withdraw"): (
        "object",
        market.MatchmakingEvent,
        Action.VIEW,
    ),
    ("POST", "/market/events/{event_id}/propose"): ("object", market.MatchmakingEvent, Action.CHANGE),
    ("GET", "/market/events/{event_id}/meetings"): ("object", market.MatchmakingEvent, Action.VIEW),
    ("POST", "/market/events/{event_id}/meetings"): ("object", market.MatchmakingEvent, Action.CHANGE),
    ("POST", "/market/events/{event_id}/meetings/{meeting_id}/cancel"): (
        "object",
        market.MatchmakingEvent,
        Action.VIEW,
    ),
    ("POST", "/market/events/{event_id}/meetings/{meeting_id}/outcome"): (
        "object",
        market.MatchmakingEvent,
        Action.VIEW,
    ),
    ("GET", "/market/events/{event_id}/report"): ("object", market.MatchmakingEvent, Action.VIEW),
    ("GET", "/market/events/{event_id}/schedule.xlsx"): ("object", market.MatchmakingEvent, Action.VIEW),
    # Monitoring (行动监测); figures-only reads (targets, impact, key-park check, evidence files) are "open".
    ("GET", "/monitoring/targets"): ("open", None, None),
    ("GET", "/monitoring/findings"): ("list", monitoring.Finding, Action.VIEW),
    ("GET", "/monitoring/findings/{finding_id}"): ("object", monitoring.Finding, Action.VIEW),
    ("GET", "/monitoring/findings/{finding_id}/events"): ("object", monitoring.Finding, Action.VIEW),
    ("POST", "/monitoring/findings/{finding_id}/assign"): ("object", monitoring.Finding, Action.CHANGE),
    ("POST", "/monitoring/findings/{finding_id}/start"): ("object", monitoring.Finding, Action.CHANGE),
    ("POST", "/monitoring/findings/{finding_id}/notes"): ("object", monitoring.Finding, Action.CHANGE),
    ("POST", "/monitoring/findings/{finding_id}/decide"): ("object", monitoring.Finding, Action.APPROVE),
    ("GET", "/monitoring/scans"): ("list", monitoring.AnomalyScan, Action.VIEW),
    ("POST", "/monitoring/scans"): ("create", monitoring.AnomalyScan, Action.ADD),
    ("GET", "/monitoring/bulletins"): ("list", monitoring.Bulletin, Action.VIEW),
    ("POST", "/monitoring/bulletins"): ("create", monitoring.Bulletin, Action.ADD),
    ("GET", "/monitoring/bulletins/{bulletin_id}"): ("object", monitoring.Bulletin, Action.VIEW),
    ("GET", "/monitoring/plans"): ("list", monitoring.ProvincialPlan, Action.VIEW),
    ("POST", "/monitoring/plans"): ("create", monitoring.ProvincialPlan, Action.ADD),
    ("GET", "/monitoring/plans/{plan_id}"): ("object", monitoring.ProvincialPlan, Action.VIEW),
    ("PUT", "/monitoring/plans/{plan_id}"): ("object", monitoring.ProvincialPlan, Action.CHANGE),
    ("POST", "/monitoring/plans/{plan_id}/issue"): ("object", monitoring.ProvincialPlan, Action.CHANGE),
    ("POST", "/monitoring/plans/{plan_id}/submit"): ("object", monitoring.ProvincialPlan, Action.CHANGE),
    ("GET", "/monitoring/plans/{plan_id}/tasks"): ("object", monitoring.ProvincialPlan, Action.VIEW),
    ("POST", "/monitoring/plans/{plan_id}/tasks"): ("object", monitoring.ProvincialPlan, Action.CHANGE),
    ("GET", "/monitoring/tasks/{task_id}"): ("object", monitoring.PlanTask, Action.VIEW),
    ("PUT", "/monitoring/tasks/{task_id}"): ("object", monitoring.PlanTask, Action.CHANGE),
    ("POST", "/monitoring/tasks/{task_id}/progress"): ("object", monitoring.PlanTask, Action.CHANGE),
    ("POST", "/monitoring/tasks/{task_id}/evidence"): ("object", monitoring.PlanTask, Action.CHANGE),
    ("GET", "/monitoring/tasks/{task_id}/evidence"): ("open", None, None),
    ("GET", "/monitoring/reminders"): ("list", monitoring.Reminder, Action.VIEW),
    ("GET", "/monitoring/designations"): ("list", monitoring.KeyParkDesignation, Action.VIEW),
    ("POST", "/monitoring/designations"): ("create", monitoring.KeyParkDesignation, Action.ADD),
    ("POST", "/monitoring/designations/{designation_id}/revoke"): (
        "object",
        monitoring.KeyParkDesignation,
        Action.CHANGE,
    ),
    ("GET", "/monitoring/key-parks/check"): ("open", None, None),
    ("GET", "/monitoring/impact"): ("open", None, None),
    ("GET", "/monitoring/financials"): ("list", monitoring.EnterpriseFinancials, Action.VIEW),
    ("POST", "/monitoring/financials"): ("create", monitoring.EnterpriseFinancials, Action.ADD),
    ("GET", "/monitoring/financials/{financials_id}"): ("object", monitoring.EnterpriseFinancials, Action.VIEW),
    ("PATCH", "/monitoring/financials/{financials_id}"): ("object", monitoring.EnterpriseFinancials, Action.CHANGE),
    ("GET", "/monitoring/measures"): ("list", monitoring.MeasureEntry, Action.VIEW),
    ("POST", "/monitoring/measures"): ("create", monitoring.MeasureEntry, Action.ADD),
    ("GET", "/monitoring/measures/{measure_id}"): ("object", monitoring.MeasureEntry, Action.VIEW),
    ("PATCH", "/monitoring/measures/{measure_id}"): ("object", monitoring.MeasureEntry, Action.CHANGE),
    ("DELETE", "/monitoring/measures/{measure_id}"): ("object", monitoring.MeasureEntry, Action.DELETE),
    ("GET", "/monitoring/reports"): ("list", monitoring.GeneratedReport, Action.VIEW),
    ("POST", "/monitoring/reports"): ("create", monitoring.GeneratedReport, Action.ADD),
    ("GET", "/monitoring/reports/{report_id}"): ("object", monitoring.GeneratedReport, Action.VIEW),
    ("GET", "/monitoring/reports/{report_id}/download"): ("object", monitoring.GeneratedReport, Action.VIEW),
    ("GET", "/monitoring/cases"): ("list", monitoring.TypicalCase, Action.VIEW),
    ("POST", "/monitoring/cases"): ("create", monitoring.TypicalCase, Action.ADD),
    ("GET", "/monitoring/cases/{case_id}"): ("object", monitoring.TypicalCase, Action.VIEW),
    ("PATCH", "/monitoring/cases/{case_id}"): ("object", monitoring.TypicalCase, Action.CHANGE),
    ("POST", "/monitoring/cases/{case_id}/withdraw"): ("object", monitoring.TypicalCase, Action.CHANGE),
    ("POST", "/monitoring/cases/{case_id}/review/open"): ("object", monitoring.TypicalCase, Action.APPROVE),
    ("POST", "/monitoring/cases/{case_id}/review"): ("object", monitoring.TypicalCase, Action.APPROVE),
    ("POST", "/monitoring/cases/{case_id}/decide"): ("object", monitoring.TypicalCase, Action.APPROVE),
    ("POST", "/monitoring/cases/{case_id}/publish"): ("object", monitoring.TypicalCase, Action.APPROVE),
    ("GET", "/portal/policies"): ("list", portal.Policy, Action.VIEW),
    ("POST", "/portal/policies"): ("create", portal.Policy, Action.ADD),
    ("GET", "/portal/policies/applicable"): ("open", None, None),
    ("GET", "/portal/policies/{policy_id}"): ("object", portal.Policy, Action.VIEW),
    ("PATCH", "/portal/policies/{policy_id}"): ("object", portal.Policy, Action.CHANGE),
    ("POST", "/portal/policies/{policy_id}/publish"): ("object", portal.Policy, Action.CHANGE),
    ("POST", "/portal/policies/{policy_id}/withdraw"): ("object", portal.Policy, Action.CHANGE),
    ("GET", "/portal/consultations"): ("list", portal.Consultation, Action.VIEW),
    ("POST", "/portal/consultations"): ("create", portal.Consultation, Action.ADD),
    ("GET", "/portal/consultations/{consultation_id}"): ("object", portal.Consultation, Action.VIEW),
    ("POST", "/portal/consultations/{consultation_id}/answer"): ("object", portal.Consultation, Action.CHANGE),
    ("GET", "/portal/faq"): ("public", None, None),
    # A park's service centre opens to its members, its staff and the region's officials (tests/portal).
    ("GET", "/portal/parks/{park_id}/service-centre"): ("open", None, None),
    ("GET", "/portal/service-requests"): ("list", portal.ServiceRequest, Action.VIEW),
    ("POST", "/portal/service-requests"): ("create", portal.ServiceRequest, Action.ADD),
    ("POST", "/portal/service-requests/{request_id}/accept"): ("object", portal.ServiceRequest, Action.CHANGE),
    ("POST", "/portal/service-requests/{request_id}/complete"): ("object", portal.ServiceRequest, Action.CHANGE),
    ("POST", "/portal/service-requests/{request_id}/reject"): ("object", portal.ServiceRequest, Action.CHANGE),
    ("GET", "/integration/partners"): ("list", integration.ExchangePartner, Action.VIEW),
    ("POST", "/integration/partners"): ("create", integration.ExchangePartner, Action.ADD),
    ("PATCH", "/integration/partners/{partner_id}"): ("object", integration.ExchangePartner, Action.CHANGE),
    ("POST", "/integration/partners/{partner_id}/rotate-secret"): (
        "object",
        integration.ExchangePartner,
        Action.CHANGE,
    ),
    ("GET", "/integration/outbound"): ("list", integration.OutboundMessage, Action.VIEW),
    ("GET", "/integration/outbound/{message_pk}"): ("object", integration.OutboundMessage, Action.VIEW),
    ("POST", "/integration/outbound/{message_pk}/requeue"): ("object", integration.OutboundMessage, Action.CHANGE),
    ("GET", "/integration/inbound"): ("list", integration.InboundMessage, Action.VIEW),
    # An enterprise's own consent (tests/integration/test_exchange_api.py).
    ("GET", "/integration/consent"): ("open", None, None),
    ("POST", "/integration/consent"): ("create", integration.ShareConsent, Action.ADD),
    ("DELETE", "/integration/consent"): ("create", integration.ShareConsent, Action.CHANGE),
    ("POST", "/integration/consent/revoke"): ("create", integration.ShareConsent, Action.CHANGE),
    ("GET", "/integration/credit-reports"): ("list", integration.PartnerCreditReport, Action.VIEW),
    ("GET", "/integration/loan-outcomes"): ("list", integration.PartnerLoanOutcome, Action.VIEW),
    # Exports read through restrict() per entity; imports check the add scope (tests/integration/test_bulk_*.py).
    ("GET", "/integration/bulk/entities"): ("open", None, None),
    ("GET", "/integration/bulk/{entity}/export"): ("open", None, None),
    ("POST", "/integration/bulk/{entity}/import"): ("open", None, None),
    ("GET", "/integration/bulk/transfers"): ("list", integration.BulkTransfer, Action.VIEW),
}

# Bodies that pass schema validation, so a refusal can only come from scoping (never a 422 first).
# Operations taking a multipart file: the file part's name (the upload is a small PDF).
API_UPLOADS: dict[tuple[str, str], str] = {("POST", "/monitoring/tasks/{task_id}/evidence"): "evidence.pdf"}

API_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/portal/consultations/{consultation_id}/answer"): {"answer": "按办法执行。"},
    ("POST", "/monitoring/findings/{finding_id}/assign"): {"assignee_id": 1, "due_on": "2099-01-01"},
    ("POST", "/monitoring/findings/{finding_id}/notes"): {"note": "矩阵测试"},
    ("POST", "/monitoring/findings/{finding_id}/decide"): {"decision": "dismiss", "note": "矩阵测试"},
    ("PUT", "/monitoring/plans/{plan_id}"): {"title": "矩阵测试"},
    ("POST", "/monitoring/plans/{plan_id}/tasks"): {"title": "矩阵测试", "owner_name": "某厅", "due_on": "2099-01-01"},
    ("PUT", "/monitoring/tasks/{task_id}"): {"title": "矩阵测试"},
    ("POST", "/monitoring/tasks/{task_id}/progress"): {"status": "in_progress", "progress": 10},
    ("POST", "/monitoring/designations/{designation_id}/revoke"): {"reason": "矩阵测试"},
    ("PATCH", "/monitoring/financials/{financials_id}"): {"employees": 1},
    ("PATCH", "/monitoring/measures/{measure_id}"): {"title": "矩阵测试"},
    ("PATCH", "/monitoring/cases/{case_id}"): {"title": "矩阵测试"},
    ("POST", "/monitoring/cases/{case_id}/review"): {"score": 80, "note": "矩阵测试"},
    ("POST", "/monitoring/cases/{case_id}/decide"): {"select": True},
    ("POST", "/pledge-filings/{filing_id}/decision"): {"decision": "request_correction", "note": "矩阵测试"},
    ("POST", "/pledge-registrations/{registration_id}/cancellation"): {"reason": "repaid"},
    ("POST", "/ip-rights/{right_id}/transfer"): {"owners": [{"holder_name": "矩阵测试受让人"}]},
    ("POST", "/pledge-registrations/{registration_id}/changes"): {"claim_amount": "1", "change_description": "x"},
    ("POST", "/ip-rights/{right_id}/licences"): {
        "licence_kind": "ordinary",
        "record_no": "MATRIX-1",
        "licensee_name": "矩阵测试被许可人",
        "start_on": "2025-01-01",
        "end_on": "2026-01-01",
    },
    ("POST", "/loans/{loan_id}/withdraw"): {"reason": "矩阵测试"},
    ("POST", "/loans/{loan_id}/submit"): {
        "principal": "1000000.00",
        "term_months": 12,
        "repayment_method": "equal_instalment",
        "rate_type": "fixed",
        "annual_rate": "0.0345",
    },
    ("POST", "/loans/{loan_id}/contract"): {"contract_no": "HT-MATRIX", "signed_on": "2025-01-15"},
    ("POST", "/loans/{loan_id}/pledge"): {"registration_id": 1},
    ("POST", "/loans/{loan_id}/disburse"): {"amount": "1.00", "value_date": "2025-01-15"},
    ("POST", "/loans/{loan_id}/repay"): {"amount": "1.00", "value_date": "2025-02-15", "idempotency_key": "m-1"},
    ("POST", "/loans/{loan_id}/renew"): {
        "kind": "no_principal_repayment",
        "principal": "1.00",
        "term_months": 12,
        "annual_rate": "0.0330",
        "repayment_method": "equal_instalment",
    },
    ("POST", "/loans/{loan_id}/default"): {"on": "2025-06-01", "reason": "矩阵测试"},
    ("POST", "/loans/{loan_id}/covers"): {"kind": "guarantee", "provider_name": "矩阵担保", "cover_ratio": "0.5"},
    ("POST", "/loans/{loan_id}/investments"): {"investor_name": "矩阵创投", "term_kind": "equity"},
    ("POST", "/loans/{loan_id}/collateral"): {"ip_right_id": 1},
    ("POST", "/loans/{loan_id}/classification"): {"to_class": "substandard", "reason": "矩阵测试"},
    ("POST", "/loans/{loan_id}/classification/clear"): {"reason": "矩阵测试"},
    ("POST", "/loans/{loan_id}/risk-flags"): {"reason": "矩阵测试", "funds_misused": True},
    ("POST", "/loans/{loan_id}/transactions/{transaction_id}/reverse"): {"reason": "矩阵测试"},
    ("POST", "/collateral/{collateral_id}/implementation"): {"status": "licensed", "reported_on": "2025-02-01"},
    ("POST", "/valuations/{valuation_id}/submit"): {"note": "矩阵测试"},
    ("POST", "/valuations/{valuation_id}/sign-off"): {"approve": False, "note": "矩阵测试"},
    ("POST", "/compensation/funds/{fund_id}/contributions"): {
        "sponsor_id": 1,
        "amount": "1.00",
        "paid_on": "2024-01-02",
        "idempotency_key": "m-c",
    },
    ("POST", "/compensation/funds/{fund_id}/stress-runs"): {"simulations": 100},
    ("POST", "/compensation/scheme-versions/{version_id}/reject"): {"note": "矩阵测试"},
    ("POST", "/compensation/enrolments/{enrolment_id}/release"): {"reason": "矩阵测试"},
    **{("POST", f"/compensation/claims/{{claim_id}}/{tail}"): {"note": "矩阵测试"} for tail in ("reject", "withdraw")},
    ("POST", "/compensation/claims/{claim_id}/recoveries"): {
        "kind": "repayment",
        "value_date": "2025-09-01",
        "gross_amount": "1.00",
        "idempotency_key": "m-rec",
    },
    ("POST", "/compensation/entries/{entry_id}/reverse"): {"reason": "矩阵测试"},
    ("POST", "/disposal/cases/{case_id}/revalue"): {},
    ("POST", "/disposal/cases/{case_id}/route"): {"route": "negotiated", "note": "矩阵测试"},
    ("POST", "/disposal/cases/{case_id}/sale"): {"buyer_id": 1, "price": "1.00"},
    ("POST", "/disposal/cases/{case_id}/payment"): {},
    ("POST", "/disposal/cases/{case_id}/distribute"): {"costs": "0.00"},
    ("POST", "/disposal/cases/{case_id}/licence-income"): {
        "licensee": "矩阵测试被许可人",
        "amount": "1.00",
        "received_on": "2025-09-01",
        "idempotency_key": "m-li",
    },
    ("POST", "/disposal/cases/{case_id}/close"): {"note": "矩阵测试"},
    ("POST", "/disposal/sessions/{session_id}/lots"): {
        "case_id": 1,
        "reserve_price": "1.00",
        "deposit": "0.00",
        "increment": "1.00",
    },
    ("POST", "/disposal/lots/{lot_id}/bids"): {"amount": "1.00"},
    ("POST", "/disposal/bidders/{registration_id}/deposit"): {},
    ("POST", "/screening/credit-records/{record_id}/confirm-match"): {"enterprise_id": 1},
    ("PATCH", "/screening/criteria/{criteria_id}"): {"note": "矩阵测试"},
    ("POST", "/screening/versions/{version_id}/approve"): {"note": "矩阵测试"},
    ("POST", "/screening/versions/{version_id}/return"): {"note": "矩阵测试"},
    ("POST", "/screening/entries/{entry_id}/override"): {"include": False, "note": "矩阵测试"},
    ("POST", "/screening/credit-lines/{line_id}/allocations"): {"entry_id": 1, "amount": "1.00"},
    ("POST", "/market/demands/{demand_id}/link-loan"): {"loan_id": 1},
    ("POST", "/market/leads/{match_id}/respond"): {"response": "interested"},
    ("POST", "/market/events/{event_id}/meetings"): {
        "bank_participant_id": 1,
        "enterprise_participant_id": 1,
        "slot": 1,
    },
    ("POST", "/market/products/{product_id}/versions"): {
        "collateral_kinds": ["invention"],
        "amount_min": "100000.00",
        "amount_max": "1000000.00",
        "term_min_months": 6,
        "term_max_months": 12,
        "rate_kind": "lpr_spread",
        "rate_spread_bp": 100,
    },
    ("PUT", "/market/products/{product_id}/versions/{version_id}"): {
        "collateral_kinds": ["invention"],
        "amount_min": "100000.00",
        "amount_max": "1000000.00",
        "term_min_months": 6,
        "term_max_months": 12,
        "rate_kind": "lpr_spread",
        "rate_spread_bp": 100,
    },
    ("POST", "/market/surveys/{survey_id}/questions"): {"kind": "text", "text": "矩阵测试"},
    ("POST", "/market/surveys/{survey_id}/questions/{question_id}/move"): {"position": 1},
    ("POST", "/market/surveys/{survey_id}/responses"): {"answers": {}},
}


def ui_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "api" or str(p.pattern).startswith("api/"):
                    continue
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None)
    return names


def api_operations() -> set[tuple[str, str]]:
    found = set()
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.add((method, path if method == "GET" or path != "/{path:rest}" else path))
    return {(m, p) for m, p in found if not (p == "/{path:rest}" and m != "GET")}


def test_every_ui_route_is_declared() -> None:
    undeclared = ui_route_names() - set(UI_ROUTES)
    assert not undeclared, f"UI routes missing from the permission matrix: {sorted(undeclared)}"


def test_every_api_operation_is_declared() -> None:
    undeclared = api_operations() - set(API_ROUTES)
    assert not undeclared, f"API operations missing from the permission matrix: {sorted(undeclared)}"


def matrix_users() -> list[User]:
    return list(
        User.objects.filter(is_superuser=False, role__in=MATRIX_ROLES).select_related("organisation").order_by("pk")
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def organised_pks(model: type[Model], user: User, action: str) -> set[Any]:
    """Survey pages for the organiser only (builder, targets, results, export): campaigns in the user's reach for
    the action that its own organisation (or one below it) runs; a target reads the campaign only to answer it."""
    return {
        c.pk
        for c in market.SurveyCampaign.objects.restrict(user, action).select_related("organiser")
        if c.organiser.tree_path.startswith(user.organisation.tree_path)
    }


def targeted_pks(model: type[Model], user: User, action: str) -> set[Any]:
    """The answer form: published campaigns that ask the user's organisation."""
    return set(
        market.SurveyCampaign.objects.restrict(user, action)
        .filter(targets__organisation=user.organisation)
        .values_list("pk", flat=True)
    )


def target_park_pks(model: type[Model], user: User, action: str) -> set[Any]:
    """A park's target page: parks in an official's region, a park administration's own; nobody else's."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return set()
    org = user.organisation
    if org.kind in (
        OrganisationKind.IP_OFFICE,
        OrganisationKind.FINANCIAL_REGULATOR,
        OrganisationKind.DEVELOPMENT_REFORM,
    ):
        prefix = "" if org.admin_level == AdminLevel.NATIONAL else org.region.prefix
        return set(Park.objects.filter(region__code__startswith=prefix).values_list("pk", flat=True))
    if org.kind == OrganisationKind.PARK_ADMIN:
        return set(
            Park.objects.filter(administering_org__tree_path__startswith=org.tree_path).values_list("pk", flat=True)
        )
    return set()


# Routes whose reach is narrower than the model's view scope, with the rule stated independently above.
OBJECT_SCOPES = {
    "market:survey_detail": organised_pks,
    "market:survey_targets": organised_pks,
    "market:survey_results": organised_pks,
    "market:survey_export": organised_pks,
    "market:survey_respond": targeted_pks,
    ("GET", "/market/surveys/{survey_id}/targets"): organised_pks,
    ("GET", "/market/surveys/{survey_id}/results"): organised_pks,
    ("GET", "/market/surveys/{survey_id}/export.xlsx"): organised_pks,
    "monitoring:targets_park": target_park_pks,
}


def allowed_pks(model: type[Model], user: User, action: str) -> set[Any]:
    return set(model._default_manager.restrict(user, action).values_list("pk", flat=True))  # type: ignore[attr-defined]


def may_add(model: type[Model], user: User) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.may(Action.ADD) and model.scope_q(scope, Action.ADD) is not None  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The keyed world, built once per module (per worker) inside a transaction rolled back at the end; each test's
    own transaction is a savepoint inside it, so what a test writes is undone before the next."""
    from tests.world import build_world

    with django_db_blocker.unblock(), transaction.atomic():
        yield _populate(build_world())
        transaction.set_rollback(True)


@pytest.fixture
def keyed_world(_module_world, db):  # type: ignore[no-untyped-def]
    return _module_world


def _populate(world):  # type: ignore[no-untyped-def]
    for key in ("bank1", "bank2", "park1"):
        api_key_create(
            organisation=world.orgs[key], name=f"{key}-etl", role=Role.VIEWER, acting_user=world.user(key, Role.ADMIN)
        )
    add_loans(world)
    add_valuations(world)
    add_compensation(world)
    add_disposal(world)
    add_screening(world)
    add_market(world)
    add_monitoring(world)
    add_portal(world)
    add_integration(world)
    return world


def _objects(model: type[Model]) -> list[Model]:
    return list(model._default_manager.all())


@pytest.mark.parametrize("name", sorted(n for n, spec in UI_ROUTES.items() if spec[0] == "object"))
def test_ui_object_routes(keyed_world, name: str) -> None:  # type: ignore[no-untyped-def]
    _kind, model, action = UI_ROUTES[name]
    assert model is not None and action is not None
    failures = []
    reach = OBJECT_SCOPES.get(name, allowed_pks)
    for user in matrix_users():
        client = client_for(user)
        allowed = reach(model, user, action)
        for obj in _objects(model):
            status = client.get(reverse(name, kwargs={"pk": obj.pk})).status_code
            expected = 200 if obj.pk in allowed else 404
            if status != expected:
                failures.append(f"{user.username} GET {name}({obj.pk}) -> {status}, expected {expected}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("name", sorted(n for n, spec in UI_ROUTES.items() if spec[0] == "object_post"))
def test_ui_post_routes_refuse_out_of_scope(keyed_world, name: str) -> None:  # type: ignore[no-untyped-def]
    """Actions on objects outside the user's scope for that action answer 404 and change nothing."""
    _kind, model, action = UI_ROUTES[name]
    assert model is not None and action is not None
    failures = []
    for user in matrix_users():
        client = client_for(user)
        allowed = allowed_pks(model, user, action)
        for obj in _objects(model):
            if obj.pk in allowed:
                continue  # the allowed side is exercised by the feature's own view tests
            status = client.post(reverse(name, kwargs={"pk": obj.pk})).status_code
            if status not in (403, 404):
                failures.append(f"{user.username} POST {name}({obj.pk}) -> {status}")
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert not failures, "\n".join(failures[:20])


def _listed_pks(response: Any, model: type[Model]) -> set[Any] | None:
    """Primary keys of `model` rows the response's context handed to the template (tables, pages, querysets)."""
    if response.context is None:
        return None
    found: set[Any] | None = None
    contexts = response.context if isinstance(response.context, list) else [response.context]
    values = [v for ctx in contexts for v in ctx.flatten().values()]
    for value in values:
        rows: Any = None
        if isinstance(value, Table):
            rows = value.data.data
        elif isinstance(value, QuerySet) and value.model is model:
            rows = value
        if isinstance(rows, QuerySet) and rows.model is model:
            found = (found or set()) | set(rows.values_list("pk", flat=True))
    return found


@pytest.mark.parametrize("name", sorted(n for n, spec in UI_ROUTES.items() if spec[0] == "list"))
def test_ui_list_routes(keyed_world, name: str) -> None:  # type: ignore[no-untyped-def]
    _kind, model, _action = UI_ROUTES[name]
    assert model is not None
    failures = []
    checked = 0
    for user in matrix_users():
        response = client_for(user).get(reverse(name))
        allowed = allowed_pks(model, user, Action.VIEW)
        if response.status_code in (302, 404):
            continue  # a page the user may not open at all, or one sending the user to its own (nothing listed)
        listed = _listed_pks(response, model)
        if listed is None:
            failures.append(f"{user.username} {name}: no {model.__name__} table in the page context")
            continue
        checked += 1
        if not listed <= allowed:
            failures.append(f"{user.username} {name}: lists out-of-scope rows {sorted(map(str, listed - allowed))}")
    assert checked, f"no user could open {name}"
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("name", sorted(n for n, spec in UI_ROUTES.items() if spec[0] == "create"))
def test_ui_create_routes(keyed_world, name: str) -> None:  # type: ignore[no-untyped-def]
    _kind, model, _action = UI_ROUTES[name]
    assert model is not None
    failures = []
    for user in matrix_users():
        status = client_for(user).get(reverse(name)).status_code
        expected = 200 if may_add(model, user) else 404
        if status != expected:
            failures.append(f"{user.username} GET {name} -> {status}, expected {expected}")
    assert not failures, "\n".join(failures[:20])


API_PREFIX = "/api/v1"


# Values for the second path parameter of nested routes; the first always names the object under test, which is
# looked up (and refused) before the nested one.
NESTED_PARAMETERS = {
    "item": "identity",
    "transaction_id": "1",
    "version_id": "1",
    "question_id": "1",
    "target_id": "1",
    "participant_id": "1",
    "meeting_id": "1",
}


def _api_path(path: str, pk: Any) -> str:
    head, _, tail = path.partition("{")
    rest = tail.partition("}")[2]
    for name, value in NESTED_PARAMETERS.items():
        rest = rest.replace(f"{{{name}}}", value)
    return API_PREFIX + head + str(pk) + rest


@pytest.mark.parametrize(
    "route", sorted(r for r, spec in API_ROUTES.items() if spec[0] == "object"), ids=lambda r: f"{r[0]} {r[1]}"
)
def test_api_object_routes(keyed_world, route: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    method, path = route
    _kind, model, action = API_ROUTES[route]
    assert model is not None and action is not None
    failures = []
    reach = OBJECT_SCOPES.get(route, allowed_pks)
    for user in matrix_users():
        client = client_for(user)
        allowed = reach(model, user, action)
        for obj in _objects(model):
            if method in ("POST", "PATCH", "PUT", "DELETE") and obj.pk in allowed:
                continue  # writes where allowed are followed by each feature's own API tests
            url = _api_path(path, obj.pk)
            if method == "GET":
                response = client.get(url)
            elif route in API_UPLOADS:
                upload = SimpleUploadedFile(API_UPLOADS[route], PDF_BYTES, content_type="application/pdf")
                response = client.post(url, {"file": upload})
            else:
                body = json.dumps(API_BODIES.get(route, {}))
                response = getattr(client, method.lower())(url, body, content_type="application/json")
            ok = response.status_code == 200
            refused = response.status_code in (403, 404)
            if (obj.pk in allowed and not ok) or (obj.pk not in allowed and not refused):
                failures.append(
                    f"{user.username} {method} {url} -> {response.status_code} (allowed={obj.pk in allowed})"
                )
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize(
    "route", sorted(r for r, spec in API_ROUTES.items() if spec[0] == "list"), ids=lambda r: f"{r[0]} {r[1]}"
)
def test_api_list_routes(keyed_world, route: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    _method, path = route
    _kind, model, _action = API_ROUTES[route]
    assert model is not None
    failures = []
    for user in matrix_users():
        # The call itself adds an ApiCall row only after its answer is made, so that list is compared with the
        # scope before the call; any other list with the scope after it (the scorecard list creates the default
        # expert scorecard on first use).
        before = allowed_pks(model, user, Action.VIEW)
        response = client_for(user).get(API_PREFIX + path, {"page_size": 500})
        allowed = before if model is ApiCall else allowed_pks(model, user, Action.VIEW)
        if response.status_code == 403 and not allowed:
            continue
        if response.status_code != 200:
            failures.append(f"{user.username} GET {path} -> {response.status_code}")
            continue
        got = {item["id"] for item in response.json()["items"]}
        if got != {str(pk) if isinstance(next(iter(got), 0), str) else pk for pk in allowed}:
            failures.append(
                f"{user.username} GET {path}: got {sorted(map(str, got))}, expected {sorted(map(str, allowed))}"
            )
    assert not failures, "\n".join(failures[:20])


def test_api_create_enterprise_only_where_allowed(keyed_world) -> None:  # type: ignore[no-untyped-def]
    park = keyed_world.parks["p1"]
    failures = []
    for serial, user in enumerate(matrix_users(), start=5000):
        payload = {
            "uscc": make_uscc(region_code="110108", serial=serial),
            "name": f"矩阵测试企业{serial}",
            "industry_section": "C",
            "park_id": park.pk,
        }
        response = client_for(user).post(
            f"{API_PREFIX}/enterprises", json.dumps(payload), content_type="application/json"
        )
        expected_ok = may_add(Enterprise, user) and park.pk in allowed_pks(Park, user, Action.CHANGE)
        created = response.status_code == 201
        if created != expected_ok or (not created and response.status_code >= 500):
            failures.append(f"{user.username} POST /enterprises -> {response.status_code}, expected ok={expected_ok}")
    assert not failures, "\n".join(failures[:20])


# Pages declared as "page" whose URL carries keys (each checked in its feature's tests), for the anonymous check.
PAGE_KWARGS: dict[str, dict[str, int | str]] = {
    "market:product_version_edit": {"pk": 1},
    "market:event_participant_withdraw": {"pk": 1, "participant_pk": 1},
    "market:event_meeting_cancel": {"pk": 1, "meeting_pk": 1},
    "market:event_meeting_outcome": {"pk": 1, "meeting_pk": 1},
    "monitoring:targets_province": {"code": 110000},
    "monitoring:task_evidence": {"pk": 1},
    "portal:policy_attachment_remove": {"pk": 1, "attachment_pk": 1},
    "portal:service_centre": {"pk": 1},
    "integration:bulk_export": {"entity": "enterprises"},
    "integration:bulk_template": {"entity": "enterprises", "file_format": "xlsx"},
    "integration:bulk_import": {"entity": "enterprises"},
}


def test_anonymous_gets_nothing() -> None:
    client = Client()
    for (method, path), (kind, _m, _a) in API_ROUTES.items():
        if kind == "fallback":
            continue
        url = API_PREFIX + path.replace("{filing_id}", "1").replace("{document_id}", "1")
        url = _api_path(url[len(API_PREFIX) :], 1) if "{" in url else url
        if kind == "public":
            assert client.get(url, {"number": "201710601862.3"}).status_code == 200, path
            continue
        if method == "GET":
            response = client.get(url)
        else:
            response = getattr(client, method.lower())(url, "{}", content_type="application/json")
        assert response.status_code == 401, (method, path, response.status_code)
    for name, (kind, _m, _a) in UI_ROUTES.items():
        takes_args = name.endswith(("_errors", "import_template"))
        if name == "dashboard":
            # `/` sends anonymous visitors to the public portal rather than to the login page.
            assert client.get(reverse(name))["Location"] == reverse("portal:home")
            continue
        if kind in ("list", "page", "create") and not takes_args and "kind_fields" not in name:
            response = client.get(reverse(name, kwargs=PAGE_KWARGS.get(name)))
            assert response.status_code == 302 and "/login/" in response["Location"], name


def test_api_document_downloads(keyed_world) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for user in matrix_users():
        client = client_for(user)
        allowed = allowed_pks(FilingDocument, user, Action.VIEW)
        for document in _objects(FilingDocument):
            url = f"{API_PREFIX}/pledge-filings/{document.filing_id}/documents/{document.pk}"
            status = client.get(url).status_code
            if (status == 200) != (document.pk in allowed) or status >= 500:
                failures.append(f"{user.username} GET {url} -> {status} (allowed={document.pk in allowed})")
    assert not failures, "\n".join(failures[:20])


def test_api_document_uploads_refuse_out_of_scope(keyed_world) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = FilingDocument.objects.count()
    failures = []
    for user in matrix_users():
        client = client_for(user)
        allowed = allowed_pks(PledgeFiling, user, Action.CHANGE)
        for filing in _objects(PledgeFiling):
            if filing.pk in allowed:
                continue
            upload = SimpleUploadedFile("c.pdf", PDF_BYTES, content_type="application/pdf")
            status = client.post(
                f"{API_PREFIX}/pledge-filings/{filing.pk}/documents", {"file": upload, "doc_type": "contract"}
            ).status_code
            if status not in (403, 404):
                failures.append(f"{user.username} upload to {filing.pk} -> {status}")
    assert FilingDocument.objects.count() == before
    assert not failures, "\n".join(failures[:20])
