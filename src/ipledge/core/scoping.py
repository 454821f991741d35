"""Default-deny data isolation: `Model.objects.restrict(user, action)`.

Every model of ours carries a `RestrictedQuerySet` and a classmethod `scope_q(scope, action)` returning the Q
that bounds what an organisation may reach, or None for "nothing". The queryset first checks the user's role
allows the action at all, then filters. Objects outside the scope are simply absent, so views answer 404 for
"not yours" exactly as for "does not exist" (NetBox RestrictedQuerySet, Zulip access helpers).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from django.db import models
from django.db.models import Q

from .choices import AdminLevel, OrganisationKind, Role

if TYPE_CHECKING:
    from .models import User


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"
    APPROVE = "approve"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.OPERATOR: frozenset({Action.VIEW, Action.ADD, Action.CHANGE}),
    Role.REVIEWER: frozenset({Action.VIEW, Action.APPROVE}),
    Role.VIEWER: frozenset({Action.VIEW}),
}

# Oversight bodies read within their region but never write to other organisations' records.
READ_ONLY_KINDS = frozenset({OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.DEVELOPMENT_REFORM})


@dataclass(frozen=True)
class Scope:
    """What one user may reach, computed once per user object."""

    user_id: int
    role: str
    is_platform: bool
    organisation_id: int | None
    kind: str | None
    admin_level: str | None
    org_tree_path: str
    region_prefix: str | None  # "" for national bodies (whole country), None when the organisation has no region
    # An API key's own action set (a subset of its role's); None for people, whose role alone decides.
    key_actions: frozenset[str] | None = None

    def may(self, action: str) -> bool:
        if self.is_platform:
            return True
        if self.organisation_id is None:
            return False
        if self.key_actions is not None and str(action) not in self.key_actions:
            return False
        if self.kind in READ_ONLY_KINDS and action != Action.VIEW:
            return False
        return Action(action) in ROLE_ACTIONS.get(self.role, frozenset())

    @property
    def is_government(self) -> bool:
        return self.kind in (
            OrganisationKind.IP_OFFICE,
            OrganisationKind.FINANCIAL_REGULATOR,
            OrganisationKind.DEVELOPMENT_REFORM,
        )

    def region_q(self, field: str) -> Q | None:
        """Q matching a region-code field inside this organisation's jurisdiction."""
        if self.region_prefix is None:
            return None
        # A national body's prefix is "", which matches every code. Never return a bare Q() here: Q() | x == x
        # in Django, so an empty "match all" would silently vanish when OR-ed with another condition.
        return Q(**{f"{field}__startswith": self.region_prefix})

    def org_tree_q(self, field: str) -> Q:
        """Q matching an organisation's tree path: the organisation itself and everything below it."""
        return Q(**{f"{field}__startswith": self.org_tree_path})


def scope_for(user: Any) -> Scope | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_ipledge_scope", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    org = user.organisation
    region_prefix: str | None = None
    if org is not None:
        if org.admin_level == AdminLevel.NATIONAL:
            region_prefix = ""
        elif org.region_id:
            region_prefix = org.region.prefix
    scope = Scope(
        user_id=user.pk,
        role=user.role,
        is_platform=bool(user.is_superuser),
        organisation_id=org.pk if org else None,
        kind=org.kind if org else None,
        admin_level=org.admin_level if org else None,
        org_tree_path=org.tree_path if org else "-",
        region_prefix=region_prefix,
        key_actions=_key_actions(user),
    )
    user._ipledge_scope = scope
    return scope


def _key_actions(user: Any) -> frozenset[str] | None:
    """The action set of the API key a principal stands for (see `api_key_principal`); None for a person."""
    key = getattr(user, "_api_key", None)
    if key is None:
        return None
    return frozenset(str(a) for a in (key.actions or []))


class ScopedModel(Protocol):
    @classmethod
    def scope_q(cls, scope: Scope, action: str) -> Q | None: ...


_QS = TypeVar("_QS", bound="RestrictedQuerySet[Any]")
_M = TypeVar("_M", bound=models.Model)


class RestrictedQuerySet(models.QuerySet[_M]):
    def restrict(self, user: User | Any, action: str = Action.VIEW) -> Self:
        scope = scope_for(user)
        if scope is None or not scope.may(action):
            return self.none()
        if scope.is_platform:
            return self.all()
        q = self.model.scope_q(scope, str(action))  # type: ignore[attr-defined]
        if q is None:
            return self.none()
        return self.filter(q)


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):  # type: ignore[misc]
    pass


def scoped_through(field: str, parent: type[models.Model], parent_q: Q | None) -> Q | None:
    """Scope a child model by its parent: rows whose `field` points at a parent inside `parent_q` (None stays None)."""
    if parent_q is None:
        return None
    return Q(**{f"{field}__in": parent._default_manager.filter(parent_q).values("pk")})
