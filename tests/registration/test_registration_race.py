"""Race on PostgreSQL: 20 banks' filings for the same patent registered at once → exactly one pledge."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.registration.choices import Decision, DocumentType, FilingStatus
from ipledge.registration.models import PledgedRight, PledgeRegistration
from ipledge.registration.services import document_add, filing_confirm, filing_create, filing_decide
from ipledge.registry.services import ip_right_update
from tests.world import PDF_BYTES

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BANKS = 20


def test_twenty_concurrent_registrations_of_one_patent(world):
    today = timezone.localdate()
    right = world.rights["r1"]
    ip_right_update(right=right, data={"annual_fee_paid_until": today + datetime.timedelta(days=365)}, acting_user=None)
    filings = []
    for n in range(BANKS):
        bank = organisation_create(
            name=f"竞争银行{n}", kind=OrganisationKind.BANK, acting_user=None, region=world.orgs["bank1"].region
        )
        operator = user_create(
            username=f"race_bank_{n}", organisation=bank, role=Role.OPERATOR, password=None, acting_user=None
        )
        filing = filing_create(
            pledgor=world.enterprises["e1"],
            pledgee=bank,
            items=[{"ip_right": right}],
            acting_user=operator,
            claim_amount=Money("1000000"),
            performance_start=today,
            performance_end=today + datetime.timedelta(days=365),
            guarantee_scope="主债权",
        )
        for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY):
            document_add(filing=filing, doc_type=doc_type, filename="d.pdf", content=PDF_BYTES, acting_user=operator)
        filing_confirm(filing=filing, acting_user=world.user("ent1"))
        filings.append(filing)

    examiner = world.user("ipo_bj", Role.REVIEWER)
    barrier = threading.Barrier(BANKS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def register(filing) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=examiner)
            result = "registered"
        except ValidationError as exc:
            result = ",".join(sorted({e.code or "?" for e in exc.error_list}))
        except Exception as exc:  # anything else is a server error: the test must see it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=register, args=(f,)) for f in filings]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(outcomes) == BANKS
    assert outcomes.count("registered") == 1, outcomes
    assert all(o == "already_pledged" for o in outcomes if o != "registered"), outcomes
    assert PledgedRight.objects.filter(ip_right=right, is_active=True).count() == 1
    assert PledgeRegistration.objects.count() == 1
    statuses = sorted(f.__class__.objects.get(pk=f.pk).status for f in filings)
    assert statuses.count(FilingStatus.REGISTERED) == 1
