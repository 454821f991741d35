"""Valuation pages (知识产权评估): the list, a right's valuation page (indicator chart, range, pledge rate, ceiling,
versions), one valuation with the agency's submit / sign-off panel and the .docx report, bundles, batch revaluation
with progress (htmx polling), a bank's pledge-rate policy, an enterprise's innovation score and the model card.

Views are thin: reads start from `restrict()` (another organisation's valuation answers 404 like a missing one) and
every write runs one service; a `ValidationError` is shown next to the field it names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import OrganisationKind
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation, Region
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Enterprise, IPRight, Park
from ipledge.registry.views import history_context

from . import engine_bridge as bridge
from . import selectors, services
from .choices import BatchStatus, ValuationStatus
from .forms import BatchForm, BundleForm, PolicyForm, RunForm, SignOffForm, SubmitForm
from .models import RevaluationBatch, Valuation, ValuationBundle, ValuationModel
from .reports import gate_text, pledge_reason_text, valuation_report_docx
from .tables import BatchTable, ValuationTable

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PER_PAGE = 25


def _scope_kind(user: Any) -> str | None:
    scope = scope_for(user)
    return None if scope is None else scope.kind


def may_run(user: Any) -> bool:
    """Users who may ask for a valuation of a right they can see: operators and admins of organisations that
    reach rights (banks for their customers, enterprises, parks, IP offices)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or IPRight.scope_q(scope, Action.VIEW) is not None


def _agencies() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.VALUER).order_by("name")


def valuation_list(request: AuthenticatedRequest) -> HttpResponse:
    qs = selectors.valuation_list(user=request.user)
    grade = request.GET.get("grade", "").strip().upper()
    status = request.GET.get("status", "").strip()
    q = request.GET.get("q", "").strip()
    if grade:
        qs = qs.filter(grade=grade)
    if status in ValuationStatus.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(
            Q(ip_right__number__icontains=q) | Q(ip_right__title__icontains=q) | Q(bundle__name__icontains=q)
        )
    table = ValuationTable(qs.order_by("-created_at", "-pk"))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "valuation/valuation_list.html",
        {
            "table": table,
            "grades": bridge.GRADES,
            "statuses": ValuationStatus.choices,
            "current": {"grade": grade, "status": status, "q": q},
            "can_run": may_run(request.user),
        },
    )


def _chart_data(valuation: Valuation, *, english: bool) -> dict[str, Any]:
    labels = bridge.indicator_labels(valuation.scenario)
    items = sorted(valuation.contributions.items(), key=lambda kv: float(kv[1]))
    return {
        "indicators": [labels.get(k, (k, k))[1 if english else 0] for k, _v in items],
        "points": [round(float(v), 2) for _k, v in items],
        "dimensions": [bridge.indicator_dimension(valuation.scenario, k) for k, _v in items],
        "range": [float(valuation.p10.amount), float(valuation.p50.amount), float(valuation.p90.amount)],
        "labels": {
            "range": _("区间"),
            "approaches": [_("收益法"), _("成本法"), _("市场法")],
            "ten_thousand": _("万"),
        },
        "approaches": [
            None if valuation.value_income is None else float(valuation.value_income.amount),
            None if valuation.value_cost is None else float(valuation.value_cost.amount),
            None if valuation.value_market is None else float(valuation.value_market.amount),
        ],
    }


def _valuation_context(request: AuthenticatedRequest, valuation: Valuation) -> dict[str, Any]:
    user = request.user
    english = (get_language() or "").startswith("en")
    is_agency = (
        valuation.agency is not None
        and user.organisation is not None
        and user.organisation.kind == OrganisationKind.VALUER
        and valuation.agency.tree_path.startswith(user.organisation.tree_path)
    )
    scope = scope_for(user)
    labels = bridge.indicator_labels(valuation.scenario)
    contributions = [
        {
            "key": key,
            "label": labels.get(key, (key, key))[1 if english else 0],
            "dimension": bridge.dimension_label(bridge.indicator_dimension(valuation.scenario, key)),
            "points": float(points),
            "value": valuation.indicator_values.get(key),
        }
        for key, points in sorted(valuation.contributions.items(), key=lambda kv: -float(kv[1]))
    ]
    return {
        "valuation": valuation,
        "chart": _chart_data(valuation, english=english),
        "contributions": contributions,
        "gates": [gate_text(code) for code in valuation.gates],
        "pledge_reasons": [pledge_reason_text(code) for code in valuation.pledge_reasons],
        "members": [
            {
                **m,
                "p50": Money.from_fen(m["p50_fen"]),
                "loan_ceiling": Money.from_fen(m["loan_ceiling_fen"]),
                "reasons": [pledge_reason_text(code) for code in m.get("pledge_reasons", [])],
            }
            for m in valuation.details.get("members", [])
        ],
        "bundle_summary": valuation.details.get("bundle", {}),
        "may_submit": is_agency
        and scope is not None
        and scope.may(Action.CHANGE)
        and valuation.status in (ValuationStatus.COMPUTED, ValuationStatus.RETURNED),
        "may_sign": is_agency
        and scope is not None
        and scope.may(Action.APPROVE)
        and valuation.status == ValuationStatus.SUBMITTED
        and valuation.prepared_by_id != user.pk,
        "submit_form": SubmitForm(auto_id="id_submit_%s"),
        "sign_form": SignOffForm(auto_id="id_sign_%s"),
        **history_context(user, valuation),
    }


