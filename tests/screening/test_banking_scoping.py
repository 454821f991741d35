"""Who reaches which banking row: `restrict(user, action)` for Subscription, CreditDecision, IntendedCreditLine and
LineAllocation against an independent oracle in plain Python, for every world user and action, on the rows of
`factories_banking.add_banking` (the permission matrix of tests/core uses the same oracles)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model

from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action
from ipledge.screening.models import CreditDecision, IntendedCreditLine, LineAllocation, Subscription
from tests.screening.factories_banking import add_banking
from tests.world import World

pytestmark = pytest.mark.django_db

ROLE_ACTIONS = {
    Role.ADMIN: set(Action),
    Role.OPERATOR: {Action.VIEW, Action.ADD, Action.CHANGE},
    Role.REVIEWER: {Action.VIEW, Action.APPROVE},
    Role.VIEWER: {Action.VIEW},
}
READ_ONLY = {OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM}
GOVERNMENT = {OrganisationKind.IP_OFFICE, *READ_ONLY}


def in_tree(org: Organisation, other: Organisation | None) -> bool:
    return other is not None and other.tree_path.startswith(org.tree_path)


def in_jurisdiction(org: Organisation, code: str | None) -> bool:
    prefix = "" if org.admin_level == AdminLevel.NATIONAL else (org.region.prefix if org.region else None)
    return prefix is not None and code is not None and code.startswith(prefix)


def role_allows(user: User, action: str) -> bool:
    if user.organisation.kind in READ_ONLY and action != Action.VIEW:
        return False
    return action in ROLE_ACTIONS[user.role]


# Banks: their own tree's subscriptions, lines and decisions; parks: their lines' allocations (which they make) and
# read their lines and the decisions on their whitelists; enterprises read their allocations and decisions; the
# region's government bodies read lines and decisions.
def subscription_oracle(user: User, action: str, obj: Subscription) -> bool:
    org = user.organisation
    return org.kind == OrganisationKind.BANK and action != Action.APPROVE and in_tree(org, obj.bank)


def credit_line_oracle(user: User, action: str, obj: IntendedCreditLine) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return in_tree(org, obj.bank)
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.park.administering_org)
    return org.kind in GOVERNMENT and in_jurisdiction(org, obj.region_code)


def line_allocation_oracle(user: User, action: str, obj: LineAllocation) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.line.park.administering_org)
    if org.kind == OrganisationKind.ENTERPRISE:
        return action == Action.VIEW and obj.enterprise.organisation_id == org.pk
    return action == Action.VIEW and credit_line_oracle(user, Action.VIEW, obj.line)


def credit_decision_oracle(user: User, action: str, obj: CreditDecision) -> bool:
    org = user.organisation
    if org.kind == OrganisationKind.BANK:
        return action != Action.APPROVE and in_tree(org, obj.bank)
    if action != Action.VIEW:
        return False
    if org.kind == OrganisationKind.ENTERPRISE:
        return obj.enterprise.organisation_id == org.pk
    if org.kind == OrganisationKind.PARK_ADMIN:
        return in_tree(org, obj.entry.version.whitelist.park.administering_org)
    return org.kind in GOVERNMENT and in_jurisdiction(org, obj.region_code)


ORACLES: dict[type[Model], Any] = {
    Subscription: subscription_oracle,
    IntendedCreditLine: credit_line_oracle,
    LineAllocation: line_allocation_oracle,
    CreditDecision: credit_decision_oracle,
}


@pytest.mark.parametrize("model", list(ORACLES), ids=lambda m: m.__name__)
def test_restrict_agrees_with_oracle(world: World, model: type[Model]) -> None:
    add_banking(world)
    oracle = ORACLES[model]
    objects = list(model._default_manager.all())
    assert len(objects) >= 2
    users = list(User.objects.select_related("organisation", "organisation__region").filter(is_superuser=False))
    disagreements = []
    reached = 0
    for user in users:
        for action in Action:
            got = set(model._default_manager.restrict(user, action).values_list("pk", flat=True))  # type: ignore[attr-defined]
            expected = {o.pk for o in objects if role_allows(user, action) and oracle(user, action, o)}
            reached += len(expected)
            if got != expected:
                disagreements.append(
                    f"{user.username} {action}: extra={sorted(got - expected)} missing={sorted(expected - got)}"
                )
    assert reached, "no user reaches any row: the test proves nothing"
    assert not disagreements, "\n".join(disagreements[:20])
