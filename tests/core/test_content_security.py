"""Content-Security-Policy without inline scripts, frame denial and the other security headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

import ipledge

pytestmark = pytest.mark.django_db

TEMPLATE_ROOT = Path(ipledge.__file__).parent
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)


def _templates() -> list[Path]:
    return sorted(TEMPLATE_ROOT.rglob("templates/**/*.html"))


def test_templates_have_no_inline_script_or_event_handler() -> None:
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER):
            offenders.extend(f"{path.relative_to(TEMPLATE_ROOT)}: {m.group(0)}" for m in pattern.finditer(text))
    assert len(_templates()) > 100
    assert not offenders, offenders


def test_the_checker_would_catch_an_inline_script() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="text/javascript">x()</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/a.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script id="d" type="application/json">{}</script>')
    assert EVENT_HANDLER.search('<form onsubmit="return confirm(1)">')
    assert not EVENT_HANDLER.search('<form data-confirm="确定？">')


def test_pages_carry_the_security_headers(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_every_form_posting_in_templates_carries_a_csrf_token() -> None:
    missing = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        forms = re.finditer(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.I | re.S)
        missing.extend(str(path.relative_to(TEMPLATE_ROOT)) for form in forms if "csrf_token" not in form.group(1))
    assert not missing, missing


def test_htmx_requests_send_the_csrf_header() -> None:
    base = (TEMPLATE_ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    assert 'hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'' in base


def test_a_post_without_csrf_token_is_refused(django_user_model) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
