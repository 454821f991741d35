"""The valuation pages in English: an enterprise operator who chose English sees the navigation, headings, card
headers and table headers of the right's valuation page, the valuation list, the method and model card page and the
innovation score in English. Only the chrome is checked for Chinese: names, titles and other data stay as entered."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Texts(HTMLParser):
    """The text of every element whose tag is in `tags` or whose class or id is in `marks` (outermost match)."""

    def __init__(self, tags: set[str], marks: set[str]) -> None:
        super().__init__()
        self.tags, self.marks = tags, marks
        self.found: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if self._depth:
            self._depth += 1
            return
        names = set((dict(attrs).get("class") or "").split()) | {dict(attrs).get("id") or ""}
        if tag in self.tags or names & self.marks:
            self._depth, self._parts = 1, []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self._depth:
            return
        self._depth -= 1
        if not self._depth:
            self.found.append(" ".join(" ".join(self._parts).split()))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._parts.append(data)


def texts(html: str, *, tags: tuple[str, ...] = (), marks: tuple[str, ...] = ()) -> list[str]:
    parser = _Texts(set(tags), set(marks))
    parser.feed(html)
    return parser.found


def chrome(html: str, *, headings: bool = True) -> list[str]:
    """Sidebar navigation, card headers and table headers; the page's headings unless they hold data."""
    found = texts(html, tags=("th",), marks=("sidebar", "card-header"))
    if headings:
        found += texts(html, tags=("h1", "h2", "h3", "h4", "h5"))
    return found


def assert_english(found: list[str]) -> None:
    assert found
    chinese = [text for text in found if CJK.search(text)]
    assert not chinese, chinese


@pytest.fixture
def english(world: Any) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(world.user("ent1"))
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    return response.content.decode()


def test_navigation_and_registry_buttons_in_english(english: Client, world: Any) -> None:
    html = page(english, reverse("valuation:list"))
    sidebar = " ".join(texts(html, marks=("sidebar",)))
    assert "Valuation" in sidebar and "Valuations" in sidebar and "Valuation methods" in sidebar
    assert "价值评估" not in html and "评估列表" not in html
    right = page(english, reverse("registry:ipright_detail", args=[world.rights["r1"].pk]))
    assert texts(right, marks=("link-valuation",)) == ["Valuation"]
    enterprise = page(english, reverse("registry:enterprise_detail", args=[world.enterprises["e1"].pk]))
    assert texts(enterprise, marks=("link-innovation",)) == ["Innovation score"]


def test_right_valuation_page_in_english(english: Client, world: Any) -> None:
    url = reverse("valuation:right", args=[world.rights["r1"].pk])
    html = page(english, url)
    # The heading is the right's title (data); the rest of the chrome is English.
    assert_english(chrome(html, headings=False))
    assert "This IP right has not been valued yet." in html
    assert "Request a valuation" in html and "Valuation scenario" in html and "Value now" in html
    response = english.post(url, {"scenario": "finance"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Valuation done (version 1)." in html
    assert_english(chrome(html, headings=False))
    lowered = html.lower()
    assert "suggested pledge rate" in lowered and "suggested loan ceiling" in lowered
    assert "Version 1 details" in html and "Valuation report (.docx)" in html
    assert "Valuation versions" in html and "Income approach" in html and "Cost approach" in html
    assert "建议质押率" not in html and "评估版本" not in html


def test_valuation_list_in_english(english: Client, world: Any) -> None:
    english.post(reverse("valuation:right", args=[world.rights["r1"].pk]), {"scenario": "finance"})
    html = page(english, reverse("valuation:list"))
    assert_english(chrome(html))
    assert texts(html, tags=("h1",)) == ["IP valuation"]
    assert "suggested pledge rates" in html.lower()
    assert "Value range (P10–P90)" in html and "Automated valuation done" in html
    assert "Valuation method and model card" in html


def test_model_card_in_english(english: Client) -> None:
    html = page(english, reverse("valuation:model"))
    assert_english(chrome(html))
    assert texts(html, tags=("h1",)) == ["Valuation method and model card"]
    assert "Indicator model (finance scenario)" in html and "Learned model (LightGBM)" in html
    assert "Value score = legal adjustment factor" in html and "1%)" in html and "1%%" not in html


def test_innovation_score_in_english(english: Client, world: Any) -> None:
    url = reverse("valuation:enterprise", args=[world.enterprises["e1"].pk])
    html = page(english, url)
    assert_english(chrome(html))
    assert texts(html, tags=("h1",)) == ["Enterprise innovation score"]
    assert "Innovation score" in html
    response = english.post(url, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Innovation score updated." in html
    assert_english(chrome(html))
    assert "Score / grade" in html and "Contribution (points)" in html
    assert "创新能力评价" not in html
