"""A scheme may cover only whitelisted borrowers (白名单企业, requirement M2 with W1): a loan to an enterprise outside
every park's current approved whitelist is refused at enrolment, naming the rule; inside, it enrols."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from ipledge.compensation import services
from ipledge.core.context import as_of
from ipledge.screening.choices import VersionStatus
from tests.compensation.factories import JIANGSU_TIERS, add_fund, publish_scheme
from tests.lending.factories import contracted_loan
from tests.screening.factories import approved_whitelist
from tests.world import build_world

pytestmark = pytest.mark.django_db


def _loan_to(w, borrower):  # type: ignore[no-untyped-def]
    return contracted_loan(w, principal="2000000.00", start=date(2025, 1, 15), borrower=borrower)


def test_whitelist_only_scheme_refuses_borrowers_outside_the_current_whitelist() -> None:
    w = build_world()
    fund = add_fund(w)
    scheme = publish_scheme(w, fund, "WL", "白名单企业专项", JIANGSU_TIERS, requires_whitelist=True)
    assert scheme.versions.get().requires_whitelist

    def enrol():  # type: ignore[no-untyped-def]
        with as_of(date(2025, 1, 15)):
            return services.enrolment_create(loan=_loan_to(w, "e1"), scheme=scheme, acting_user=w.user("bank1_sub"))

    with pytest.raises(ValidationError) as refused:  # no whitelist at all yet
        enrol()
    assert [e.code for e in refused.value.error_dict["loan"]] == ["not_whitelisted"]
    assert "白名单" in refused.value.error_dict["loan"][0].message

    approved = approved_whitelist(w)
    approved.included.included = False  # screened out of the current list
    approved.included.save(update_fields=["included"])
    with pytest.raises(ValidationError):
        enrol()

    approved.included.included = True
    approved.included.save(update_fields=["included"])
    assert enrol().scheme_version.requires_whitelist

    # A superseded version no longer counts: only the current approved list does.
    approved.version.status = VersionStatus.SUPERSEDED
    approved.version.save(update_fields=["status"])
    with pytest.raises(ValidationError):
        enrol()


def test_schemes_without_the_rule_ignore_whitelists() -> None:
    w = build_world()
    fund = add_fund(w)
    scheme = publish_scheme(w, fund, "OPEN", "普通方案", JIANGSU_TIERS)
    with as_of(date(2025, 1, 15)):
        enrolment = services.enrolment_create(loan=_loan_to(w, "e1"), scheme=scheme, acting_user=w.user("bank1_sub"))
    assert not enrolment.scheme_version.requires_whitelist
