"""Shared pieces of the browser journeys: how Chromium is launched, a page per user, logging in and out."""

from __future__ import annotations

from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def new_page(browser: Any) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(f"{base}/")


def log_out(page: Any) -> None:
    page.click("form[action$='/logout/'] button[type=submit]")
    page.wait_for_url("**/login/**")
