"""Typed answers (pure): every question kind's accepted inputs, stored values and refusals by rule; display."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from ipledge.market import survey_answers as sa
from ipledge.market.choices import QuestionKind as K

OPTIONS = ["发明专利", "商标", "软著"]


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        (K.TEXT, "  智能传感  ", "智能传感"),
        (K.LONG_TEXT, "第一行\n第二行", "第一行\n第二行"),
        (K.INTEGER, "1,200", 1200),
        (K.INTEGER, "１２", 12),
        (K.INTEGER, -3, -3),
        (K.MONEY, "500万", "5000000.00"),
        (K.MONEY, "1.2亿", "120000000.00"),
        (K.MONEY, "30,000元", "30000.00"),
        (K.MONEY, 1500, "1500.00"),
        (K.MONEY, Decimal("12.5"), "12.50"),
        (K.CHOICE, "商标", "商标"),
        (K.MULTI_CHOICE, ["软著", "发明专利"], ["发明专利", "软著"]),
        (K.MULTI_CHOICE, "商标", ["商标"]),
        (K.DATE, "2026-04-01", "2026-04-01"),
        (K.DATE, datetime.date(2026, 4, 1), "2026-04-01"),
        (K.YES_NO, "是", True),
        (K.YES_NO, "no", False),
        (K.YES_NO, False, False),
        (K.RATING, "5", 5),
    ],
)
def test_accepted(kind: str, raw: Any, stored: Any) -> None:
    assert sa.coerce(kind, raw, options=OPTIONS) == stored


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        (K.TEXT, "x" * 301, "max_length"),
        (K.TEXT, 5, "text"),
        (K.INTEGER, "12.5", "integer"),
        (K.INTEGER, True, "integer"),
        (K.INTEGER, 2**40, "out_of_range"),
        (K.MONEY, "五百万", "money"),
        (K.MONEY, 1.5, "money"),
        (K.MONEY, "-5", "money"),
        (K.MONEY, -5, "negative"),
        (K.MONEY, "1.234", "money_places"),
        (K.CHOICE, "房产", "choice"),
        (K.MULTI_CHOICE, ["商标", "房产"], "choice"),
        (K.DATE, "2026-02-30", "date"),
        (K.YES_NO, "也许", "yes_no"),
        (K.RATING, 0, "rating"),
        (K.RATING, "6", "rating"),
        (K.TEXT, "", "required"),
        (K.MULTI_CHOICE, [], "required"),
        (K.MULTI_CHOICE, ["", " "], "required"),
    ],
)
def test_refused(kind: str, raw: Any, code: str) -> None:
    with pytest.raises(sa.AnswerError) as info:
        sa.coerce(kind, raw, options=OPTIONS)
    assert info.value.code == code


def test_optional_empty_is_not_stored_and_display() -> None:
    assert sa.coerce(K.MONEY, "  ", required=False) is None
    assert sa.coerce(K.MULTI_CHOICE, [], options=OPTIONS, required=False) is None
    assert sa.display(K.MONEY, "5000000.00") == "5,000,000.00"
    assert sa.display(K.YES_NO, True) == "是" and sa.display(K.YES_NO, False) == "否"
    assert sa.display(K.MULTI_CHOICE, ["发明专利", "商标"]) == "发明专利；商标"
    assert sa.display(K.TEXT, None) == ""
    assert sa.clean_options("甲\n\n 乙 ") == ["甲", "乙"]


def test_histograms_and_statistics() -> None:
    from ipledge.market.selectors_surveys import _stats, histogram

    values = [Decimal(v) for v in ("1000000", "2500000", "3000000", "9000000")]
    bins = histogram(values, integer=False, money=True)
    assert [b["count"] for b in bins] == [3, 1] and bins[0]["label"] == "100万–500万"
    assert sum(b["count"] for b in histogram([Decimal(n) for n in range(1, 21)], integer=True, money=False)) == 20
    assert histogram([Decimal(12)] * 3, integer=True, money=False) == [{"label": "12", "count": 3}]
    assert histogram([], integer=True, money=False) == []
    stats = _stats(values, money=True)
    assert stats == {
        "count": "4",
        "mean": "3875000.00",
        "median": "2750000.00",
        "min": "1000000.00",
        "max": "9000000.00",
    }
