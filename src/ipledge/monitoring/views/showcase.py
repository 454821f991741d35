"""Public showcase pages (成效展示, O6), no login: the key and demonstration parks (重点 / 示范园区) by province with
the published typical cases (典型案例), one park's public measures (工作措施), results and cases, and one published
case. The reads are those of `selectors_cases` that name what is public; anything else answers 404 like a missing
page, so an unpublished case or an undesignated park cannot be told apart from one that does not exist.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from ipledge.core.context import business_date
from ipledge.registry.models import Park

from .. import selectors_cases as selectors
from ..models import TypicalCase

LATEST_CASES = 12


@login_not_required
@require_GET
def showcase_index(request: HttpRequest) -> HttpResponse:
    cases = list(selectors.public_cases()[:LATEST_CASES])
    names = selectors.region_names(c.region_code for c in cases)
    return render(
        request,
        "monitoring/showcase_index.html",
        {
            "provinces": selectors.showcase_provinces(),
            "cases": [{"case": c, "region_name": names.get(c.region_code, "")} for c in cases],
            "case_count": selectors.public_cases().count(),
        },
    )


@login_not_required
@require_GET
def showcase_park(request: HttpRequest, pk: int) -> HttpResponse:
    if pk not in selectors.showcase_park_ids():
        raise Http404
    park = Park.objects.select_related("region").get(pk=pk)
    designations = selectors.showcase_designations().filter(park=park).order_by("-year")
    province = selectors.province_code(park.region.code)
    return render(
        request,
        "monitoring/showcase_park.html",
        {
            "park": park,
            "province_name": selectors.region_names([province]).get(province, ""),
            "designations": designations,
            "measures": selectors.public_measures(park),
            "results": selectors.park_results(park, today=business_date()),
            "cases": selectors.public_cases().filter(park=park),
        },
    )


@login_not_required
@require_GET
def showcase_case(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        case = selectors.public_cases().get(pk=pk)
    except TypicalCase.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "monitoring/showcase_case.html",
        {
            "case": case,
            "region_name": selectors.region_names([case.region_code]).get(case.region_code, ""),
            "park_public": case.park_id is not None and case.park_id in selectors.showcase_park_ids(),
        },
    )


urlpatterns = [
    path("", showcase_index, name="index"),
    path("parks/<int:pk>/", showcase_park, name="park"),
    path("cases/<int:pk>/", showcase_case, name="case"),
]
