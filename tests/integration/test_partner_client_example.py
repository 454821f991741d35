"""The partner client example (examples/partner_client.py) against a live server with a real API key of bank1:
it files a pledge, reads park P1's whitelist and pushes a repayment, and the rows exist afterwards."""

import datetime
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.core.services import api_key_create
from ipledge.lending.models import LoanTransaction
from ipledge.registration.models import PledgeFiling
from ipledge.screening.services import banking
from tests.lending.factories import active_loan
from tests.screening.factories import approved_whitelist
from tests.world import World

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "partner_client.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("partner_client_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_partner_client_files_reads_and_repays(world: World, live_server: object) -> None:
    example = load_example()
    bank = world.orgs["bank1"]
    _key, secret = api_key_create(
        organisation=bank, name="partner example", role=Role.OPERATOR, acting_user=world.user("bank1", Role.ADMIN)
    )
    approved = approved_whitelist(world)
    banking.subscription_create(
        bank=world.orgs["bank1_sub"], park=world.parks["p1"], acting_user=world.user("bank1_sub")
    )
    loan = active_loan(world, with_pledge=False)
    client = example.PartnerClient(str(live_server.url), secret)  # type: ignore[attr-defined]

    # (b) park P1's whitelist: E1 is included
    entries = example.read_whitelist(client, park_id=world.parks["p1"].pk)
    assert [e["enterprise"]["uscc"] for e in entries] == [approved.included.enterprise.uscc]

    # (c) a repayment, idempotent: the same key twice books one transaction
    first = example.push_repayment(
        client, loan_id=loan.pk, amount="1000.00", value_date="2025-02-15", idempotency_key="p-1"
    )
    again = example.push_repayment(
        client, loan_id=loan.pk, amount="1000.00", value_date="2025-02-15", idempotency_key="p-1"
    )
    assert first["id"] == again["id"]
    assert LoanTransaction.objects.filter(loan=loan, kind="repayment", idempotency_key="p-1").count() == 1

    # errors come back with field and rule
    with pytest.raises(example.ApiFailure) as failure:
        example.push_repayment(client, loan_id=loan.pk, amount="-1", value_date="2025-02-15", idempotency_key="p-2")
    assert failure.value.status == 422 and failure.value.errors[0]["field"]
    with pytest.raises(example.ApiFailure) as failure:
        example.PartnerClient(str(live_server.url), "ipk_wrong").call("GET", "/screening/bank/entries")  # type: ignore[attr-defined]
    assert failure.value.status == 401

    # (a) a pledge filing by bank1's key, for its sub-branch as pledgee (an API key files with no person: filed_by
    # stays empty).
    today = business_date()
    filing = example.file_pledge(
        client,
        pledgor_uscc=world.enterprises["e1"].uscc,
        pledgee_id=world.orgs["bank1_sub"].pk,
        claim_amount="1000000.00",
        performance_start=today.isoformat(),
        performance_end=(today + datetime.timedelta(days=365)).isoformat(),
        rights=[("patent", world.rights["r1"].number)],
        contract_no="HT-PARTNER-1",
    )
    stored = PledgeFiling.objects.get(pk=filing["id"])
    assert stored.pledgor == world.enterprises["e1"] and stored.contract_no == "HT-PARTNER-1"
