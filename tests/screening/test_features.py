"""Features and records read from the database (`ipledge.screening.features`), on the test world."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from ipledge.lending.choices import LoanClass, LoanStatus
from ipledge.registry.choices import LegalStatus, SizeClass
from ipledge.registry.models import IPRightOwner
from ipledge.screening.choices import MatchStatus, RecordKind
from ipledge.screening.engine.rules import SIZE_CLASSES, TAX_RATINGS
from ipledge.screening.engine.spec import FEATURE_SCHEMA, RECORD_SCHEMA
from ipledge.screening.features import build_features, build_features_at, load_records
from ipledge.valuation.choices import ValuationStatus
from ipledge.valuation.models import InnovationScore, Valuation
from tests.screening.factories_scorecards import add_invention, add_loan, add_record

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 1, 5)


def _row(frame: pl.DataFrame, i: int) -> dict:
    return frame.row(i, named=True)


def test_schema_order_and_registered_values(world):
    e1, e1b, e2 = (world.enterprises[k] for k in ("e1", "e1b", "e2"))
    frame = build_features([e2.pk, e1.pk, 99_999_999, e1b.pk], DAY)
    assert frame.schema == pl.Schema(FEATURE_SCHEMA)
    assert frame.get_column("enterprise_id").to_list() == [e2.pk, e1.pk, 99_999_999, e1b.pk]
    one = _row(frame, 1)
    assert one["industry_section"] == "I"
    assert one["is_high_tech"] is True and one["is_specialised"] is False
    assert one["revenue_yuan"] == 35_000_000.0
    assert one["asset_turnover"] == pytest.approx(0.7)
    assert one["invention_patents"] == 1  # r1, an invention patent granted 2021
    assert one["prior_loans"] == 0 and one["prior_bad_loans"] == 0
    assert _row(frame, 3)["asset_turnover"] is None  # E1b supplies no total assets: not supplied, not zero
    assert _row(frame, 0)["invention_patents"] == 0  # r2 is a utility model
    unknown = _row(frame, 2)
    assert unknown["industry_section"] is None and unknown["invention_patents"] == 0


def test_age_from_establishment_never_negative(world):
    e1 = world.enterprises["e1"]
    type(e1).objects.filter(pk=e1.pk).update(established_on=datetime.date(2016, 1, 5), size_class="")
    frame = build_features_at([(e1.pk, DAY), (e1.pk, datetime.date(2010, 1, 1))])
    assert _row(frame, 0)["age_years"] == pytest.approx(3653 / 365.25)
    assert _row(frame, 1)["age_years"] == 0.0
    assert _row(frame, 0)["size_class"] is None  # a blank size is unknown, not a size


def test_invention_patents_count_valid_granted_owned(world):
    e1 = world.enterprises["e1"]
    add_invention(e1, granted=datetime.date(2022, 1, 1))
    add_invention(e1, granted=datetime.date(2026, 6, 1))  # granted after the day
    add_invention(e1, legal_status=LegalStatus.LAPSED)
    gone = add_invention(e1)
    IPRightOwner.objects.filter(right=gone).delete()  # transferred away
    frame = build_features_at([(e1.pk, DAY), (e1.pk, datetime.date(2021, 12, 31))])
    assert _row(frame, 0)["invention_patents"] == 2  # r1 and the 2022 one
    assert _row(frame, 1)["invention_patents"] == 1


def test_valuation_grade_best_current_valuation_of_owned_rights(world):
    from ipledge.valuation import services

    e1 = world.enterprises["e1"]
    r1 = world.rights["r1"]
    first = services.valuation_run(ip_right=r1, acting_user=world.user("ent1"))
    second = services.valuation_run(ip_right=r1, acting_user=world.user("ent1"))
    today = first.valuation_date
    Valuation.objects.filter(pk=first.pk).update(grade="AAA")
    Valuation.objects.filter(pk=second.pk).update(grade="BB")
    assert _row(build_features([e1.pk], today), 0)["valuation_grade"] == "BB"  # the latest version, not the best
    other = add_invention(e1)
    third = services.valuation_run(ip_right=other, acting_user=world.user("ent1"))
    Valuation.objects.filter(pk=third.pk).update(grade="A")
    assert _row(build_features([e1.pk], today), 0)["valuation_grade"] == "A"  # the best right
    Valuation.objects.filter(pk=third.pk).update(status=ValuationStatus.RETURNED)
    assert _row(build_features([e1.pk], today), 0)["valuation_grade"] == "BB"  # returned by the checker
    Valuation.objects.filter(pk=third.pk).update(status=ValuationStatus.SIGNED_OFF, valid_until=today)
    assert _row(build_features([e1.pk], today), 0)["valuation_grade"] == "A"  # valid through its last day
    after = today + datetime.timedelta(days=1)
    assert _row(build_features([e1.pk], after), 0)["valuation_grade"] == "BB"  # expired
    IPRightOwner.objects.filter(right=r1).delete()
    assert _row(build_features([e1.pk], after), 0)["valuation_grade"] is None  # no longer its right
    before = first.valuation_date - datetime.timedelta(days=1)
    assert _row(build_features([e1.pk], before), 0)["valuation_grade"] is None  # not yet valued


def test_innovation_score_latest_on_or_before(world):
    e1 = world.enterprises["e1"]
    for day, value in ((datetime.date(2025, 1, 1), "40"), (datetime.date(2025, 6, 1), "72.5")):
        InnovationScore.objects.create(enterprise=e1, computed_on=day, score=value, grade="A", completeness="1")
    frame = build_features_at(
        [(e1.pk, datetime.date(2024, 12, 31)), (e1.pk, datetime.date(2025, 3, 1)), (e1.pk, datetime.date(2025, 6, 1))]
    )
    assert frame.get_column("innovation_score").to_list() == [None, 40.0, 72.5]


def test_prior_and_bad_loans_before_the_day(world):
    e1 = world.enterprises["e1"]
    add_loan(world, e1, datetime.date(2023, 1, 1), bad_on=datetime.date(2023, 8, 1))
    add_loan(world, e1, datetime.date(2024, 1, 1))
    add_loan(world, e1, datetime.date(2024, 5, 1), status=LoanStatus.DEFAULTED)
    defaulted = add_loan(world, e1, datetime.date(2024, 6, 1))
    type(defaulted).objects.filter(pk=defaulted.pk).update(defaulted_on=datetime.date(2025, 2, 1))
    npl_now = add_loan(world, e1, datetime.date(2024, 7, 1), classification=LoanClass.DOUBTFUL)
    type(npl_now).objects.filter(pk=npl_now.pk).update(classification_since=datetime.date(2025, 3, 1))
    frame = build_features_at(
        [
            (e1.pk, datetime.date(2023, 1, 1)),  # the first loan's own start: not prior
            (e1.pk, datetime.date(2023, 8, 1)),  # non-performing that very day: not yet before it
            (e1.pk, datetime.date(2023, 8, 2)),
            (e1.pk, datetime.date(2025, 4, 1)),
        ]
    )
    assert frame.get_column("prior_loans").to_list() == [0, 1, 1, 5]
    # 2025-04-01: the 2023 loan, the defaulted one (2025-02-01), the doubtful one (since 2025-03-01); the one with
    # status DEFAULTED but no date counts from its start.
    assert frame.get_column("prior_bad_loans").to_list() == [0, 0, 1, 4]


def test_load_records_matched_and_listed(world):
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    add_record(world, e1, RecordKind.DISHONEST, datetime.date(2025, 1, 1), removed_on=datetime.date(2025, 6, 1))
    add_record(world, e1, RecordKind.TAX_RATING, datetime.date(2025, 4, 1), tax_rating="B", rating_year=2024)
    add_record(world, e1, RecordKind.PENALTY, datetime.date(2026, 2, 1))  # listed after the day
    add_record(world, e2, RecordKind.ABNORMAL, datetime.date(2025, 1, 1), match_status=MatchStatus.CONFIRMED)
    add_record(world, None, RecordKind.ABNORMAL, datetime.date(2025, 1, 1), match_status=MatchStatus.PENDING)
    frame = load_records([e1.pk, e2.pk], DAY)
    assert frame.schema == pl.Schema(RECORD_SCHEMA)
    assert sorted(frame.get_column("kind").to_list()) == ["abnormal", "dishonest", "tax_rating"]
    tax = frame.filter(pl.col("kind") == "tax_rating").row(0, named=True)
    assert (tax["tax_rating"], tax["rating_year"]) == ("B", 2024)
    assert load_records([], DAY).is_empty()


def test_engine_constants_match_the_choices():
    from ipledge.screening.choices import TaxRating

    assert set(SIZE_CLASSES) == set(SizeClass.values)
    assert set(TAX_RATINGS) == set(TaxRating.values)


def test_queries_do_not_grow_with_enterprises(world, django_assert_max_num_queries):
    ids = [e.pk for e in world.enterprises.values()] * 3
    with django_assert_max_num_queries(7):
        build_features(ids, DAY)
    with django_assert_max_num_queries(1):
        load_records(ids, DAY)
