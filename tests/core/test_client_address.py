"""The client address behind trusted proxies: what login throttling and the API call record count by."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from ipledge.core.net import client_ip


def _request(remote: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(IPLEDGE_PROXY_COUNT=0)
def test_without_proxies_the_forwarded_header_is_ignored() -> None:
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


@override_settings(IPLEDGE_PROXY_COUNT=1)
def test_behind_one_proxy_the_last_forwarded_entry_is_the_client() -> None:
    # The client wrote "6.6.6.6" itself; nginx appended the address it really saw.
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request("10.0.0.2", "198.51.100.7")) == "198.51.100.7"


@override_settings(IPLEDGE_PROXY_COUNT=2)
def test_behind_two_proxies_the_second_entry_from_the_end() -> None:
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "   "])
@override_settings(IPLEDGE_PROXY_COUNT=1)
def test_a_missing_or_malformed_header_falls_back_or_gives_nothing(forwarded: str) -> None:
    address = client_ip(_request("10.0.0.2", forwarded))
    assert address in ("10.0.0.2", None)
    assert address != "not-an-address"


@override_settings(IPLEDGE_PROXY_COUNT=1)
@pytest.mark.django_db
def test_the_lockout_counts_by_the_forwarded_client(django_user_model) -> None:  # type: ignore[no-untyped-def]
    from axes.models import AccessAttempt
    from django.test import Client

    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    client.post("/login/", {"username": "nobody", "password": "wrong-password"})
    attempt = AccessAttempt.objects.get(username="nobody")
    assert attempt.ip_address == "198.51.100.7"
