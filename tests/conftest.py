"""Shared fixtures: a small world with two provinces, two parks, two bank trees and users in every role."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _db_is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    require_browser = os.environ.get("REQUIRE_BROWSER") == "1"
    for item in items:
        if "postgres" in item.keywords and not _db_is_postgres():
            reason = (
                "runs in the PostgreSQL pass of `make test`"
                if os.environ.get("IPLEDGE_DB_PASS") == "sqlite"
                else "needs PostgreSQL: set DATABASE_URL=postgres://…"
            )
            item.add_marker(pytest.mark.skip(reason=reason))
        if "browser" in item.keywords and chromium_path() is None and not require_browser:
            item.add_marker(pytest.mark.skip(reason="needs headless Chromium: apt-get install chromium"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    from tests.world import build_world

    return build_world()


@pytest.fixture(autouse=True)
def _platform_language() -> Iterator[None]:
    """Each test starts in the platform's default language: the locale middleware activates the language of the
    last request in the thread, so a test that switched to English would otherwise leak it into the next one."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
