"""The targets engine (百园万企, T1–T4) on hand-built frames: park attribution by membership on the registration
date, year-on-year growth computed by hand, exactly 20 % counts, a zero previous year gives no growth and does not
reach, provinces, new SMEs by size class and first financing, service convenience."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ipledge.monitoring.engine.targets import TargetFrames, park_figures, target_figures, trend

D = dt.date
PARKS = [
    {"park_id": 1, "park_name": "海淀园", "province_code": "110000", "province_name": "北京市", "is_key_park": True},
    {"park_id": 2, "park_name": "江宁园", "province_code": "320000", "province_name": "江苏省"},
    {"park_id": 3, "park_name": "昌平园", "province_code": "110000", "province_name": "北京市"},
]
MEMBERS = [
    {"enterprise_id": 10, "park_id": 1, "joined_on": D(2020, 1, 1)},
    {"enterprise_id": 20, "park_id": 2, "joined_on": D(2020, 1, 1)},
    # 30 moved from park 3 to park 1 on 2025-07-01: earlier registrations stay with park 3.
    {"enterprise_id": 30, "park_id": 3, "joined_on": D(2020, 1, 1), "left_on": D(2025, 7, 1)},
    {"enterprise_id": 30, "park_id": 1, "joined_on": D(2025, 7, 1)},
]


def regs(*rows: tuple[int, dt.date, int]) -> list[dict[str, Any]]:
    return [
        {"registration_id": i, "pledgor_id": pledgor, "registered_on": day, "claim_amount_fen": fen}
        for i, (pledgor, day, fen) in enumerate(rows, start=1)
    ]


def frames(registrations: list[dict[str, Any]], **more: Any) -> TargetFrames:
    return TargetFrames.from_rows(registrations=registrations, memberships=MEMBERS, parks=PARKS, **more)


def by_park(table: Any) -> dict[int, dict[str, Any]]:
    return {row["park_id"]: row for row in table.iter_rows(named=True)}


def test_growth_by_hand_and_exactly_twenty_percent_counts() -> None:
    rows = regs(
        # park 1, 2024: 5 projects, ¥1,000,000 in all; 2025: 6 projects (+20 % exactly), ¥1,250,000 (+25 %).
        *[(10, D(2024, 5, 1), 20_000_000)] * 5,
        *[(10, D(2025, 5, 1), 20_000_000)] * 5,
        (10, D(2025, 12, 31), 25_000_000),
        # park 2, 2024: 10 projects; 2025: 11 (+10 %): not reaching although the amount doubles.
        *[(20, D(2024, 2, 1), 1_000_000)] * 10,
        *[(20, D(2025, 2, 1), 2_000_000)] * 11,
    )
    parks = by_park(park_figures(frames(rows), 2025))
    one = parks[1]
    assert (one["projects"], one["projects_prev"]) == (6, 5)
    assert (one["amount_fen"], one["amount_prev_fen"]) == (125_000_000, 100_000_000)
    assert one["projects_growth"] == pytest.approx(0.20)
    assert one["amount_growth"] == pytest.approx(0.25)
    assert one["reaches_goal"] is True
    two = parks[2]
    assert two["projects_growth"] == pytest.approx(0.10)
    assert two["amount_growth"] == pytest.approx((22_000_000 - 10_000_000) / 10_000_000)
    assert two["reaches_goal"] is False


def test_just_below_twenty_percent_does_not_count() -> None:
    # Amount +19.99…%: ¥1,000,000 → ¥1,199,999.99.
    rows = regs(
        *[(10, D(2024, 5, 1), 20_000_000)] * 5,
        *[(10, D(2025, 5, 1), 20_000_000)] * 5,
        (10, D(2025, 6, 1), 19_999_999),
    )
    one = by_park(park_figures(frames(rows), 2025))[1]
    assert one["projects_growth"] == pytest.approx(0.20)
    assert one["reaches_goal"] is False


def test_zero_previous_year_has_no_growth_and_does_not_reach() -> None:
    rows = regs((20, D(2025, 3, 1), 5_000_000), (20, D(2025, 4, 1), 5_000_000))
    two = by_park(park_figures(frames(rows), 2025))[2]
    assert (two["projects"], two["projects_prev"]) == (2, 0)
    assert two["projects_growth"] is None and two["amount_growth"] is None
    assert two["reaches_goal"] is False
    # A park with nothing in either year is still listed, with zeros.
    three = by_park(park_figures(frames(rows), 2025))[3]
    assert (three["projects"], three["amount_fen"], three["reaches_goal"]) == (0, 0, False)


def test_registration_goes_to_the_park_of_the_registration_date() -> None:
    rows = regs((30, D(2025, 6, 30), 1_000), (30, D(2025, 7, 1), 2_000), (40, D(2025, 7, 1), 4_000))
    parks = by_park(park_figures(frames(rows), 2025))
    assert (parks[3]["projects"], parks[3]["amount_fen"]) == (1, 1_000)  # still in park 3 on 30 June
    assert (parks[1]["projects"], parks[1]["amount_fen"]) == (1, 2_000)  # moved on 1 July (left_on exclusive)
    assert sum(p["projects"] for p in parks.values()) == 2  # enterprise 40 belongs to no park


def test_overview_provinces_smes_and_convenience() -> None:
    rows = regs(
        (10, D(2024, 5, 1), 1_000),
        (10, D(2025, 5, 1), 2_000),
        (10, D(2025, 6, 1), 2_000),
        (20, D(2025, 5, 1), 3_000),
    )
    channels = [("online", 3), ("online", 2), ("online", 4), ("offline", 6)]
    for row, (channel, days) in zip(rows, channels, strict=True):
        row.update(channel=channel, turnaround_working_days=days)
    financed = [
        {"enterprise_id": 10, "size_class": "small", "province_code": "110000", "first_financed_on": D(2025, 2, 1)},
        {"enterprise_id": 11, "size_class": "micro", "province_code": "110000", "first_financed_on": D(2025, 9, 1)},
        {"enterprise_id": 20, "size_class": "medium", "province_code": "320000", "first_financed_on": D(2025, 3, 1)},
        # Large enterprises are not 中小微; earlier first financing is not new this year.
        {"enterprise_id": 21, "size_class": "large", "province_code": "320000", "first_financed_on": D(2025, 3, 1)},
        {"enterprise_id": 22, "size_class": "small", "province_code": "320000", "first_financed_on": D(2024, 3, 1)},
    ]
    loans = [
        {"loan_id": 1, "borrower_id": 10, "first_disbursed_on": D(2025, 2, 1)},
        {"loan_id": 2, "borrower_id": 20, "first_disbursed_on": D(2025, 3, 1)},
        {"loan_id": 3, "borrower_id": 11, "first_disbursed_on": D(2025, 9, 1)},
    ]
    demands = [
        {"demand_id": 1, "enterprise_id": 10, "created_on": D(2024, 12, 1)},
        {"demand_id": 2, "enterprise_id": 10, "created_on": D(2025, 1, 2)},  # the latest before the loan: 30 days
        {"demand_id": 3, "enterprise_id": 20, "created_on": D(2025, 2, 19)},  # 10 days
        {"demand_id": 4, "enterprise_id": 11, "created_on": D(2025, 9, 2)},  # after its loan: not counted
    ]
    data = frames(rows, financed=financed, loans=loans, demands=demands, implementation_rates={2025: 0.5})
    figures = target_figures(data, 2025)
    assert figures.parks_reaching == 1  # park 1: 1 → 2 projects, ¥10 → ¥40; park 2 had nothing last year
    assert figures.new_smes == 3
    assert figures.new_smes_by_size == {"medium": 1, "small": 1, "micro": 1}
    assert figures.implementation_rate == 0.5
    assert figures.turnaround_days_avg == pytest.approx(4.0)  # 2025 registrations: 2, 4 and 6 working days
    assert figures.online_share == pytest.approx(2 / 3)
    assert figures.demand_to_loan_days_median == pytest.approx(20.0)  # median of 30 and 10
    provinces = {row["province_code"]: row for row in figures.provinces.iter_rows(named=True)}
    assert provinces["110000"] == {
        "province_code": "110000",
        "province_name": "北京市",
        "parks": 2,
        "parks_reaching": 1,
        "key_parks": 1,
        "projects": 2,
        "amount_fen": 4_000,
        "new_smes": 2,
    }
    assert (provinces["320000"]["parks_reaching"], provinces["320000"]["new_smes"]) == (0, 1)


def test_trend_per_year() -> None:
    rows = regs((10, D(2023, 5, 1), 1_000), (10, D(2024, 5, 1), 2_000), (10, D(2024, 6, 1), 2_000))
    table = trend(frames(rows), [2023, 2024, 2025])
    assert table.select("year", "projects", "amount_fen", "parks_reaching").rows() == [
        (2023, 1, 1_000, 0),
        (2024, 2, 4_000, 1),
        (2025, 0, 0, 0),
    ]
