"""Risk-compensation pages (风险补偿, M2–M4): funds with their monitoring figures, alerts, schemes and versions
(maker-checker), contributions and the adequacy stress test; enrolled loans (入池); claims from filing through the
advance (先行拨付), recoveries and clearing (清算); payment instructions and the fund's ledger.

Views are thin. Reads start from `restrict()` (another organisation's fund, claim or payment answers 404 exactly
like a missing one); every write runs one service of `ipledge.compensation.services` in a transaction, a
`ValidationError` from it is shown next to the field it names, and a `PermissionDenied` answers 403. Panels offer
only the actions valid for the object's state and the user's role; the services check both again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind, RegionLevel
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import Loan
from ipledge.registry.choices import SizeClass
from ipledge.registry.views import history_context

from . import ledger, selectors, services
from .choices import (
    OPEN_ENROLMENT_STATUSES,
    AccountKind,
    ClaimStatus,
    EnrolmentStatus,
    EntryKind,
    PartyRole,
    PaymentStatus,
    SchemeStatus,
    StressRunStatus,
)
from .engine.sharing import ROLES
from .filtersets import ClaimFilterSet, EnrolmentFilterSet, EntryFilterSet, PaymentFilterSet
from .forms import (
    ApproveForm,
    ClaimFileForm,
    ClearForm,
    ContributionForm,
    EnrolForm,
    EntryReverseForm,
    FundEditForm,
    FundForm,
    PayForm,
    RecoveryForm,
    RejectForm,
    ReleaseForm,
    ReviewForm,
    SchemeForm,
    StressForm,
    TierForm,
    VersionForm,
    VersionRejectForm,
    WithdrawForm,
    fraction,
    money,
    new_idempotency_key,
    tier_formset,
)
from .models import Claim, Enrolment, Fund, JournalEntry, Payment, Recovery, Scheme, SchemeVersion, StressRun
from .selectors import FundFigures
from .tables import (
    CLAIM_BADGES,
    ENROLMENT_BADGES,
    FUND_BADGES,
    PAYMENT_BADGES,
    SCHEME_BADGES,
    STRESS_BADGES,
    ClaimTable,
    EnrolmentTable,
    FundTable,
    PaymentTable,
    money_text,
    percent_text,
)

PER_PAGE = 25
# Who may sponsor a fund (出资方): government bodies (finance departments sit with them) and park administrations.
SPONSOR_KINDS = (
    OrganisationKind.IP_OFFICE,
    OrganisationKind.DEVELOPMENT_REFORM,
    OrganisationKind.FINANCIAL_REGULATOR,
    OrganisationKind.PARK_ADMIN,
)
PARTY_KINDS = {
    "insurer": OrganisationKind.INSURER,
    "guarantor": OrganisationKind.GUARANTOR,
    "valuer": OrganisationKind.VALUER,
}
ENROLABLE_STATUSES = (LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.ACTIVE)
CAP_REASONS = {
    "per_loan": gettext_lazy("单笔代偿上限"),
    "enterprise": gettext_lazy("单户代偿上限"),
    "year": gettext_lazy("年度代偿上限"),
    "fund_balance": gettext_lazy("基金专户余额"),
}


def _role_label(role: str) -> str:
    try:
        return str(PartyRole(role).label)
    except ValueError:
        return role


def _yuan(fen: Any) -> str:
    return money_text(Money.from_fen(int(fen)))


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _field_label(model: type[Model] | None, name: str) -> str:
    if model is None or name in ("status", "version", "__all__"):
        return ""
    try:
        return str(getattr(model._meta.get_field(name), "verbose_name", ""))
    except Exception:  # noqa: BLE001 - an unknown name is shown as the service wrote it
        return ""


def _attach(
    form: forms.BaseForm,
    exc: ValidationError,
    model: type[Model] | None = None,
    field_map: dict[str, str] | None = None,
) -> None:
    """A service's error next to the visible form field it names; anything else (the object's state, the maker-
    checker rule, a hidden idempotency key) on top of the form, under the field's own label."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    field_map = field_map or {}
    relabelled: dict[str, list[ValidationError]] = {}
    for name, errors in exc.error_dict.items():
        target = field_map.get(name, name)
        if (target in form.fields and not form.fields[target].widget.is_hidden) or name == NON_FIELD_ERRORS:
            relabelled.setdefault(target, []).extend(errors)
            continue
        label = _field_label(model, name)
        for error in errors:
            for message in error.messages:
                text = f"{label}：{message}" if label and not message.startswith(label) else message
                relabelled.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(text, code=error.code))
    attach_errors(form, ValidationError(relabelled))


def _flash_errors(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _is_fund_officer(fund: Fund, user: Any, action: str = Action.CHANGE) -> bool:
    return selectors.may_manage(fund, user, action)


def _is_lender(user: Any, loan: Loan, action: str = Action.CHANGE) -> bool:
    """An officer of the lending bank's tree who may act on the loan (what `services._require_bank` accepts)."""
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.BANK):
        return False
    return Loan.objects.restrict(user, action).filter(pk=loan.pk).exists()


