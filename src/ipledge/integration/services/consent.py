"""An enterprise's consent (授权) to share its whitelist entries with 信易贷 platforms.

Rules decided here:
- Only the enterprise's own users grant or revoke (`ShareConsent.scope_q`: its organisation tree for add / change);
  an API key principal may, but is never stored as the granting user.
- One live consent per enterprise (a partial unique constraint); granting while one is live answers the live one
  unchanged. Revoking sets `revoked_at`; from then on `enqueue_all` queues no entry of the enterprise, and its
  whitelist messages not yet delivered (pending, retrying or dead-lettered) are dropped so that no retry or requeue
  sends them. What was already delivered stays with the partner.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_now
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise

from ..models import ShareConsent


def _stored(user: Any) -> User | None:
    return user if user is not None and getattr(user, "pk", None) else None


def _error(field: str, message: Any, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def may_consent(user: Any, enterprise: Enterprise) -> bool:
    """Whether the user acts for the enterprise (its own organisation or one below it) with a writing role."""
    scope = scope_for(user)
    if scope is None or scope.kind != OrganisationKind.ENTERPRISE or not scope.may(Action.ADD):
        return False
    org = enterprise.organisation
    return org is not None and org.tree_path.startswith(scope.org_tree_path)


def live_consent(enterprise: Enterprise) -> ShareConsent | None:
    return ShareConsent.objects.filter(enterprise=enterprise, revoked_at__isnull=True).first()


def has_consent(enterprise: Enterprise) -> bool:
    """Whether the enterprise's whitelist entries may be pushed to 信易贷 platforms now."""
    return ShareConsent.objects.filter(enterprise=enterprise, revoked_at__isnull=True).exists()


@transaction.atomic
def consent_grant(*, actor: User, enterprise: Enterprise) -> ShareConsent:
    """Grant the consent; answers the live consent unchanged when one exists."""
    if not may_consent(actor, enterprise):
        raise PermissionDenied(_("只有企业本身可以授权共享其白名单信息。"))
    assert enterprise.organisation is not None  # may_consent checked it
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()  # serialise grants of one enterprise
    current = live_consent(enterprise)
    if current is not None:
        return current
    try:
        with transaction.atomic():
            consent = ShareConsent.objects.create(
                enterprise=enterprise,
                enterprise_org=enterprise.organisation,
                region_code=enterprise.region_code,
                granted_by=_stored(actor),
                granted_at=business_now(),
            )
    except IntegrityError:  # a concurrent grant won
        existing = live_consent(enterprise)
        if existing is None:
            raise
        return existing
    record_event(
        acting_user=actor,
        action="share_consent.grant",
        instance=consent,
        new={"enterprise": enterprise.pk, "granted_at": consent.granted_at},
    )
    return consent


@transaction.atomic
def consent_revoke(*, actor: User, consent: ShareConsent) -> ShareConsent:
    """Revoke a live consent: no further whitelist entry of the enterprise is queued for any partner."""
    locked = (
        ShareConsent.objects.restrict(actor, Action.CHANGE)
        .select_for_update(of=("self",))
        .filter(pk=consent.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("只有企业本身可以撤回其授权。"))
    if locked.revoked_at is not None:
        raise _error("consent", _("该授权已撤回。"), "already_revoked")
    now = business_now()
    locked.revoked_at = max(now, locked.granted_at)
    locked.revoked_by = _stored(actor)
    locked.save(update_fields=["revoked_at", "revoked_by"])
    from .outbound import withdraw_unsent_whitelist

    withdrawn = withdraw_unsent_whitelist(enterprise=locked.enterprise)
    record_event(
        acting_user=actor,
        action="share_consent.revoke",
        instance=locked,
        old={"revoked_at": None},
        new={"revoked_at": locked.revoked_at},
        extra={"unsent_messages_dropped": withdrawn},
    )
    return locked
