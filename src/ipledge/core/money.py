"""Money (金额): exact yuan amounts stored as integer fen (分).

Django stores DecimalField as REAL on SQLite, so the database column is an integer count of fen and every
amount in Python is a `Money` whose `.amount` is a `Decimal` with two places. Rounding happens in one place,
`round_yuan`, under the platform-wide `settings.MONEY_ROUNDING` (ROUND_HALF_UP by default).
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal
from functools import total_ordering
from typing import Any

from django.conf import settings
from django.core import exceptions
from django.db import models
from django.utils.translation import gettext_lazy as _

FEN = Decimal("0.01")


def rounding_mode() -> str:
    return str(getattr(settings, "MONEY_ROUNDING", decimal.ROUND_HALF_UP))


def round_yuan(value: Decimal | int | str) -> Decimal:
    """Round a yuan amount to whole fen under the platform rounding rule."""
    if isinstance(value, float):
        raise TypeError("Money never takes float: pass Decimal, int or str")
    return Decimal(value).quantize(FEN, rounding=rounding_mode())


@total_ordering
class Money:
    """An exact amount in CNY, held as whole fen."""

    __slots__ = ("fen",)
    fen: int

    def __init__(self, amount: Decimal | int | str | Money = 0) -> None:
        fen = amount.fen if isinstance(amount, Money) else int(round_yuan(amount) * 100)
        object.__setattr__(self, "fen", fen)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Money is immutable")

    @classmethod
    def from_fen(cls, fen: int) -> Money:
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise TypeError("fen must be an int")
        money = cls.__new__(cls)
        object.__setattr__(money, "fen", fen)
        return money

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.fen) / 100).quantize(FEN)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money.from_fen(self.fen + other.fen)

    def __radd__(self, other: Any) -> Money:
        if other == 0:  # lets sum() work over Money values
            return self
        return self.__add__(other)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money.from_fen(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money.from_fen(-self.fen)

    def __abs__(self) -> Money:
        return Money.from_fen(abs(self.fen))

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, (float, Money)):
            return NotImplemented
        return Money(Decimal(self.fen) * Decimal(factor) / 100)

    __rmul__ = __mul__

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to weights; the parts add up exactly (largest remainder method)."""
        weights = [Decimal(w) for w in weights]
        total = sum(weights, Decimal(0))
        if not weights or total <= 0 or any(w < 0 for w in weights):
            raise ValueError("weights must be non-negative and sum to more than zero")
        raw = [Decimal(self.fen) * w / total for w in weights]
        parts = [int(r.to_integral_value(rounding=decimal.ROUND_FLOOR)) for r in raw]
        leftover = self.fen - sum(parts)
        by_remainder = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
        for i in by_remainder[:leftover]:
            parts[i] += 1
        return [Money.from_fen(p) for p in parts]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self.fen == other.fen
        if isinstance(other, int | Decimal) and not isinstance(other, bool):
            return self.amount == other
        return NotImplemented

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.fen < other.fen

    def __hash__(self) -> int:
        return hash(("Money", self.fen))

    def __bool__(self) -> bool:
        return self.fen != 0

    def __repr__(self) -> str:
        return f"Money('{self.amount}')"

    def __str__(self) -> str:
        return f"{self.amount:,}"


class MoneyField(models.BigIntegerField):
    """A money column: integer fen in the database, `Money` in Python."""

    description = _("金额（以分存储）")

    def from_db_value(self, value: int | None, expression: Any, connection: Any) -> Money | None:
        return None if value is None else Money.from_fen(int(value))

    def to_python(self, value: Any) -> Money | None:
        if value is None or isinstance(value, Money):
            return value
        if isinstance(value, float):
            raise exceptions.ValidationError(_("金额不能使用浮点数"), code="invalid")
        try:
            return Money(Decimal(str(value).replace(",", "")))
        except (decimal.InvalidOperation, ValueError) as exc:
            raise exceptions.ValidationError(
                _("金额格式无效：%(value)s"), code="invalid", params={"value": value}
            ) from exc

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        money = value if isinstance(value, Money) else self.to_python(value)
        assert money is not None
        return money.fen

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        from django import forms

        defaults = {"form_class": forms.DecimalField, "decimal_places": 2, "max_digits": 18}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)  # type: ignore[arg-type]

    def value_from_object(self, obj: Any) -> Any:
        value = super().value_from_object(obj)
        return value.amount if isinstance(value, Money) else value

    @property
    def validators(self) -> list[Any]:  # type: ignore[override]
        # The integer-range validators of BigIntegerField compare ints; ours compare the fen count instead.
        return [*self._validators, _validate_fen_range]  # type: ignore[attr-defined]


def _validate_fen_range(value: Money) -> None:
    if not -(2**63) < value.fen < 2**63 - 1:
        raise exceptions.ValidationError(_("金额超出可存储范围"), code="max_value")
