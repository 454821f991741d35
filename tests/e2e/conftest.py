"""The `browser` fixture of the journeys: headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import chromium_path
from tests.e2e.browser import CHROMIUM_ARGS


@pytest.fixture
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("REQUIRE_BROWSER is set but Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the tests are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
