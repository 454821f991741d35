"""The client's network address, as login throttling and the API call record see it.

Behind nginx every request comes from the proxy, so REMOTE_ADDR alone would put all users behind one address
(one user's failed logins would lock out everyone with the same name). The deployment says how many proxies
it trusts (`IPLEDGE_PROXY_COUNT`, nginx alone: 1); each appends the address it received from to
X-Forwarded-For, so the client is the entry that many places from the end. Entries further left were written
by the client itself and are never trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    proxies = int(getattr(settings, "IPLEDGE_PROXY_COUNT", 0))
    if proxies > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return _valid(forwarded[-proxies])
    return _valid(request.META.get("REMOTE_ADDR", ""))
