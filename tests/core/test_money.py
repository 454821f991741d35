from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from ipledge.core.money import Money, MoneyField, round_yuan

fen = st.integers(min_value=-(10**15), max_value=10**15)
decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False, places=4
)


@given(fen, fen)
def test_addition_is_exact_and_commutative(a: int, b: int) -> None:
    assert Money.from_fen(a) + Money.from_fen(b) == Money.from_fen(a + b) == Money.from_fen(b) + Money.from_fen(a)


@given(fen, fen)
def test_subtraction_inverts_addition(a: int, b: int) -> None:
    assert (Money.from_fen(a) + Money.from_fen(b)) - Money.from_fen(b) == Money.from_fen(a)


@given(decimals)
def test_rounding_is_half_up_to_the_fen(value: Decimal) -> None:
    money = Money(value)
    assert money.amount == value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert abs(money.amount - value) <= Decimal("0.005")


@given(fen, st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8).filter(lambda w: sum(w) > 0))
def test_allocation_adds_up_exactly_and_is_fair(total: int, weights: list[int]) -> None:
    parts = Money.from_fen(total).allocate(weights)
    assert sum(parts, Money(0)) == Money.from_fen(total)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(Decimal(part.fen) - Decimal(total) * weight / weight_sum) < 1


def test_known_values() -> None:
    assert Money("0.005").amount == Decimal("0.01")
    assert Money("-0.005").amount == Decimal("-0.01")
    assert Money("1234.5").fen == 123450
    assert str(Money("1234567.8")) == "1,234,567.80"
    assert Money("10") * Decimal("0.333") == Money("3.33")
    assert Money("8000000").allocate([54, 26, 16, 4]) == [
        Money("4320000"),
        Money("2080000"),
        Money("1280000"),
        Money("320000"),
    ]
    assert round_yuan("2.675") == Decimal("2.68")  # Decimal keeps 2.675 exact, unlike binary floats


def test_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Money(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MoneyField().to_python(0.1)


def test_money_is_immutable() -> None:
    money = Money("1")
    with pytest.raises(AttributeError):
        money.fen = 5  # type: ignore[misc]


def test_field_round_trip() -> None:
    field = MoneyField()
    assert field.get_prep_value(Money("12.34")) == 1234
    assert field.get_prep_value("1,000.10") == 100010
    assert field.from_db_value(1234, None, None) == Money("12.34")
    with pytest.raises(ValidationError):
        field.to_python("abc")
