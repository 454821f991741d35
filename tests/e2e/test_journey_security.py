"""Browser checks of the security headers in a real Chromium: the Content-Security-Policy (no inline script)
breaks nothing on the pages that draw charts or run scripts, and confirmations still ask before submitting.

Chromium reports every CSP violation on the console ("Refused to execute inline script …"), so a page that
needed an inline script or an `on…=` attribute would show up here as an error, not only as a missing chart.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_pages_with_scripts_run_under_the_policy(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    page = new_page(browser)
    problems = _watch(page)
    log_in(page, base, "ipo_bj_admin", "pass-ipo_bj")

    page.goto(f"{base}/lending/indicators/")
    page.wait_for_selector("#chart-new canvas")  # drawn by the static indicator_charts.js

    page.goto(f"{base}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)  # Swagger UI's own script files

    page.goto(f"{base}/")
    page.wait_for_load_state("networkidle")
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []


def test_a_confirmation_still_asks_before_submitting(live_server, world, browser) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    page = new_page(browser)
    problems = _watch(page)
    log_in(page, base, "ipo_bj_admin", "pass-ipo_bj")
    page.goto(f"{base}/settings/api-keys/")
    # A page-made form with data-confirm: app.js (a static file) must ask; dismissing keeps us on the page.
    page.evaluate(
        """() => {
            const form = document.createElement('form');
            form.method = 'get'; form.action = '/healthz'; form.dataset.confirm = '确定？';
            form.innerHTML = '<button id="probe" type="submit">go</button>';
            document.querySelector('main').appendChild(form);
        }"""
    )
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("#probe")
    page.wait_for_timeout(300)
    assert asked == ["确定？"]
    assert page.url == f"{base}/settings/api-keys/"
    assert problems == []