def right_valuation(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A right's valuation page: the latest valuation, its versions and the form to value it again."""
    right = scoped_get(IPRight, user=request.user, pk=pk)
    versions = list(selectors.latest_valuations(user=request.user, ip_right=right)[:20])
    form = RunForm(request.POST or None, agencies=_agencies())
    if request.method == "POST":
        if not may_run(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                valuation = services.valuation_run(
                    ip_right=right,
                    acting_user=request.user,
                    scenario=form.cleaned_data["scenario"],
                    agency=form.cleaned_data.get("agency"),
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("已完成评估（第 %(v)s 版）。") % {"v": valuation.version})
                return redirect("valuation:right", right.pk)
    context: dict[str, Any] = {"right": right, "versions": versions, "form": form, "can_run": may_run(request.user)}
    if versions:
        context.update(_valuation_context(request, versions[0]))
    return render(request, "valuation/right_valuation.html", context)


def valuation_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    valuation = scoped_get(Valuation, user=request.user, pk=pk)
    context = _valuation_context(request, valuation)
    if valuation.bundle_id is not None:
        context["versions"] = list(
            selectors.valuation_list(user=request.user).filter(bundle_id=valuation.bundle_id).order_by("-version")
        )
    elif valuation.ip_right_id is not None:
        context["versions"] = list(
            selectors.valuation_list(user=request.user).filter(ip_right_id=valuation.ip_right_id).order_by("-version")
        )
    return render(request, "valuation/valuation_detail.html", context)


def valuation_report(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    valuation = scoped_get(Valuation, user=request.user, pk=pk)
    response = HttpResponse(valuation_report_docx(valuation), content_type=DOCX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'评估报告-{valuation.pk}.docx')}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def valuation_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    valuation = scoped_get(Valuation, user=request.user, pk=pk, action=Action.CHANGE)
    form = SubmitForm(request.POST, auto_id="id_submit_%s")
    if form.is_valid():
        try:
            services.valuation_submit(valuation=valuation, acting_user=request.user, note=form.cleaned_data["note"])
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已提交复核。"))
    else:
        messages.error(request, _("请填写评估意见。"))
    return redirect("valuation:detail", valuation.pk)


@require_POST
def valuation_sign_off(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    valuation = scoped_get(Valuation, user=request.user, pk=pk, action=Action.APPROVE)
    form = SignOffForm(request.POST, auto_id="id_sign_%s")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.valuation_sign_off(
                valuation=valuation, acting_user=request.user, approve=approve, note=form.cleaned_data["note"]
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("评估已签发。") if approve else _("评估已退回。"))
    else:
        messages.error(request, _("请选择复核结论。"))
    return redirect("valuation:detail", valuation.pk)


# Bundles


def bundle_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not may_run(user):
        raise Http404
    enterprises = Enterprise.objects.restrict(user, Action.VIEW).order_by("name")
    form = BundleForm(request.POST or None, agencies=_agencies(), enterprises=enterprises)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visible = IPRight.objects.restrict(user, Action.VIEW)
        rights = list(visible.filter(number__in=data["numbers"]))
        missing = sorted(set(data["numbers"]) - {r.number for r in rights})
        if missing:
            form.add_error("numbers", _("未找到或无权查看：%(n)s。") % {"n": "、".join(missing)})
        else:
            try:
                bundle = services.bundle_create(
                    name=data["name"], enterprise=data["enterprise"], rights=rights, acting_user=user
                )
                valuation = services.bundle_value(
                    bundle=bundle, acting_user=user, scenario=data["scenario"], agency=data.get("agency")
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("组合「%(name)s」评估完成。") % {"name": bundle.name})
                return redirect("valuation:detail", valuation.pk)
    return render(request, "valuation/bundle_form.html", {"form": form})


@require_POST
def bundle_revalue(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    bundle = scoped_get(ValuationBundle, user=request.user, pk=pk)
    form = RunForm(request.POST, agencies=_agencies())
    if not form.is_valid():
        messages.error(request, _("评估场景无效。"))
        return redirect("valuation:list")
    try:
        valuation = services.bundle_value(
            bundle=bundle,
            acting_user=request.user,
            scenario=form.cleaned_data["scenario"],
            agency=form.cleaned_data.get("agency"),
        )
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, str(exc))
        return redirect("valuation:list")
    messages.success(request, _("已完成评估（第 %(v)s 版）。") % {"v": valuation.version})
    return redirect("valuation:detail", valuation.pk)


# Batch revaluation


def _batch_parks(user: Any) -> QuerySet[Park]:
    kind = _scope_kind(user)
    if kind == OrganisationKind.PARK_ADMIN:
        return Park.objects.filter(administering_org__tree_path__startswith=user.organisation.tree_path)
    if kind == OrganisationKind.IP_OFFICE or user.is_superuser:
        return Park.objects.restrict(user, Action.CHANGE)
    return Park.objects.none()


def may_batch(user: Any) -> bool:
    scope = scope_for(user)
    return (
        scope is not None
        and scope.may(Action.ADD)
        and (scope.is_platform or scope.kind in (OrganisationKind.PARK_ADMIN, OrganisationKind.IP_OFFICE))
    )


def batch_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    form = BatchForm(request.POST or None, parks=_batch_parks(user).order_by("name"))
    if request.method == "POST":
        if not may_batch(user):
            raise PermissionDenied
        if form.is_valid():
            region = None
            if form.cleaned_data.get("region_code"):
                region = Region.objects.filter(code=form.cleaned_data["region_code"]).first()
                if region is None:
                    form.add_error("region_code", _("地区代码不存在。"))
            if not form.errors:
                try:
                    batch = services.revaluation_batch_start(
                        acting_user=user,
                        park=form.cleaned_data.get("park"),
                        region=region,
                        scenario=form.cleaned_data["scenario"],
                    )
                except ValidationError as exc:
                    attach_errors(form, exc)
                except PermissionDenied as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, _("批量评估已提交。"))
                    return redirect("valuation:batch_detail", batch.pk)
    table = BatchTable(selectors.batch_list(user=user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "valuation/batch_list.html", {"table": table, "form": form, "can_batch": may_batch(user)})


def batch_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    batch = scoped_get(RevaluationBatch, user=request.user, pk=pk)
    is_htmx = bool(getattr(request, "htmx", False))
    template = "valuation/partials/batch_progress.html" if is_htmx else "valuation/batch_detail.html"
    running = batch.status in (BatchStatus.QUEUED, BatchStatus.RUNNING)
    recent = (
        selectors.valuation_list(user=request.user).filter(batch=batch).order_by("-score")[:20]
        if batch.status == BatchStatus.DONE
        else []
    )
    return render(request, template, {"batch": batch, "running": running, "top": recent})


# Bank pledge-rate policy


def pledge_policy(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    org = user.organisation
    if org is None or org.kind != OrganisationKind.BANK:
        raise Http404
    current = selectors.policy_for_bank(org)
    base = current.rules if current is not None else bridge.policy_rules(bridge.default_policy())
    scope = scope_for(user)
    may_edit = scope is not None and scope.may(Action.CHANGE)
    form = PolicyForm(
        request.POST or None,
        rules=base,
        labels=bridge.policy_labels(),
        initial={"name": current.name if current else _("本行质押率政策")},
    )
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.pledge_policy_set(
                    bank=org, name=form.cleaned_data["name"], rules=form.rules(base), acting_user=user
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("质押率政策已保存，此后的评估按新政策计算。"))
                return redirect("valuation:policy")
    return render(
        request,
        "valuation/policy.html",
        {
            "form": form,
            "current": current,
            "may_edit": may_edit,
            "inherited": current is not None and current.bank_id != org.pk,
        },
    )


# Enterprise innovation score (V1)


def enterprise_score(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    enterprise = scoped_get(Enterprise, user=user, pk=pk)
    scope = scope_for(user)
    may_compute = (
        scope is not None
        and scope.may(Action.VIEW)
        and scope.kind not in (OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM)
    )
    if request.method == "POST":
        if not may_compute:
            raise PermissionDenied
        try:
            services.innovation_score_compute(enterprise=enterprise, acting_user=user)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("创新能力评价已更新。"))
        return redirect("valuation:enterprise", enterprise.pk)
    scores = list(selectors.innovation_scores(user=user, enterprise=enterprise)[:12])
    latest = scores[0] if scores else None
    components = []
    if latest is not None:
        labels = bridge.enterprise_component_labels()
        english = (get_language() or "").startswith("en")
        for key, item in latest.components.items():
            if not isinstance(item, dict):
                continue
            components.append(
                {
                    "label": labels.get(key, (key, key))[1 if english else 0],
                    "points": item.get("points"),
                    "value": item.get("value"),
                    "weight": item.get("weight"),
                }
            )
    return render(
        request,
        "valuation/enterprise_score.html",
        {
            "enterprise": enterprise,
            "latest": latest,
            "scores": scores,
            "components": components,
            "may_compute": may_compute,
        },
    )


def model_card(request: AuthenticatedRequest) -> HttpResponse:
    models = list(ValuationModel.objects.restrict(request.user, Action.VIEW).order_by("-is_active", "-trained_at")[:10])
    return render(request, "valuation/model_card.html", {"models": models, "tree": bridge.scenario_summary()})
