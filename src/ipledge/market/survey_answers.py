"""Typed survey answers (调查答案): validation and coercion of one raw answer per `QuestionKind`, and its display.

Pure functions (no database): the same rules serve the answer form, the API and the services. A raw answer comes
from a form (strings, lists of strings) or from JSON (numbers, booleans, lists); the coerced value is what the
response stores in its `answers` JSON:

| kind          | accepted                                                      | stored                          |
|---------------|---------------------------------------------------------------|---------------------------------|
| text          | a string of at most 300 characters                            | the stripped string             |
| long_text     | a string of at most 4000 characters                           | the stripped string             |
| integer       | an int, or a string of digits (full-width, 1,000 separators)  | int, |x| ≤ 2 147 483 647        |
| money         | a decimal in yuan, ≥ 0, at most 2 places; 万/亿/元 suffixes    | "5000000.00" (yuan, a string)   |
| choice        | one of the question's options                                 | the option                      |
| multi_choice  | a list of options (or one option)                             | list of options in option order |
| date          | YYYY-MM-DD (or a date)                                        | "YYYY-MM-DD"                    |
| yes_no        | true/false, "yes"/"no", "是"/"否", "1"/"0"                      | bool                            |
| rating        | an integer 1–5                                                | int                             |

Empty answers (None, "", blanks, []) are `None`: refused with `required` when the question must be answered,
otherwise simply not stored. Money never passes through float.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from .choices import QuestionKind

TEXT_MAX = 300
LONG_TEXT_MAX = 4000
INT_MAX = 2**31 - 1
MONEY_MAX = Decimal("1000000000000")  # one trillion yuan: far beyond any financing demand
RATING_MIN, RATING_MAX = 1, 5

CHOICE_KINDS = frozenset({QuestionKind.CHOICE, QuestionKind.MULTI_CHOICE})
NUMBER_KINDS = frozenset({QuestionKind.INTEGER, QuestionKind.MONEY})
TEXT_KINDS = frozenset({QuestionKind.TEXT, QuestionKind.LONG_TEXT})

_TRUE = frozenset({"true", "yes", "y", "1", "是", "有", "对"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "无", "没有"})
_UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}


class AnswerError(ValueError):
    """An answer that does not fit its question: `code` names the rule, `message` says it in words (zh-hans)."""

    def __init__(self, code: str, message: Any, params: dict[str, Any] | None = None) -> None:
        self.code = code
        self.message = message
        self.params = params or {}
        super().__init__(code)


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    if isinstance(raw, list | tuple | set):
        return all(is_empty(item) for item in raw)
    return False


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _text(raw: Any, limit: int) -> str:
    if not isinstance(raw, str):
        raise AnswerError("text", _("请填写文字。"))
    value = raw.strip()
    if len(value) > limit:
        raise AnswerError("max_length", _("不能超过%(limit)d个字。"), {"limit": limit})
    return value


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise AnswerError("integer", _("请输入整数。"))
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, Decimal) and raw == raw.to_integral_value():
        value = int(raw)
    elif isinstance(raw, str):
        text = _normalise(raw).replace(",", "").replace(" ", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise AnswerError("integer", _("请输入整数。"))
        value = int(text)
    else:
        raise AnswerError("integer", _("请输入整数。"))
    if abs(value) > INT_MAX:
        raise AnswerError("out_of_range", _("数值超出范围。"))
    return value


def parse_money(raw: Any) -> Decimal:
    """A non-negative yuan amount with at most two decimal places; `500万`, `1.2亿`, `30,000元` are understood."""
    if isinstance(raw, bool | float):
        raise AnswerError("money", _("请输入金额（元），如 500000 或 50万。"))
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, str):
        text = _normalise(raw).replace(",", "").replace(" ", "").removesuffix("元").removesuffix("人民币")
        factor = Decimal(1)
        if text and text[-1] in _UNITS:
            factor, text = _UNITS[text[-1]], text[:-1]
        if not re.fullmatch(r"\+?\d+(\.\d+)?", text):
            raise AnswerError("money", _("请输入金额（元），如 500000 或 50万。"))
        try:
            value = Decimal(text) * factor
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
            raise AnswerError("money", _("请输入金额（元），如 500000 或 50万。")) from exc
    else:
        raise AnswerError("money", _("请输入金额（元），如 500000 或 50万。"))
    if value < 0:
        raise AnswerError("negative", _("金额不能为负数。"))
    if value != value.quantize(Decimal("0.01")):
        raise AnswerError("money_places", _("金额最多保留两位小数（分）。"))
    if value > MONEY_MAX:
        raise AnswerError("out_of_range", _("金额超出范围。"))
    return value.quantize(Decimal("0.01"))


def _option(raw: Any, options: Sequence[str]) -> str:
    if not isinstance(raw, str):
        raise AnswerError("choice", _("请选择一个选项。"))
    value = raw.strip()
    if value in options:
        return value
    folded = {_normalise(o): o for o in options}
    if _normalise(value) in folded:
        return folded[_normalise(value)]
    raise AnswerError("choice", _("“%(value)s”不是本题的选项。"), {"value": value[:40]})


def _options(raw: Any, options: Sequence[str]) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple | set):
        raise AnswerError("choice", _("请选择选项。"))
    chosen = {_option(item, options) for item in items if not is_empty(item)}
    return [o for o in options if o in chosen]


def _date(raw: Any) -> str:
    if isinstance(raw, datetime.datetime):
        raw = raw.date()
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    if isinstance(raw, str):
        try:
            return datetime.date.fromisoformat(_normalise(raw)).isoformat()
        except ValueError:
            pass
    raise AnswerError("date", _("请输入日期（YYYY-MM-DD）。"))


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = _normalise(raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise AnswerError("yes_no", _("请选择“是”或“否”。"))


def _rating(raw: Any) -> int:
    try:
        value = _integer(raw)
    except AnswerError as exc:
        raise AnswerError("rating", _("请评1到5分。")) from exc
    if not RATING_MIN <= value <= RATING_MAX:
        raise AnswerError("rating", _("请评1到5分。"))
    return value


def coerce(kind: str, raw: Any, *, options: Sequence[str] = (), required: bool = True) -> Any:
    """The stored value of one raw answer, or None for an empty optional one; `AnswerError` otherwise."""
    if is_empty(raw):
        if required:
            raise AnswerError("required", _("此题为必答题。"))
        return None
    if kind == QuestionKind.TEXT:
        return _text(raw, TEXT_MAX)
    if kind == QuestionKind.LONG_TEXT:
        return _text(raw, LONG_TEXT_MAX)
    if kind == QuestionKind.INTEGER:
        return _integer(raw)
    if kind == QuestionKind.MONEY:
        return str(parse_money(raw))
    if kind == QuestionKind.CHOICE:
        return _option(raw, options)
    if kind == QuestionKind.MULTI_CHOICE:
        chosen = _options(raw, options)
        if not chosen:
            if required:
                raise AnswerError("required", _("此题为必答题。"))
            return None
        return chosen
    if kind == QuestionKind.DATE:
        return _date(raw)
    if kind == QuestionKind.YES_NO:
        return _yes_no(raw)
    if kind == QuestionKind.RATING:
        return _rating(raw)
    raise AnswerError("kind", _("未知题型。"))


def display(kind: str, value: Any) -> str:
    """A stored answer in words (xlsx cells, lists): money as yuan with separators, yes/no as 是/否, lists joined."""
    if value is None or value == "" or value == []:
        return ""
    if kind == QuestionKind.YES_NO:
        return str(_("是") if value else _("否"))
    if kind == QuestionKind.MONEY:
        return f"{Decimal(str(value)):,.2f}"
    if kind == QuestionKind.MULTI_CHOICE and isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def clean_options(raw: Any) -> list[str]:
    """Options as the builder stores them: strings, stripped, blanks dropped, order kept (duplicates kept, so that
    the caller can say they are duplicates)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list | tuple):
        raise AnswerError("choices", _("选项应为文字列表。"))
    cleaned = []
    for item in raw:
        if not isinstance(item, str):
            raise AnswerError("choices", _("选项应为文字列表。"))
        text = item.strip()
        if text:
            cleaned.append(text)
    return cleaned
