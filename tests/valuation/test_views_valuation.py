"""Valuation pages: value a right from its page, the detail with contributions adding up, the agency panel, bundle
form errors, batch progress over htmx, the bank's policy form, the innovation score and the model card; another
organisation's valuation answers 404."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.context_processors import build_navigation
from ipledge.registry.services import ip_right_update
from ipledge.valuation.choices import ValuationStatus
from ipledge.valuation.models import PledgeRatePolicy, RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db


def login(world, org: str, role: str = Role.OPERATOR) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.user(org, role))
    return client


@pytest.fixture
def paid(world):  # type: ignore[no-untyped-def]
    ip_right_update(
        right=world.rights["r1"],
        data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=300)},
        acting_user=None,
    )
    return world


def test_value_from_the_right_page_and_read_the_detail(paid) -> None:  # type: ignore[no-untyped-def]
    w = paid
    client = login(w, "ent1")
    url = reverse("valuation:right", args=[w.rights["r1"].pk])
    page = client.get(url)
    assert page.status_code == 200 and "尚未评估" in page.content.decode()
    response = client.post(url, {"scenario": "finance", "agency": w.orgs["valuer"].pk})
    assert response.status_code == 302
    valuation = Valuation.objects.get()
    page = client.get(url).content.decode()
    assert 'id="valuation-grade"' in page and valuation.grade in page
    assert "contributions-table" in page and 'id="valuation-chart"' in page
    detail = client.get(reverse("valuation:detail", args=[valuation.pk])).content.decode()
    assert f"v{valuation.version}" in detail and "agency-panel" in detail
    assert 'action="/valuation/' not in detail or "submit" not in detail  # the enterprise sees no agency forms
    report = client.get(reverse("valuation:report", args=[valuation.pk]))
    assert report.status_code == 200 and report["Content-Disposition"].startswith("attachment")
    # Another enterprise gets 404 on every route of it.
    other = login(w, "ent2")
    assert other.get(reverse("valuation:detail", args=[valuation.pk])).status_code == 404
    assert other.get(reverse("valuation:report", args=[valuation.pk])).status_code == 404
    assert other.get(url).status_code == 404
    # The agency prepares and its reviewer signs off from the page.
    valuer = login(w, "valuer")
    assert "提交复核" in valuer.get(reverse("valuation:detail", args=[valuation.pk])).content.decode()
    valuer.post(reverse("valuation:submit", args=[valuation.pk]), {"note": "核对无误"})
    reviewer = login(w, "valuer", Role.REVIEWER)
    reviewer.post(reverse("valuation:sign_off", args=[valuation.pk]), {"decision": "approve", "note": ""})
    valuation.refresh_from_db()
    assert valuation.status == ValuationStatus.SIGNED_OFF


def test_viewer_cannot_run_and_bad_scenario_is_named(paid) -> None:  # type: ignore[no-untyped-def]
    w = paid
    url = reverse("valuation:right", args=[w.rights["r1"].pk])
    assert login(w, "ent1", Role.VIEWER).post(url, {"scenario": "finance"}).status_code == 403
    page = login(w, "ent1").post(url, {"scenario": "nonsense"})
    assert page.status_code == 200 and 'data-field="scenario"' in page.content.decode()
    assert not Valuation.objects.exists()


def test_bundle_form_names_unknown_numbers(paid) -> None:  # type: ignore[no-untyped-def]
    w = paid
    client = login(w, "ent1")
    page = client.post(
        reverse("valuation:bundle_create"),
        {
            "name": "组合",
            "enterprise": w.enterprises["e1"].pk,
            "numbers": f"{w.rights['r1'].number}\nZL000",
            "scenario": "finance",
        },
    )
    assert page.status_code == 200
    assert 'data-field="numbers"' in page.content.decode() and "ZL000" in page.content.decode()


def test_batch_page_and_progress_partial(paid, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    w = paid
    client = login(w, "park1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("valuation:batches"), {"park": w.parks["p1"].pk, "scenario": "finance"})
    assert response.status_code == 302
    batch = RevaluationBatch.objects.get()
    partial = client.get(reverse("valuation:batch_detail", args=[batch.pk]), headers={"HX-Request": "true"})
    assert partial.status_code == 200 and 'id="batch-progress"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    error = client.post(reverse("valuation:batches"), {"scenario": "finance"})
    assert "二选一" in error.content.decode()
    assert login(w, "ent1").post(reverse("valuation:batches"), {"park": w.parks["p1"].pk}).status_code == 403


def test_policy_page_for_banks_only(world) -> None:  # type: ignore[no-untyped-def]
    client = login(world, "bank1")
    page = client.get(reverse("valuation:policy"))
    assert page.status_code == 200 and 'id="policy-form"' in page.content.decode()
    form = page.context["form"]
    data = {name: field.initial for name, field in form.fields.items()}
    data["name"] = "北京银行 2026"
    assert client.post(reverse("valuation:policy"), data).status_code == 302
    assert PledgeRatePolicy.objects.get(is_active=True).name == "北京银行 2026"
    first_rule = next(name for name in data if "__" in name)
    data[first_rule] = "-1"
    assert client.post(reverse("valuation:policy"), data).status_code == 200
    assert login(world, "ent1").get(reverse("valuation:policy")).status_code == 404


def test_innovation_score_page_and_model_card(paid) -> None:  # type: ignore[no-untyped-def]
    w = paid
    client = login(w, "ent1")
    url = reverse("valuation:enterprise", args=[w.enterprises["e1"].pk])
    assert "no-score" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert 'id="innovation-score"' in client.get(url).content.decode()
    assert login(w, "ent2").get(url).status_code == 404
    card = client.get(reverse("valuation:model")).content.decode()
    assert "LightGBM" in card


def test_navigation_shows_valuation_to_the_right_kinds(world) -> None:  # type: ignore[no-untyped-def]
    def names(org: str, role: str = Role.OPERATOR) -> set[str]:
        return {i.url_name for s in build_navigation(world.user(org, role)) for i in s.items}

    assert {"valuation:list", "valuation:policy"} <= names("bank1")
    assert "valuation:batches" in names("park1") and "valuation:policy" not in names("park1")
    assert "valuation:list" in names("valuer")
    assert "valuation:batches" not in names("ent1")
