"""The LPR enters matching in basis points: a quote of 0.0345 (3.45 %) is 345 bp, so an LPR+90BP product costs 4.35 %
a year on the demand page and in the cost part of the score."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ipledge.lending.choices import LprTenor
from ipledge.lending.models import LprQuote
from ipledge.market.services.matching import current_rates

pytestmark = pytest.mark.django_db


def test_current_rates_are_basis_points_of_the_quotes_in_force() -> None:
    day = datetime.date(2031, 6, 30)
    LprQuote.objects.create(tenor=LprTenor.ONE_YEAR, effective_on=datetime.date(2031, 6, 20), rate=Decimal("0.0345"))
    LprQuote.objects.create(tenor=LprTenor.FIVE_YEAR, effective_on=datetime.date(2031, 6, 20), rate=Decimal("0.0395"))
    rates = current_rates(day)
    assert rates.lpr_1y_bp == 345
    assert rates.lpr_5y_bp == 395


def test_without_a_quote_the_rate_is_unknown() -> None:
    LprQuote.objects.all().delete()
    rates = current_rates(datetime.date(2031, 6, 30))
    assert rates.lpr_1y_bp is None and rates.lpr_5y_bp is None
