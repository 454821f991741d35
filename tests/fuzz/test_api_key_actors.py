"""Regressions found by the schema fuzzer: services that stored the acting user on a row (`prepared_by`,
`actor`, ...) crashed (500) when the caller was an API key, whose principal is an unsaved user. They now store no
user (the request's audit event names the key)."""

import pytest

from ipledge.core.choices import Role
from ipledge.core.services import api_key_create, api_key_principal
from ipledge.lending.choices import LoanClass
from ipledge.lending.classification import loan_classification_override
from ipledge.valuation import services as valuation_services
from tests.lending.factories import active_loan

pytestmark = pytest.mark.django_db


def _principal(world, org_key: str):  # type: ignore[no-untyped-def]
    key, _secret = api_key_create(
        organisation=world.orgs[org_key], name="etl", role=Role.ADMIN, acting_user=world.user(org_key, Role.ADMIN)
    )
    return key, api_key_principal(key)


def test_a_key_may_override_a_loan_classification(world) -> None:  # type: ignore[no-untyped-def]
    loan = active_loan(world)  # classified normal
    _key, principal = _principal(world, "bank1_sub")
    loan = loan_classification_override(
        loan=loan, to_class=LoanClass.SPECIAL_MENTION, reason="人工认定", acting_user=principal
    )
    # The override is a floor: the rules may classify the (by now overdue) loan lower still.
    assert loan.classification != LoanClass.NORMAL
    changes = loan.classification_changes.all()  # type: ignore[attr-defined]
    assert changes.exists() and all(change.actor_id is None for change in changes)


def test_a_valuer_key_may_submit_a_valuation(world) -> None:  # type: ignore[no-untyped-def]
    valuation = valuation_services.valuation_run(
        ip_right=world.rights["r1"], acting_user=world.user("ent1"), agency=world.orgs["valuer"]
    )
    _key, principal = _principal(world, "valuer")
    submitted = valuation_services.valuation_submit(valuation=valuation, acting_user=principal, note="同意")
    assert submitted.status == "submitted"
    assert submitted.prepared_by_id is None