def _safe_next(request: AuthenticatedRequest, url: str | None, fallback: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return fallback


# ---------------------------------------------------------------------------
# Sharing tiers as a table (scheme versions, enrolments, claims)
# ---------------------------------------------------------------------------


def tier_table(tiers: list[dict[str, Any]] | None, highlight: int | None = None) -> dict[str, Any]:
    """Rows of balance bands × roles' shares in percent, for the roles that take a share in any band."""
    tiers = list(tiers or [])
    present = {role for tier in tiers for role, share in (tier.get("shares") or {}).items() if Decimal(str(share))}
    roles = [role for role in ROLES if role in present or role in ("fund", "bank")]
    rows = []
    previous: str | None = None
    for index, tier in enumerate(tiers):
        shares = tier.get("shares") or {}
        up_to = tier.get("up_to")
        if up_to is not None:
            bound = f"≤ {money_text(Money(str(up_to)))}"
        elif previous is not None:
            bound = f"> {previous}"
        else:
            bound = _("不分档")
        previous = money_text(Money(str(up_to))) if up_to is not None else previous
        rows.append(
            {
                "index": index,
                "number": index + 1,
                "bound": bound,
                "shares": [percent_text(Decimal(str(shares[r])), 2) if r in shares else "—" for r in roles],
                "current": highlight is not None and index == highlight,
            }
        )
    return {"roles": [{"role": r, "label": _role_label(r)} for r in roles], "rows": rows}


# ---------------------------------------------------------------------------
# Funds
# ---------------------------------------------------------------------------


def may_create_fund(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or Fund.scope_q(scope, Action.ADD) is not None


def fund_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    funds = selectors.fund_list(user=user)
    readable = {fund.pk for fund in funds if selectors.may_read_books(fund, user)}
    figures: dict[int, FundFigures] = {}

    def figures_of(fund: Fund) -> FundFigures | None:
        if fund.pk not in readable:
            return None
        if fund.pk not in figures:
            figures[fund.pk] = selectors.fund_figures(fund)
        return figures[fund.pk]

    exclude = () if readable else ("balance", "covered", "leverage")
    table = _paged(request, FundTable(funds, figures_of=figures_of, exclude=exclude))
    return render(request, "compensation/fund_list.html", {"table": table, "can_create": may_create_fund(user)})


def _fund_form_choices(user: Any) -> dict[str, Any]:
    scope = scope_for(user)
    assert scope is not None
    managers = Organisation.objects.filter(kind=OrganisationKind.FUND_MANAGER, is_active=True)
    if not scope.is_platform:
        managers = managers.filter(tree_path__startswith=scope.org_tree_path)
    return {
        "managers": managers.order_by("name"),
        "regions": Region.objects.filter(level__in=[RegionLevel.PROVINCE, RegionLevel.CITY]).order_by("code"),
        "sponsors": Organisation.objects.filter(kind__in=SPONSOR_KINDS, is_active=True).order_by("kind", "name"),
    }


def fund_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_create_fund(user):
        raise Http404
    form = FundForm(request.POST or None, **_fund_form_choices(user))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                fund = services.fund_create(acting_user=user, **form.service_kwargs())
        except ValidationError as exc:
            _attach(form, exc, Fund)
        else:
            messages.success(request, _("基金 %(code)s 已设立。请登记出资并制定补偿方案。") % {"code": fund.code})
            return redirect("compensation:fund_detail", fund.pk)
    return render(request, "compensation/fund_form.html", {"form": form, "fund": None})


def fund_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    fund = scoped_get(Fund, user=user, pk=pk, action=Action.CHANGE)
    form = FundEditForm(request.POST or None, initial=FundEditForm.initial_for(fund))
    if request.method == "POST" and form.is_valid():
        changes = form.changes(fund)
        try:
            if changes:
                with transaction.atomic():
                    services.fund_update(fund=fund, data=changes, acting_user=user)
        except ValidationError as exc:
            _attach(form, exc, Fund)
        else:
            messages.success(request, _("基金信息已保存。") if changes else _("没有需要保存的修改。"))
            return redirect("compensation:fund_detail", fund.pk)
    return render(request, "compensation/fund_form.html", {"form": form, "fund": fund})


def _figure_rows(fund: Fund, f: FundFigures) -> list[dict[str, Any]]:
    leverage_css = "text-danger" if f.leverage_used >= Decimal("0.9") * fund.leverage_cap else ""
    return [
        {"key": "balance", "label": _("专户余额（元）"), "value": money_text(f.balance)},
        {"key": "contributed", "label": _("累计出资到账（元）"), "value": money_text(f.contributed)},
        {"key": "loans", "label": _("在池贷款（笔）"), "value": str(f.loans_covered)},
        {"key": "covered", "label": _("在池本金（元）"), "value": money_text(f.covered_amount)},
        {"key": "capacity", "label": _("可入池上限（元）"), "value": money_text(f.capacity)},
        {
            "key": "leverage",
            "label": _("放大倍数（已用 / 上限）"),
            "value": f"{f.leverage_used:.2f} / {fund.leverage_cap:.2f}",
            "css": leverage_css,
        },
        {"key": "utilisation", "label": _("资金使用率"), "value": percent_text(f.utilisation, 1)},
        {
            "key": "claims",
            "label": _("代偿申请（累计 / 未结 / 已清算）"),
            "value": f"{f.claims_filed} / {f.claims_open} / {f.claims_cleared}",
        },
        {"key": "advanced", "label": _("累计先行拨付（元）"), "value": money_text(f.advanced)},
        {"key": "recovered", "label": _("累计追偿回收（元）"), "value": money_text(f.recovered)},
        {"key": "fund-losses", "label": _("基金最终承担损失（元）"), "value": money_text(f.fund_losses)},
        {"key": "loss-rate", "label": _("损失率"), "value": percent_text(f.loss_rate, 2)},
        {
            "key": "since",
            "label": _("距上次代偿申请（天）"),
            "value": str(f.days_since_activity),
            "css": "text-warning-emphasis" if f.idle else "",
        },
    ]


def _version_panel(version: SchemeVersion, user: Any, manage: bool, approve: bool) -> dict[str, Any]:
    status = version.status
    size_labels = dict(SizeClass.choices)
    sizes = ", ".join(str(size_labels.get(s, s)) for s in version.enterprise_sizes or []) or _("不限")
    return {
        "version": version,
        "status_css": SCHEME_BADGES.get(status, "text-bg-secondary"),
        "tiers": tier_table(version.sharing_tiers),
        "sizes": sizes,
        "regions": ", ".join(version.region_prefixes or []) or _("基金所在地区"),
        "min_ip_share": percent_text(version.min_ip_share, 0),
        "advance_ratio": percent_text(version.advance_ratio, 0),
        "may_submit": manage and status == SchemeStatus.DRAFT,
        "may_approve": approve and status == SchemeStatus.PENDING and version.prepared_by_id != user.pk,
        "may_reject": approve and status == SchemeStatus.PENDING,
        "reject_form": VersionRejectForm(auto_id=f"id_reject_{version.pk}_%s"),
    }


def _stress_view(run: StressRun | None) -> dict[str, Any] | None:
    """The run's horizons as table rows and bar-chart series (payout histogram, 10 thousand yuan per bin)."""
    if run is None:
        return None
    data: dict[str, Any] = {
        "run": run,
        "status_css": STRESS_BADGES.get(run.status, "text-bg-secondary"),
        "queued": run.status == StressRunStatus.QUEUED,
        "horizons": [],
        "chart": {},
    }
    result = run.result or {}
    for horizon in result.get("horizons") or []:
        years = horizon.get("years")
        edges = horizon.get("histogram_edges") or []
        counts = horizon.get("histogram_counts") or []
        labels = [
            f"{edges[i] / 10000:,.1f}–{edges[i + 1] / 10000:,.1f}" for i in range(min(len(counts), len(edges) - 1))
        ]
        key = f"horizon_{years}"
        data["chart"][key] = {"name": str(_("模拟次数")), "labels": labels, "values": counts[: len(labels)]}
        data["horizons"].append(
            {
                "key": key,
                "years": years,
                "mean": f"{horizon.get('mean_payout', 0):,}",
                "p50": f"{horizon.get('p50', 0):,}",
                "p90": f"{horizon.get('p90', 0):,}",
                "p95": f"{horizon.get('p95', 0):,}",
                "p99": f"{horizon.get('p99', 0):,}",
                "max": f"{horizon.get('max_payout', 0):,}",
                "exhausted": percent_text(horizon.get("probability_exhausted"), 2),
                "defaults": f"{horizon.get('expected_defaults', 0):.2f}",
            }
        )
    data["summary"] = {
        "simulations": result.get("simulations"),
        "loans": result.get("loans"),
        "exposure": f"{result.get('exposure', 0):,}",
        "fund_balance": f"{result.get('fund_balance', 0):,}",
        "from_history": bool(result.get("recovery_from_history")),
        "assumptions": result.get("assumptions") or {},
        "seconds": result.get("seconds"),
    }
    return data


def _fund_context(request: AuthenticatedRequest, fund: Fund, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    books = selectors.may_read_books(fund, user)
    manage = _is_fund_officer(fund, user, Action.CHANGE)
    approve = _is_fund_officer(fund, user, Action.APPROVE)
    figures = selectors.fund_figures(fund) if books else None
    versions = list(selectors.scheme_versions(user=user, fund=fund))
    schemes = [
        {
            "scheme": scheme,
            "versions": [_version_panel(v, user, manage, approve) for v in versions if v.scheme_id == scheme.pk],
        }
        for scheme in Scheme.objects.restrict(user, Action.VIEW).filter(fund=fund).order_by("code")
    ]
    runs = list(selectors.stress_runs(user=user, fund=fund)[:6]) if books else []
    latest = _stress_view(runs[0] if runs else None)
    contribution_form = None
    if manage:
        contribution_form = bound.get("contribution") or ContributionForm(sponsors=fund.sponsors.order_by("name"))
    return {
        "fund": fund,
        "status_css": FUND_BADGES.get(fund.status, "text-bg-secondary"),
        "books": books,
        "manage": manage,
        "may_add_scheme": _is_fund_officer(fund, user, Action.ADD),
        "figures": figures,
        "figure_rows": _figure_rows(fund, figures) if figures is not None else [],
        "sponsors": list(fund.sponsors.order_by("name")),
        "alerts": list(selectors.alert_list(user=user).filter(fund=fund, resolved_on__isnull=True)),
        "schemes": schemes,
        "contribution_form": contribution_form,
        "stress_form": (bound.get("stress") or StressForm()) if books else None,
        "stress": latest,
        "stress_runs": runs,
        "chart": latest["chart"] if latest and latest["chart"] else None,
        "idle_threshold": percent_text(fund.idle_utilisation, 0),
    }


def fund_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    fund = scoped_get(Fund, user=request.user, pk=pk)
    return render(request, "compensation/fund_detail.html", _fund_context(request, fund))


@require_POST
def contribution_record(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    fund = scoped_get(Fund, user=user, pk=pk, action=Action.CHANGE)
    form = ContributionForm(request.POST, sponsors=fund.sponsors.order_by("name"))
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.contribution_record(
                    fund=fund,
                    sponsor=d["sponsor"],
                    amount=Money(d["amount"]),
                    paid_on=d["paid_on"],
                    idempotency_key=d.get("idempotency_key") or new_idempotency_key(),
                    reference=d.get("reference") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("出资到账已登记。"))
            return redirect(reverse("compensation:fund_detail", args=[fund.pk]) + "#contribution")
    fund.refresh_from_db()
    return render(request, "compensation/fund_detail.html", _fund_context(request, fund, {"contribution": form}))


@require_POST
def stress_request(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    fund = scoped_get(Fund, user=user, pk=pk)
    if not selectors.may_read_books(fund, user):
        raise PermissionDenied
    form = StressForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.stress_run_request(
                    fund=fund,
                    acting_user=user,
                    simulations=form.cleaned_data["simulations"],
                    overrides=form.overrides(),
                )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("压力测试已提交，完成后在此显示结果。"))
            return redirect(reverse("compensation:fund_detail", args=[fund.pk]) + "#stress")
    return render(request, "compensation/fund_detail.html", _fund_context(request, fund, {"stress": form}))


def stress_run_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A stress run's page; polled by htmx from the fund page while the run is queued (then the page reloads to
    draw its charts)."""
    run = scoped_get(StressRun, user=request.user, pk=pk)
    view = _stress_view(run)
    assert view is not None
    if getattr(request, "htmx", False):
        if view["queued"]:
            return render(request, "compensation/partials/stress_result.html", {"stress": view, "fund": run.fund})
        return HttpResponseClientRefresh()
    return render(
        request,
        "compensation/stress_run.html",
        {"stress": view, "fund": run.fund, "chart": view["chart"] or None},
    )


def fund_ledger(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The fund's journal: the books readers see every entry, a party the entries touching its own accounts."""
    user = request.user
    fund = scoped_get(Fund, user=user, pk=pk)
    entries = selectors.entry_list(user=user).filter(fund=fund)
    claims = selectors.claim_list(user=user).filter(fund=fund).order_by("reference")
    filterset = EntryFilterSet(request.GET or None, queryset=entries, claims=claims)
    page = Paginator(filterset.qs.order_by("-value_date", "-pk"), PER_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    reversed_ids = set(
        JournalEntry.objects.filter(reverses_id__in=[e.pk for e in shown]).values_list("reverses_id", flat=True)
    )
    may_reverse = _is_fund_officer(fund, user, Action.APPROVE)
    rows = []
    for entry in shown:
        lines = []
        for line in entry.lines.all():
            account = line.account
            party = account.party.name if account.party is not None else fund.name
            fen = line.amount.fen
            lines.append(
                {
                    "account": account.get_kind_display(),
                    "role": account.get_role_display(),
                    "party": party,
                    "debit": _yuan(fen) if fen > 0 else "",
                    "credit": _yuan(-fen) if fen < 0 else "",
                }
            )
        reversible = (
            may_reverse
            and entry.kind in (EntryKind.PAYMENT, EntryKind.CONTRIBUTION)
            and entry.pk not in reversed_ids
            and not (entry.claim is not None and entry.claim.status in (ClaimStatus.CLEARING, ClaimStatus.CLEARED))
        )
        rows.append({"entry": entry, "lines": lines, "reversed": entry.pk in reversed_ids, "reversible": reversible})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compensation/fund_ledger.html",
        {
            "fund": fund,
            "filter": filterset,
            "page": page,
            "rows": rows,
            "reverse_form": EntryReverseForm(),
            "query": query.urlencode(),
        },
    )


@require_POST
def entry_reverse(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    entry = scoped_get(JournalEntry, user=user, pk=pk)
    target = reverse("compensation:fund_ledger", args=[entry.fund_id])
    form = EntryReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("冲正必须说明原因。"))
        return redirect(target)
    try:
        with transaction.atomic():
            reversal = services.entry_reverse(entry=entry, reason=form.cleaned_data["reason"], acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(
            request, _("凭证 #%(pk)s 已冲正（冲正凭证 #%(new)s）。") % {"pk": entry.pk, "new": reversal.pk}
        )
    return redirect(target)


# ---------------------------------------------------------------------------
# Schemes and versions
# ---------------------------------------------------------------------------


def _attach_version(
    exc: ValidationError, version_form: VersionForm, tiers: Any, scheme_form: SchemeForm | None = None
) -> None:
    """Errors of `scheme_create` / `scheme_version_draft`: `sharing_tiers` on the tiers formset, rules on the version
    form, code and name on the scheme form."""
    if not hasattr(exc, "error_dict"):
        version_form.add_error(None, exc)
        return
    rest: dict[str, list[ValidationError]] = {}
    for name, errors in exc.error_dict.items():
        if name == "sharing_tiers":
            tiers.non_form_errors().extend(m for e in errors for m in e.messages)
        elif scheme_form is not None and name in scheme_form.fields:
            scheme_form.add_error(name, errors)
        else:
            rest[name] = errors
    if rest:
        _attach(version_form, ValidationError(rest), SchemeVersion)


def _version_page(
    request: AuthenticatedRequest,
    fund: Fund,
    scheme: Scheme | None,
    *,
    initial: dict[str, Any] | None = None,
    initial_tiers: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    user = request.user
    data = request.POST if request.method == "POST" else None
    scheme_form = SchemeForm(data) if scheme is None else None
    version_form = VersionForm(data, initial=initial or {})
    tiers = tier_formset(data, initial=[TierForm.initial_for(t) for t in initial_tiers or []])
    if data is not None:
        valid = [version_form.is_valid(), tiers.is_valid(), scheme_form.is_valid() if scheme_form else True]
        if all(valid):
            stage = "scheme"
            try:
                with transaction.atomic():
                    target = scheme
                    if target is None:
                        assert scheme_form is not None
                        target = services.scheme_create(
                            fund=fund,
                            code=scheme_form.cleaned_data["code"],
                            name=scheme_form.cleaned_data["name"],
                            acting_user=user,
                        )
                    stage = "version"
                    version = services.scheme_version_draft(
                        scheme=target, rules=version_form.rules(tiers.tiers()), acting_user=user
                    )
            except ValidationError as exc:
                _attach_version(exc, version_form, tiers, scheme_form if stage == "scheme" else None)
            else:
                messages.success(
                    request,
                    _("方案 %(scheme)s 第 %(n)s 版草稿已保存，提交审批后由另一位复核人发布。")
                    % {"scheme": version.scheme.code, "n": version.number},
                )
                return redirect(reverse("compensation:fund_detail", args=[fund.pk]) + f"#scheme-{version.scheme_id}")
    return render(
        request,
        "compensation/version_form.html",
        {"fund": fund, "scheme": scheme, "scheme_form": scheme_form, "form": version_form, "tiers": tiers},
    )


def scheme_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A new scheme of a fund (补偿方案) with its first draft version."""
    fund = scoped_get(Fund, user=request.user, pk=pk, action=Action.ADD)
    return _version_page(request, fund, None)


def version_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A new draft version of a scheme, starting from the latest version's rules."""
    scheme = scoped_get(Scheme, user=request.user, pk=pk, action=Action.CHANGE)
    latest = scheme.versions.order_by("-number").first()
    initial = VersionForm.initial_for(latest) if latest is not None else None
    tiers = list(latest.sharing_tiers or []) if latest is not None else None
    return _version_page(request, scheme.fund, scheme, initial=initial, initial_tiers=tiers)


def _version_action(
    request: AuthenticatedRequest, pk: int, action: str, run: Callable[[SchemeVersion, User], Any], success: str
) -> HttpResponse:
    user = request.user
    version = scoped_get(SchemeVersion, user=user, pk=pk, action=action)
    try:
        with transaction.atomic():
            run(version, user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, success)
    return redirect(reverse("compensation:fund_detail", args=[version.scheme.fund_id]) + f"#scheme-{version.scheme_id}")


@require_POST
def version_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _version_action(
        request,
        pk,
        Action.CHANGE,
        lambda v, u: services.scheme_version_submit(version=v, acting_user=u),
        _("方案版本已提交审批。"),
    )


@require_POST
def version_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _version_action(
        request,
        pk,
        Action.APPROVE,
        lambda v, u: services.scheme_version_approve(version=v, acting_user=u),
        _("方案版本已发布。"),
    )


@require_POST
def version_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    form = VersionRejectForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _version_action(
        request,
        pk,
        Action.APPROVE,
        lambda v, u: services.scheme_version_reject(version=v, note=note, acting_user=u),
        _("方案版本已退回修改。"),
    )


# ---------------------------------------------------------------------------
# Enrolment (入池)
# ---------------------------------------------------------------------------


def may_enrol(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or scope.kind == OrganisationKind.BANK) and scope.may(Action.CHANGE)


def enrolment_list(request: AuthenticatedRequest) -> HttpResponse:
    filterset = EnrolmentFilterSet(request.GET or None, queryset=selectors.enrolment_list(user=request.user))
    table = _paged(request, EnrolmentTable(filterset.qs))
    return render(
        request,
        "compensation/enrolment_list.html",
        {"table": table, "filter": filterset, "can_enrol": may_enrol(request.user)},
    )


def enrolable_loans(user: Any) -> QuerySet[Loan]:
    """The bank's IP-pledge loans that may still be enrolled: approved, contracted or disbursed, performing, and not
    already in a pool."""
    return (
        Loan.objects.restrict(user, Action.CHANGE)
        .filter(is_ip_pledge=True, status__in=ENROLABLE_STATUSES)
        .exclude(classification__in=NON_PERFORMING_CLASSES)
        .exclude(fund_enrolments__status__in=OPEN_ENROLMENT_STATUSES)
        .select_related("borrower")
        .order_by("-created_at", "-pk")
    )


def enrolable_schemes(user: Any) -> QuerySet[Scheme]:
    from .choices import FundStatus

    return (
        Scheme.objects.restrict(user, Action.VIEW)
        .filter(fund__status=FundStatus.ACTIVE, versions__status=SchemeStatus.PUBLISHED)
        .select_related("fund")
        .distinct()
        .order_by("fund__code", "code")
    )


def enrolment_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_enrol(user):
        raise Http404
    parties = {
        role: Organisation.objects.filter(kind=kind, is_active=True).order_by("name")
        for role, kind in PARTY_KINDS.items()
    }
    initial = {"loan": request.GET.get("loan")} if request.GET.get("loan", "").isdigit() else {}
    form = EnrolForm(
        request.POST or None,
        loans=enrolable_loans(user),
        schemes=enrolable_schemes(user),
        parties=parties,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                enrolment = services.enrolment_create(
                    loan=d["loan"],
                    scheme=d["scheme"],
                    ip_share=fraction(d["ip_share"]),
                    insurer=d.get("insurer"),
                    guarantor=d.get("guarantor"),
                    valuer=d.get("valuer"),
                    acting_user=user,
                )
        except ValidationError as exc:
            _attach(form, exc, Enrolment)
        else:
            messages.success(request, _("贷款 %(ref)s 已入池。") % {"ref": enrolment.loan.reference})
            return redirect("compensation:enrolment_detail", enrolment.pk)
    return render(request, "compensation/enrolment_form.html", {"form": form})


def _enrolment_context(
    request: AuthenticatedRequest, enrolment: Enrolment, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    lender = _is_lender(user, enrolment.loan)
    active = enrolment.status == EnrolmentStatus.ACTIVE
    version = enrolment.scheme_version
    return {
        "enrolment": enrolment,
        "loan": enrolment.loan,
        "version": version,
        "status_css": ENROLMENT_BADGES.get(enrolment.status, "text-bg-secondary"),
        "ip_share": percent_text(enrolment.ip_share, 0),
        "loan_visible": Loan.objects.restrict(user, Action.VIEW).filter(pk=enrolment.loan_id).exists(),
        "tiers": tier_table(version.sharing_tiers),
        "claims": list(selectors.claim_list(user=user).filter(enrolment=enrolment)),
        "claim_badges": CLAIM_BADGES,
        "file_form": (bound.get("claim") or ClaimFileForm()) if lender and active else None,
        "release_form": (bound.get("release") or ReleaseForm()) if lender and active else None,
    }


def enrolment_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    enrolment = scoped_get(Enrolment, user=request.user, pk=pk)
    return render(request, "compensation/enrolment_detail.html", _enrolment_context(request, enrolment))


@require_POST
def enrolment_claim(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The lending bank files a claim (代偿申请) on its enrolled, non-performing loan."""
    user = request.user
    enrolment = scoped_get(Enrolment, user=user, pk=pk, action=Action.CHANGE)
    form = ClaimFileForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                claim = services.claim_file(
                    enrolment=enrolment,
                    acting_user=user,
                    collection_efforts=d.get("collection_efforts") or "",
                    unpaid_interest=money(d.get("unpaid_interest")),
                )
        except ValidationError as exc:
            _attach(form, exc, Claim)
        else:
            messages.success(request, _("代偿申请 %(ref)s 已提交。") % {"ref": claim.reference})
            return redirect("compensation:claim_detail", claim.pk)
    enrolment.refresh_from_db()
    return render(
        request, "compensation/enrolment_detail.html", _enrolment_context(request, enrolment, {"claim": form})
    )


@require_POST
def enrolment_release(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    enrolment = scoped_get(Enrolment, user=user, pk=pk, action=Action.CHANGE)
    form = ReleaseForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.enrolment_release(enrolment=enrolment, acting_user=user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _attach(form, exc, Enrolment)
        else:
            messages.success(request, _("贷款已出池。"))
            return redirect("compensation:enrolment_detail", enrolment.pk)
    enrolment.refresh_from_db()
    return render(
        request, "compensation/enrolment_detail.html", _enrolment_context(request, enrolment, {"release": form})
    )


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def claim_list(request: AuthenticatedRequest) -> HttpResponse:
    filterset = ClaimFilterSet(request.GET or None, queryset=selectors.claim_list(user=request.user))
    table = _paged(request, ClaimTable(filterset.qs))
    return render(request, "compensation/claim_list.html", {"table": table, "filter": filterset})


@dataclass(frozen=True)
class ClaimAction:
    """One action of the claim page: who is offered it, in which states, its form and the service it runs."""

    name: str
    label: Any
    permission: str  # the `restrict()` action the claim is fetched under
    statuses: frozenset[int]
    form: type[forms.Form]
    run: Callable[[Claim, User, dict[str, Any]], Any]
    success: Any
    offered_to: Callable[[Any, Claim], bool]
    icon: str = "check2"
    style: str = "primary"
    condition: Callable[[Claim, Any], bool] | None = None
    section: str = "actions"

    def available(self, user: Any, claim: Claim) -> bool:
        if claim.status not in self.statuses or not self.offered_to(user, claim):
            return False
        return self.condition is None or self.condition(claim, user)

    def make_form(self, data: Any = None) -> forms.Form:
        return self.form(data, auto_id=f"id_{self.name}_%s")

    def url(self, claim: Claim) -> str:
        return reverse(f"compensation:claim_{self.name}", args=[claim.pk])


def _fund_officer(action: str) -> Callable[[Any, Claim], bool]:
    return lambda user, claim: _is_fund_officer(claim.fund, user, action)


def _lender_of(user: Any, claim: Claim) -> bool:
    return _is_lender(user, claim.loan)


def _recorder(user: Any, claim: Claim) -> bool:
    return _is_fund_officer(claim.fund, user, Action.CHANGE) or _is_lender(user, claim.loan)


def _not_reviewer(claim: Claim, user: Any) -> bool:
    return claim.reviewed_by_id != user.pk


def _record_recovery(claim: Claim, user: User, d: dict[str, Any]) -> Any:
    return services.recovery_record(
        claim=claim,
        kind=d["kind"],
        value_date=d["value_date"],
        gross_amount=Money(d["gross_amount"]),
        costs=money(d.get("costs")),
        source_reference=d.get("source_reference") or "",
        note=d.get("note") or "",
        idempotency_key=d.get("idempotency_key") or new_idempotency_key(),
        acting_user=user,
    )


OPEN_FOR_DECISION = frozenset({ClaimStatus.FILED, ClaimStatus.REVIEWED})

CLAIM_ACTIONS: dict[str, ClaimAction] = {
    a.name: a
    for a in (
        ClaimAction(
            "review",
            gettext_lazy("初审通过"),
            Action.CHANGE,
            frozenset({ClaimStatus.FILED}),
            ReviewForm,
            lambda c, u, d: services.claim_review(claim=c, acting_user=u, note=d.get("note") or ""),
            gettext_lazy("代偿申请已初审，等待另一位复核人审批。"),
            _fund_officer(Action.CHANGE),
            icon="clipboard-check",
        ),
        ClaimAction(
            "approve",
            gettext_lazy("审批通过并先行拨付"),
            Action.APPROVE,
            frozenset({ClaimStatus.REVIEWED}),
            ApproveForm,
            lambda c, u, d: services.claim_approve(claim=c, acting_user=u, note=d.get("note") or ""),
            gettext_lazy("代偿申请已审批，基金已先行拨付，其他分担方的划款指令已发出。"),
            _fund_officer(Action.APPROVE),
            icon="check2-circle",
            style="success",
            condition=_not_reviewer,
        ),
        ClaimAction(
            "reject",
            gettext_lazy("驳回"),
            Action.CHANGE,
            OPEN_FOR_DECISION,
            RejectForm,
            lambda c, u, d: services.claim_reject(claim=c, acting_user=u, note=d["note"]),
            gettext_lazy("代偿申请已驳回。"),
            _fund_officer(Action.CHANGE),
            icon="x-circle",
            style="outline-danger",
        ),
        ClaimAction(
            "withdraw",
            gettext_lazy("撤回申请"),
            Action.CHANGE,
            OPEN_FOR_DECISION,
            WithdrawForm,
            lambda c, u, d: services.claim_withdraw(claim=c, acting_user=u, note=d.get("note") or ""),
            gettext_lazy("代偿申请已撤回，贷款回到资金池。"),
            _lender_of,
            icon="arrow-counterclockwise",
            style="outline-secondary",
        ),
        ClaimAction(
            "recovery",
            gettext_lazy("登记追偿回收"),
            Action.CHANGE,
            frozenset({ClaimStatus.ADVANCE_PAID}),
            RecoveryForm,
            _record_recovery,
            gettext_lazy("追偿回收已登记。"),
            _recorder,
            icon="arrow-down-circle",
            style="outline-primary",
            section="recoveries",
        ),
        ClaimAction(
            "clear",
            gettext_lazy("清算"),
            Action.CHANGE,
            frozenset({ClaimStatus.ADVANCE_PAID}),
            ClearForm,
            lambda c, u, d: services.claim_clear(claim=c, acting_user=u, note=d.get("note") or ""),
            gettext_lazy("清算完成：最终损失已按方案分担，多退少补的划款指令已发出。"),
            _fund_officer(Action.CHANGE),
            icon="calculator",
            style="warning",
        ),
    )
}


def _party_names(claim: Claim) -> dict[str, str]:
    enrolment = claim.enrolment
    return {
        PartyRole.FUND: claim.fund.name,
        PartyRole.BANK: claim.loan.bank.name,
        PartyRole.INSURER: enrolment.insurer.name if enrolment.insurer else "",
        PartyRole.GUARANTOR: enrolment.guarantor.name if enrolment.guarantor else "",
        PartyRole.VALUER: enrolment.valuer.name if enrolment.valuer else "",
    }


def _share_rows(
    names: dict[str, str], ratios: dict[str, Any], *columns: tuple[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per role in `ROLES` order: the role, its party, its ratio, then each named fen column in yuan."""
    roles = [r for r in ROLES if r in ratios or any(r in values for _k, values in columns)]
    rows = []
    for role in roles:
        ratio = ratios.get(role)
        row: dict[str, Any] = {
            "role": role,
            "label": _role_label(role),
            "party": names.get(role, ""),
            "ratio": percent_text(Decimal(str(ratio)), 2) if ratio is not None else "—",
        }
        for key, values in columns:
            row[key] = _yuan(values[role]) if role in values else "—"
        rows.append(row)
    return rows


def _preview(claim: Claim, names: dict[str, str]) -> dict[str, Any]:
    data = services.preview_advance(claim)
    if data.get("error"):
        return {"error": _("贷款余额超过方案最高分档，不在补偿范围内。")}
    advance = data.get("advance") or {}
    return {
        "tier": (data.get("tier_index") or 0) + 1,
        "rows": _share_rows(
            names, data.get("ratios") or {}, ("share", data.get("shares_fen") or {}), ("advance", advance)
        ),
        "total": _yuan(sum(advance.values())),
        "capped": _yuan(data.get("capped_fen") or 0) if data.get("capped_fen") else "",
        "cap_reason": CAP_REASONS.get(str(data.get("cap_reason") or ""), ""),
    }


def _clearing(terms: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    result = terms.get("clearing")
    if not result:
        return None
    shares = result.get("shares_fen") or {}
    paid = result.get("paid_fen") or {}
    return {
        "final_loss": _yuan(result.get("final_loss_fen") or 0),
        "rows": _share_rows(names, terms.get("ratios") or {}, ("final", shares), ("paid", paid)),
        "transfers": [
            {
                "payer": _role_label(t["payer"]),
                "payer_name": names.get(t["payer"], ""),
                "payee": _role_label(t["payee"]),
                "payee_name": names.get(t["payee"], ""),
                "amount": _yuan(t["fen"]),
            }
            for t in result.get("transfers") or []
        ],
        "capped": _yuan(result.get("capped_fen") or 0) if result.get("capped_fen") else "",
        "cap_reason": CAP_REASONS.get(str(result.get("cap_reason") or ""), ""),
    }


def _positions(claim: Claim) -> list[dict[str, Any]]:
    positions = ledger.claim_positions(claim)
    parties = dict(Organisation.objects.filter(pk__in={p for (_k, _r, p) in positions if p}).values_list("pk", "name"))
    order = {kind: i for i, kind in enumerate(AccountKind.values)}
    rows = []
    for (kind, role, party), fen in sorted(positions.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        rows.append(
            {
                "account": AccountKind(kind).label,
                "role": _role_label(role),
                "party": parties.get(party, "") if party else claim.fund.name,
                "debit": _yuan(fen) if fen > 0 else "",
                "credit": _yuan(-fen) if fen < 0 else "",
            }
        )
    return rows


def _claim_context(
    request: AuthenticatedRequest, claim: Claim, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    panels: dict[str, list[dict[str, Any]]] = {}
    for spec in CLAIM_ACTIONS.values():
        if not spec.available(user, claim):
            continue
        form = bound.get(spec.name) or spec.make_form()
        panels.setdefault(spec.section, []).append(
            {"spec": spec, "form": form, "url": spec.url(claim), "open": spec.name in bound}
        )
    enrolment = claim.enrolment
    version = enrolment.scheme_version
    names = _party_names(claim)
    terms = claim.terms or {}
    reviewer = _is_fund_officer(claim.fund, user, Action.CHANGE) or _is_fund_officer(claim.fund, user, Action.APPROVE)
    payments = list(selectors.payment_list(user=user).filter(claim=claim).order_by("instructed_on", "pk"))
    payable = set(
        Payment.objects.restrict(user, Action.CHANGE)
        .filter(claim=claim, status=PaymentStatus.INSTRUCTED)
        .values_list("pk", flat=True)
    )
    for payment in payments:
        payment.badge_css = PAYMENT_BADGES.get(payment.status, "text-bg-secondary")  # type: ignore[attr-defined]
        payment.payable = payment.pk in payable  # type: ignore[attr-defined]
    approved = bool(terms.get("ratios"))
    return {
        "claim": claim,
        "loan": claim.loan,
        "enrolment": enrolment,
        "version": version,
        "status_css": CLAIM_BADGES.get(claim.status, "text-bg-secondary"),
        "loan_visible": Loan.objects.restrict(user, Action.VIEW).filter(pk=claim.loan_id).exists(),
        "enrolment_visible": Enrolment.objects.restrict(user, Action.VIEW).filter(pk=enrolment.pk).exists(),
        "tiers": tier_table(terms.get("tiers") or version.sharing_tiers, terms.get("tier_index")),
        "ip_share": percent_text(enrolment.ip_share, 0),
        "terms": terms,
        "approved": approved,
        "advance_rows": (
            _share_rows(names, terms.get("ratios") or {}, ("advance", terms.get("advance_fen") or {}))
            if approved
            else []
        ),
        "terms_cap_reason": CAP_REASONS.get(str(terms.get("cap_reason") or ""), ""),
        "advance_ratio": percent_text(Decimal(str(terms["advance_ratio"])), 0) if terms.get("advance_ratio") else "",
        "preview": _preview(claim, names) if reviewer and claim.status in OPEN_FOR_DECISION else None,
        "clearing": _clearing(terms, names),
        "payments": payments,
        "payments_pending": any(p.status == PaymentStatus.INSTRUCTED for p in payments),
        "pay_form": PayForm(),
        "recoveries": list(
            Recovery.objects.restrict(user, Action.VIEW).filter(claim=claim).select_related("recorded_by")
        ),
        "positions": _positions(claim) if selectors.may_read_books(claim.fund, user) else None,
        "panels": panels,
        **history_context(user, claim),
    }


def _claim(user: Any, pk: int, action: str = Action.VIEW) -> Claim:
    claim = scoped_get(Claim, user=user, pk=pk, action=action)
    return Claim.objects.select_related(
        "fund",
        "loan__bank",
        "loan__borrower",
        "enrolment__scheme_version__scheme",
        "enrolment__insurer",
        "enrolment__guarantor",
        "enrolment__valuer",
        "enrolment__borrower",
        "filed_by",
        "reviewed_by",
        "approved_by",
    ).get(pk=claim.pk)


def claim_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    claim = _claim(request.user, pk)
    return render(request, "compensation/claim_detail.html", _claim_context(request, claim))


@require_POST
def claim_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    spec = CLAIM_ACTIONS.get(action)
    if spec is None:
        raise Http404
    user = request.user
    claim = _claim(user, pk, spec.permission)
    form = spec.make_form(request.POST)
    if not spec.available(user, claim):
        return _unavailable(request, claim, spec, form)
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(claim, user, form.cleaned_data)
        except ValidationError as exc:
            _attach(form, exc, Claim)
        else:
            messages.success(request, str(spec.success))
            return redirect(reverse("compensation:claim_detail", args=[claim.pk]) + f"#{spec.section}")
    claim = _claim(user, pk)
    return render(request, "compensation/claim_detail.html", _claim_context(request, claim, {spec.name: form}))


def _unavailable(request: AuthenticatedRequest, claim: Claim, spec: ClaimAction, form: forms.Form) -> HttpResponse:
    """An action the page does not offer (another state, someone else's role, the reviewer approving): the service
    still gets the request, so its rule is what the user reads (or 403 when the role may never do it)."""
    if form.is_valid():
        try:
            with transaction.atomic():
                spec.run(claim, request.user, form.cleaned_data)
        except ValidationError as exc:
            _flash_errors(request, exc)
        else:
            messages.success(request, str(spec.success))
    else:
        messages.error(
            request,
            _("代偿申请当前状态为“%(status)s”，不能%(action)s。")
            % {"status": claim.get_status_display(), "action": spec.label},
        )
    return redirect("compensation:claim_detail", claim.pk)


# ---------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------


def payment_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    filterset = PaymentFilterSet(request.GET or None, queryset=selectors.payment_list(user=user))
    payable = set(
        Payment.objects.restrict(user, Action.CHANGE)
        .filter(status=PaymentStatus.INSTRUCTED)
        .values_list("pk", flat=True)
    )
    table = _paged(request, PaymentTable(filterset.qs, payable=payable, next_url=request.get_full_path()))
    return render(request, "compensation/payment_list.html", {"table": table, "filter": filterset})


@require_POST
def payment_pay(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The payer (or the fund manager) confirms an instruction was paid (确认已支付)."""
    user = request.user
    payment = scoped_get(Payment, user=user, pk=pk, action=Action.CHANGE)
    form = PayForm(request.POST)
    fallback = (
        reverse("compensation:claim_detail", args=[payment.claim_id])
        if payment.claim_id
        else reverse("compensation:payment_list")
    )
    target = fallback
    if form.is_valid():
        d = form.cleaned_data
        target = _safe_next(request, d.get("next"), fallback)
        try:
            with transaction.atomic():
                services.payment_mark_paid(
                    payment=payment, acting_user=user, paid_on=d.get("paid_on"), reference=d.get("reference") or ""
                )
        except ValidationError as exc:
            _flash_errors(request, exc)
        else:
            messages.success(request, _("已确认支付 %(amount)s 元。") % {"amount": money_text(payment.amount)})
    else:
        _flash_errors(request, ValidationError(list(form.errors.values())))
    return redirect(target)
