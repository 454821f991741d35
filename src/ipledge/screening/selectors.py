"""Screening reads other domains rely on; each area's own reads live in `selectors_<area>.py`."""

from __future__ import annotations

from ipledge.registry.models import Enterprise

from .choices import VersionStatus
from .models import WhitelistEntry


def is_whitelisted(enterprise: Enterprise) -> bool:
    """Whether the enterprise is included in the approved, current whitelist of any park (授信白名单企业).

    A system-level fact used by other domains' eligibility rules (e.g. a risk-compensation scheme that covers only
    whitelisted borrowers), so it is not scoped to a user: the caller has already been allowed to act on the loan."""
    return WhitelistEntry.objects.filter(
        enterprise=enterprise, included=True, version__status=VersionStatus.APPROVED
    ).exists()
