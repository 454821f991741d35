"""`ipledge seed_screening` on the test world: both provinces get imports, a published baseline and a park's
tightening; each park is screened, submitted and approved by its province; the first park's list is screened again
after a fresh court listing and the draft shows it leaving; banks subscribe and decide; a second `--if-empty` run
does nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from ipledge.core.models import AuditEvent
from ipledge.screening.choices import CriteriaLevel, CriteriaStatus, RecordKind, VersionStatus
from ipledge.screening.models import CreditImport, CreditRecord, Criteria, Subscription, WhitelistVersion
from tests.world import build_world

pytestmark = pytest.mark.django_db


def test_seed_screening_builds_the_whole_flow_through_the_services() -> None:
    w = build_world()
    out = io.StringIO()
    call_command("seed_screening", stdout=out)
    assert "Seeded screening" in out.getvalue()

    assert Criteria.objects.filter(level=CriteriaLevel.BASELINE, status=CriteriaStatus.PUBLISHED).count() == 2
    assert Criteria.objects.filter(level=CriteriaLevel.PARK, status=CriteriaStatus.PUBLISHED).count() == 2
    assert CreditImport.objects.filter(status="committed").exists()
    for park in (w.parks["p1"], w.parks["p2"]):
        approved = WhitelistVersion.objects.get(whitelist__park=park, status=VersionStatus.APPROVED)
        assert approved.decided_by is not None and approved.decided_by != approved.submitted_by
        assert approved.entries.count() == approved.candidates >= 1
        # Re-screened after a fresh court listing of its best-scored included enterprise (when it had one).
        draft = WhitelistVersion.objects.filter(whitelist__park=park, status=VersionStatus.DRAFT).first()
        if approved.included:
            assert draft is not None and draft.previous == approved
            removed = {item["enterprise_id"] for item in draft.diff["removed"]}
            listed = set(
                CreditRecord.objects.filter(kind=RecordKind.DISHONEST, source_key__contains="执恢").values_list(
                    "enterprise_id", flat=True
                )
            )
            assert removed & listed
    assert Subscription.objects.filter(bank=w.orgs["bank1_sub"], park=w.parks["p1"]).exists()
    assert AuditEvent.objects.filter(action__startswith="whitelist").exists()

    again = io.StringIO()
    call_command("seed_screening", "--if-empty", stdout=again)
    assert "nothing seeded" in again.getvalue()
