"""Bulk import / export pages (批量导入导出), mounted under /integration/bulk/.

Who: any signed-in organisation user exports what ``restrict(user, "view")`` lets it see; the import page and the
blank templates only for users who may add rows of that entity through its service (others: 404). The history
lists the transfers of the user's organisation (and those below it). Writes go through
``ipledge.integration.services.bulk``.
"""

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from ipledge.core import uploads
from ipledge.core.scoping import Action
from ipledge.core.views import AuthenticatedRequest

from ..bulk import exporting
from ..bulk import registry as bulk_registry
from ..models import BulkTransfer
from ..services import bulk as services

HISTORY = 50


class BulkImportForm(forms.Form):
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"))

    def clean_file(self) -> Any:
        return uploads.clean_form_file(self.cleaned_data["file"], policy=uploads.REGISTRY_IMPORT)


def _entity_or_404(user: Any, key: str) -> bulk_registry.Entity:
    entity = bulk_registry.get(key)
    if entity is None or not bulk_registry.may_export(user):
        raise Http404
    return entity


def _download(content: bytes, file_name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = uploads.content_disposition(file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def bulk_index(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not bulk_registry.may_export(user):
        raise Http404
    importable = set(services.importable_entities(user))
    entities = [{"entity": e, "importable": e.key in importable} for e in bulk_registry.ENTITIES]
    transfers = BulkTransfer.objects.restrict(user, Action.VIEW).select_related("organisation", "created_by")
    return render(
        request,
        "integration/bulk_index.html",
        {"entities": entities, "transfers": transfers[:HISTORY], "formats": exporting.FORMATS},
    )


@require_GET
def bulk_export(request: AuthenticatedRequest, entity: str) -> HttpResponse:
    found = _entity_or_404(request.user, entity)
    file_format = request.GET.get("format", exporting.XLSX)
    if file_format not in exporting.FORMATS:
        raise Http404
    export, _transfer = services.bulk_export(actor=request.user, entity_key=found.key, file_format=file_format)
    return _download(export.content, export.file_name, export.content_type)


@require_GET
def bulk_template(request: AuthenticatedRequest, entity: str, file_format: str) -> HttpResponse:
    found = _entity_or_404(request.user, entity)
    if file_format not in exporting.FORMATS or not services.may_import(request.user, found.key):
        raise Http404
    content, name = services.template(entity_key=found.key, file_format=file_format)
    return _download(content, name, exporting.CONTENT_TYPES[file_format])


@require_http_methods(["GET", "POST"])
def bulk_import(request: AuthenticatedRequest, entity: str) -> HttpResponse:
    found = _entity_or_404(request.user, entity)
    if not services.may_import(request.user, found.key):
        raise Http404
    form = BulkImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"entity": found, "form": form, "formats": exporting.FORMATS}
    if request.method == "POST" and form.is_valid():
        try:
            outcome, transfer = services.bulk_import(
                actor=request.user, entity_key=found.key, upload=form.cleaned_data["file"]
            )
        except PermissionDenied as exc:
            raise Http404 from exc
        context.update({"outcome": outcome, "transfer": transfer})
        return render(request, "integration/bulk_result.html", context, status=200 if outcome.ok else 400)
    return render(request, "integration/bulk_import.html", context, status=400 if form.is_bound else 200)


@require_GET
def bulk_transfer_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    transfer = (
        BulkTransfer.objects.restrict(request.user, Action.VIEW)
        .select_related("organisation", "created_by")
        .filter(pk=pk)
        .first()
    )
    if transfer is None:
        raise Http404
    entity = bulk_registry.get(transfer.entity)
    return render(request, "integration/bulk_transfer_detail.html", {"transfer": transfer, "entity": entity})


urlpatterns: list[URLPattern] = [
    path("bulk/", bulk_index, name="bulk_index"),
    path("bulk/<slug:entity>/export/", bulk_export, name="bulk_export"),
    path("bulk/<slug:entity>/template/<str:file_format>/", bulk_template, name="bulk_template"),
    path("bulk/<slug:entity>/import/", bulk_import, name="bulk_import"),
    path("bulk/transfers/<int:pk>/", bulk_transfer_detail, name="bulk_transfer_detail"),
]
