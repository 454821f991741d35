"""Named isolation cases on the plain test world (the permission matrix builds a richer world once per module)."""

from __future__ import annotations

import pytest

from ipledge.core.choices import Role
from ipledge.core.models import Organisation
from ipledge.core.scoping import Action
from tests.core.test_permission_matrix import ORACLES

pytestmark = pytest.mark.django_db


def test_anonymous_and_inactive_users_see_nothing(world) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import AnonymousUser

    inactive = world.user("bank1", Role.ADMIN)
    inactive.is_active = False
    for model in ORACLES:
        assert not model._default_manager.restrict(AnonymousUser(), Action.VIEW).exists()
        assert not model._default_manager.restrict(None, Action.VIEW).exists()
        assert not model._default_manager.restrict(inactive, Action.VIEW).exists()


@pytest.mark.parametrize(
    ("viewer", "owner", "model_key"),
    [
        ("bank1_br", "bank1_br2", "orgs"),  # a branch does not see its sibling branch
        ("bank2", "bank1", "orgs"),  # one bank never sees another
        ("park2", "e1", "enterprises"),  # one park never sees another park's enterprises
        ("ent2", "e1", "enterprises"),
        ("ipo_js", "e1", "enterprises"),  # Jiangsu's office does not see Beijing's enterprises
        ("reg_bj", "e1", "enterprises"),  # the regulator reads bank data, not the registry
        ("bank1", "r1", "rights"),
    ],
)
def test_named_isolation_cases(world, viewer: str, owner: str, model_key: str) -> None:  # type: ignore[no-untyped-def]
    obj = getattr(world, model_key)[owner]
    user = world.user(viewer, Role.ADMIN)
    assert not type(obj)._default_manager.restrict(user, Action.VIEW).filter(pk=obj.pk).exists()


def test_head_office_sees_its_branches(world) -> None:  # type: ignore[no-untyped-def]
    seen = set(Organisation.objects.restrict(world.user("bank1", Role.VIEWER)).values_list("pk", flat=True))
    assert {world.orgs[k].pk for k in ("bank1", "bank1_br", "bank1_sub", "bank1_br2")} <= seen
    assert world.orgs["bank2"].pk not in seen
