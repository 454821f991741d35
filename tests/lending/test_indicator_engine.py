"""The indicator engine on hand-built Polars frames: every figure computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from ipledge.lending.engine.indicators import (
    PUHUI_THRESHOLDS,
    LendingFrames,
    buckets,
    indicator_set,
    pledge_rates,
    puhui_threshold_on,
    quarter_ends,
)

D = dt.date
WAN = 1_000_000  # fen in ¥10,000


def loan(loan_id: int, **kw: Any) -> dict[str, Any]:
    row = {
        "loan_id": loan_id,
        "borrower_id": loan_id,
        "bank_id": 11,
        "bank_path": "/1/11/",
        "region_code": "110108",
        "size_class": "small",
        "principal_fen": 100 * WAN,
        "classification": "normal",
    }
    row.update(kw)
    return row


def tx(
    loan_id: int, kind: str, day: dt.date, amount: int, principal: int = 0, reversed: bool = False
) -> dict[str, Any]:
    if kind == "repayment" and not principal:
        principal = amount
    return {
        "loan_id": loan_id,
        "kind": kind,
        "value_date": day,
        "amount_fen": amount,
        "principal_fen": principal,
        "reversed": reversed,
    }


def run(frames: LendingFrames, start: dt.date, end: dt.date, **kw: Any) -> dict[str, pl.DataFrame]:
    return indicator_set(frames, period_start=start, period_end=end, **kw)


def summary(tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    return tables["lending_summary"].row(0, named=True)


def by(tables: dict[str, pl.DataFrame], name: str, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in tables[name].iter_rows(named=True)}


Q1 = (D(2024, 1, 1), D(2024, 3, 31))


def test_new_loans_count_first_disbursement_and_amount_every_tranche() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 6, 30),
        loans=[loan(1), loan(2), loan(3, borrower_id=1), loan(4, is_ip_pledge=False)],
        transactions=[
            tx(1, "disbursement", D(2024, 1, 10), 100 * WAN),
            tx(1, "disbursement", D(2024, 3, 1), 50 * WAN),  # second tranche of a new loan
            tx(2, "disbursement", D(2023, 12, 20), 40 * WAN),  # first disbursed before the period
            tx(2, "disbursement", D(2024, 2, 1), 30 * WAN),  # ... its tranche in the period counts in the amount
            tx(3, "disbursement", D(2024, 2, 2), 20 * WAN),  # same borrower as loan 1
            tx(3, "disbursement", D(2024, 2, 3), 99 * WAN, reversed=True),  # reversed: ignored
            tx(4, "disbursement", D(2024, 2, 3), 70 * WAN),  # not an IP-pledge loan: ignored
            tx(1, "disbursement", D(2024, 4, 1), 5 * WAN),  # after the period
        ],
    )
    s = summary(run(frames, *Q1))
    # amount: 100 + 50 + 30 + 20 = 200 万; count: loans 1 and 3 (loan 2 began in 2023); borrowers {1, 2}
    assert s["new_amount_fen"] == 200 * WAN
    assert s["new_loans"] == 2
    assert s["borrowers"] == 2


def test_balance_is_rebuilt_at_the_period_end_not_read_from_today() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1), loan(2, borrower_id=1), loan(3)],
        transactions=[
            tx(1, "disbursement", D(2024, 1, 5), 100 * WAN),
            tx(1, "repayment", D(2024, 2, 5), 12 * WAN, principal=10 * WAN),  # 2 万 of it interest
            tx(1, "repayment", D(2024, 5, 5), 90 * WAN),  # repaid in full after Q1
            tx(2, "disbursement", D(2024, 3, 31), 30 * WAN),
            tx(2, "write_off", D(2024, 9, 1), 30 * WAN),
            tx(3, "disbursement", D(2024, 1, 5), 10 * WAN),
            tx(3, "repayment", D(2024, 3, 1), 10 * WAN),
            tx(3, "repayment", D(2024, 3, 2), 1 * WAN, reversed=True),
        ],
    )
    q1 = summary(run(frames, *Q1))
    # at 31 Mar: loan 1 = 100 − 10 = 90; loan 2 = 30; loan 3 = 10 − 10 = 0 → 120 万, borrower 1 only (loans 1 and 2)
    assert q1["balance_fen"] == 120 * WAN
    assert q1["loans_with_balance"] == 2
    assert q1["clients_with_balance"] == 1
    year = summary(run(frames, D(2024, 1, 1), D(2024, 12, 31)))
    assert year["balance_fen"] == 0  # loan 1 repaid, loan 2 written off
    series = run(frames, *Q1)["lending_series"]
    # Jan: 100 + 10 = 110; Feb: 90 + 0 (loan 3 repaid 1 Mar, so still 10) = 100; Mar: 90 + 30 = 120
    assert series.get_column("balance_fen").to_list() == [110 * WAN, 100 * WAN, 120 * WAN]
    assert series.get_column("bucket").to_list() == [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)]


def test_class_at_period_end_comes_from_the_history() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 6, 30),
        loans=[loan(1, classification="doubtful"), loan(2), loan(3, classification="loss")],
        transactions=[
            tx(1, "disbursement", D(2023, 6, 1), 100 * WAN),
            tx(2, "disbursement", D(2023, 6, 1), 300 * WAN),
            tx(3, "disbursement", D(2023, 6, 1), 100 * WAN),
        ],
        classification_changes=[
            {"loan_id": 1, "business_day": D(2024, 2, 15), "from_class": "normal", "to_class": "substandard"},
            {"loan_id": 1, "business_day": D(2024, 5, 10), "from_class": "substandard", "to_class": "doubtful"},
        ],
    )
    jan = summary(run(frames, D(2024, 1, 1), D(2024, 1, 31)))
    # 31 Jan: loan 1 still normal (first change later: its from_class); loan 3 has no history: current class (loss)
    assert jan["npl_balance_fen"] == 100 * WAN
    assert jan["npl_ratio"] == pytest.approx(100 / 500)
    feb = summary(run(frames, D(2024, 2, 1), D(2024, 2, 29)))
    assert feb["npl_balance_fen"] == 200 * WAN  # loan 1 substandard since 15 Feb + loan 3
    today = summary(run(frames, D(2024, 6, 1), D(2024, 6, 30)))
    assert today["npl_balance_fen"] == 200 * WAN  # period end = as_of: current classes (doubtful, normal, loss)
    series = run(frames, D(2024, 1, 1), D(2024, 3, 31))["lending_series"]
    assert series.get_column("npl_balance_fen").to_list() == [100 * WAN, 200 * WAN, 200 * WAN]


def test_renewal_without_principal_repayment_carries_the_balance_and_is_not_new_lending() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[
            loan(1, closed_on=D(2024, 3, 1)),
            loan(2, renewal_of_id=1, borrower_id=1),  # 无还本续贷: opened by a rollover
            loan(3),
            loan(4, renewal_of_id=3, borrower_id=3),  # 还本续贷 (cash disbursed), later renewed in turn
        ],
        transactions=[
            tx(1, "disbursement", D(2023, 3, 1), 100 * WAN),
            tx(1, "repayment", D(2023, 9, 1), 20 * WAN),
            tx(1, "renewal_rollover", D(2024, 3, 1), 80 * WAN, principal=80 * WAN),  # settles loan 1
            tx(2, "renewal_rollover", D(2024, 3, 1), 80 * WAN, principal=80 * WAN),  # opens loan 2
            tx(3, "disbursement", D(2023, 1, 1), 10 * WAN),
            tx(3, "repayment", D(2023, 12, 1), 10 * WAN),
            tx(4, "disbursement", D(2023, 12, 2), 10 * WAN),
            tx(4, "renewal_rollover", D(2024, 6, 1), 10 * WAN, principal=10 * WAN),  # settles loan 4
        ],
    )
    tables = run(frames, D(2024, 1, 1), D(2024, 12, 31), granularity="quarter")
    s = summary(tables)
    # end of 2024: loan 1 0, loan 2 80 (rolled over), loan 3 0, loan 4 0 → 80 万; no cash lent in 2024
    assert s["balance_fen"] == 80 * WAN
    assert (s["new_amount_fen"], s["new_loans"]) == (0, 0)
    # Q1: loan 2 80 (loan 1 settled the same day) + loan 4 10 = 90; Q2: loan 4 renewed away on 1 Jun → 80
    assert tables["lending_series"].get_column("balance_fen").to_list()[:2] == [90 * WAN, 80 * WAN]
    q4_2023 = summary(run(frames, D(2023, 10, 1), D(2023, 12, 31)))
    assert q4_2023["balance_fen"] == 90 * WAN  # loan 1 80 + loan 4 10


def _npl_frames(npl_fen: int, ratio_ppm: int) -> LendingFrames:
    return LendingFrames.from_rows(
        as_of=D(2025, 1, 1),
        loans=[
            loan(1, bank_id=12, bank_path="/1/12/", classification="substandard"),
            loan(2, bank_id=13, bank_path="/1/12/13/"),
        ],
        transactions=[
            tx(1, "disbursement", D(2024, 1, 1), npl_fen),
            tx(2, "disbursement", D(2024, 1, 1), 1_000_000 - npl_fen),
        ],
        npl_reports=[
            {"bank_id": 1, "bank_path": "/1/", "as_of": D(2024, 6, 30), "npl_ratio_ppm": 40_000},
            {"bank_id": 1, "bank_path": "/1/", "as_of": D(2024, 12, 31), "npl_ratio_ppm": ratio_ppm},
            {"bank_id": 1, "bank_path": "/1/", "as_of": D(2025, 3, 31), "npl_ratio_ppm": 900_000},  # after: ignored
        ],
    )


@pytest.mark.parametrize(("npl_fen", "within"), [(45_000, True), (45_001, False), (10_000, True)])
def test_npl_tolerance_is_three_points_inclusive_against_the_latest_report(npl_fen: int, within: bool) -> None:
    tables = run(_npl_frames(npl_fen, 15_000), D(2024, 1, 1), D(2024, 12, 31))
    row = tables["npl_vs_bank"].row(0, named=True)
    # total balance 1,000,000 fen under head office 1 (both branches); bank-wide 1.5 % reported 31 Dec 2024;
    # 45,000 / 1,000,000 = 4.5 % = 1.5 % + 3 pp exactly: within; one fen more is outside.
    assert row["head_office"] == 1
    assert row["balance_fen"] == 1_000_000
    assert row["bank_npl_as_of"] == D(2024, 12, 31)
    assert row["bank_npl_ratio"] == pytest.approx(0.015)
    assert row["npl_ratio"] == pytest.approx(npl_fen / 1_000_000)
    assert row["within_tolerance"] is within


def test_npl_without_a_report_has_no_verdict() -> None:
    frames = _npl_frames(45_000, 15_000)
    frames = LendingFrames.from_rows(
        as_of=frames.as_of, loans=frames.loans, transactions=frames.transactions, npl_reports=[]
    )
    row = run(frames, D(2024, 1, 1), D(2024, 12, 31))["npl_vs_bank"].row(0, named=True)
    assert row["bank_npl_ratio"] is None
    assert row["within_tolerance"] is None


def test_puhui_threshold_switches_on_1_january_2024() -> None:
    assert puhui_threshold_on(D(2023, 12, 31)) == 10_000_000 * 100
    assert puhui_threshold_on(D(2024, 1, 1)) == 20_000_000 * 100
    assert PUHUI_THRESHOLDS[-1][0] == D(2024, 1, 1)
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[
            loan(1, principal_fen=1500 * WAN),  # ¥15 m
            loan(2, principal_fen=1500 * WAN),
            loan(3, principal_fen=999 * WAN),  # ¥9.99 m
            loan(4, principal_fen=2000 * WAN),  # ¥20 m: not below ¥20 m
        ],
        transactions=[
            tx(1, "disbursement", D(2023, 12, 31), 1500 * WAN),
            tx(2, "disbursement", D(2024, 1, 1), 1500 * WAN),
            tx(3, "disbursement", D(2023, 12, 1), 999 * WAN),
            tx(4, "disbursement", D(2024, 1, 2), 2000 * WAN),
        ],
    )
    s2023 = summary(run(frames, D(2023, 1, 1), D(2023, 12, 31)))
    # 2023 (< ¥10 m): loan 3 only → 1 of 2 loans; 999 of 2,499 万
    assert (s2023["puhui_loans"], s2023["new_loans"]) == (1, 2)
    assert s2023["puhui_amount_fen"] == 999 * WAN
    assert s2023["puhui_share_amount"] == pytest.approx(999 / 2499)
    s2024 = summary(run(frames, D(2024, 1, 1), D(2024, 12, 31)))
    # 2024 (< ¥20 m): loan 2 (¥15 m, inclusive now) but not loan 4 (¥20 m) → 1 of 2; 1,500 of 3,500 万
    assert (s2024["puhui_loans"], s2024["new_loans"]) == (1, 2)
    assert s2024["puhui_share_loans"] == pytest.approx(0.5)
    assert s2024["puhui_amount_fen"] == 1500 * WAN


def test_pledge_rate_weighted_and_per_loan_and_unvalued_loans_counted() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1, principal_fen=300), loan(2, principal_fen=100), loan(3, principal_fen=500), loan(4)],
        transactions=[tx(i, "disbursement", D(2024, 3, 1), 100) for i in (1, 2, 3, 4)],
        collateral=[
            {"collateral_id": 1, "loan_id": 1, "ip_right_id": 1, "ip_kind": "patent", "appraised_value_fen": 600},
            {"collateral_id": 2, "loan_id": 1, "ip_right_id": 2, "ip_kind": "trademark", "appraised_value_fen": 400},
            {"collateral_id": 3, "loan_id": 2, "ip_right_id": 3, "ip_kind": "patent", "appraised_value_fen": 1000},
            {"collateral_id": 4, "loan_id": 3, "ip_right_id": 4, "ip_kind": "patent", "appraised_value_fen": 900},
            {"collateral_id": 5, "loan_id": 3, "ip_right_id": 5, "ip_kind": "patent", "appraised_value_fen": None},
        ],
    )
    s = summary(run(frames, D(2024, 1, 1), D(2024, 12, 31)))
    # loan 1: 300 / (600 + 400) = 0.3; loan 2: 100 / 1000 = 0.1; weighted (300 + 100) / 2000 = 0.2
    # loan 3 has an unvalued item and loan 4 no collateral: both left out and counted
    assert s["pledge_rate"] == pytest.approx(0.2)
    assert (s["pledge_loans_valued"], s["pledge_loans_unvalued"]) == (2, 2)
    rates = {r["loan_id"]: r["pledge_rate"] for r in pledge_rates(frames).iter_rows(named=True)}
    assert rates == {1: pytest.approx(0.3), 2: pytest.approx(0.1)}
    kinds = by(run(frames, D(2024, 1, 1), D(2024, 12, 31), slices=["ip_kind"]), "lending_by_ip_kind", "ip_kind")
    # IP kind of a loan = its first collateral item: loans 1–3 patent, loan 4 none ("")
    assert kinds["patent"]["new_loans"] == 3
    assert kinds[""]["new_loans"] == 1


def test_t2_counts_enterprises_at_their_first_ip_financing_by_size() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[
            loan(1, borrower_id=100, size_class="micro"),
            loan(2, borrower_id=100, size_class="micro"),
            loan(3, borrower_id=200, size_class="medium"),
            loan(4, borrower_id=300, size_class="small", first_financed_on=D(2022, 5, 1)),  # financed elsewhere
            loan(5, borrower_id=400, size_class="small"),
        ],
        transactions=[
            tx(1, "disbursement", D(2023, 6, 1), 10),  # borrower 100 first financed in 2023
            tx(2, "disbursement", D(2024, 6, 1), 10),
            tx(3, "disbursement", D(2024, 2, 1), 10),
            tx(4, "disbursement", D(2024, 2, 1), 10),
            tx(5, "disbursement", D(2024, 7, 1), 10),
        ],
    )
    t2 = {
        r["size_class"]: r["enterprises"]
        for r in run(frames, D(2024, 1, 1), D(2024, 12, 31))["t2_first_financing"].iter_rows(named=True)
    }
    assert t2 == {"large": 0, "medium": 1, "small": 1, "micro": 0, "": 0}
    t2_2023 = run(frames, D(2023, 1, 1), D(2023, 12, 31))["t2_first_financing"]
    assert dict(t2_2023.iter_rows()) == {"large": 0, "medium": 0, "small": 0, "micro": 1, "": 0}


def test_t3_implementation_rate_at_quarter_ends() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1), loan(2, closed_on=D(2024, 5, 1)), loan(3)],
        transactions=[
            tx(1, "disbursement", D(2024, 1, 10), 10),
            tx(2, "disbursement", D(2024, 1, 10), 10),
            tx(3, "disbursement", D(2024, 4, 10), 10),
        ],
        collateral=[
            {"collateral_id": 1, "loan_id": 1, "ip_right_id": 1, "ip_kind": "patent"},
            {"collateral_id": 2, "loan_id": 1, "ip_right_id": 2, "ip_kind": "patent"},
            {"collateral_id": 3, "loan_id": 2, "ip_right_id": 3, "ip_kind": "patent"},
            {"collateral_id": 4, "loan_id": 3, "ip_right_id": 4, "ip_kind": "trademark"},
        ],
        implementation_reports=[
            {"collateral_id": 1, "reported_on": D(2024, 2, 1), "status": "not_implemented"},
            {"collateral_id": 1, "reported_on": D(2024, 6, 1), "status": "licensed"},
            {"collateral_id": 3, "reported_on": D(2024, 3, 1), "status": "self_use"},
            {"collateral_id": 4, "reported_on": D(2024, 5, 1), "status": "self_use"},  # a trademark: not counted
        ],
    )
    t3 = run(frames, D(2024, 1, 1), D(2024, 6, 30))["t3_implementation"]
    rows = {r["day"]: r for r in t3.iter_rows(named=True)}
    # 31 Mar: patents 1, 2, 3 pledged; reports: 1 not implemented, 3 self-use, 2 none → 1 / 2
    assert (rows[D(2024, 3, 31)]["patents"], rows[D(2024, 3, 31)]["with_report"]) == (3, 2)
    assert rows[D(2024, 3, 31)]["implementation_rate"] == pytest.approx(0.5)
    # 30 Jun: loan 2 closed → patents 1, 2; patent 1 licensed (latest report) → 1 / 1
    assert (rows[D(2024, 6, 30)]["patents"], rows[D(2024, 6, 30)]["implemented"]) == (2, 1)
    assert rows[D(2024, 6, 30)]["implementation_rate"] == pytest.approx(1.0)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_t3_two_reports_of_one_day_the_later_recorded_stands(order: tuple[int, ...]) -> None:
    # Patent 1 is in loan 1's collateral and again in its renewal's (loan 2). Reports of 1 Mar: collateral 1 said
    # not implemented (seq 5) then licensed (seq 7); collateral 2 said not implemented later still (seq 9). The
    # patent's status is the one recorded last, whatever order the rows come in (sorting is not stable).
    reports = [
        {"collateral_id": 1, "reported_on": D(2024, 3, 1), "status": "licensed", "seq": 7},
        {"collateral_id": 1, "reported_on": D(2024, 3, 1), "status": "not_implemented", "seq": 5},
        {"collateral_id": 2, "reported_on": D(2024, 3, 1), "status": "not_implemented", "seq": 9},
    ]
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1), loan(2)],
        transactions=[tx(1, "disbursement", D(2024, 1, 10), 10), tx(2, "disbursement", D(2024, 1, 10), 10)],
        collateral=[
            {"collateral_id": 1, "loan_id": 1, "ip_right_id": 1, "ip_kind": "patent"},
            {"collateral_id": 2, "loan_id": 2, "ip_right_id": 1, "ip_kind": "patent"},
        ],
        implementation_reports=[reports[i] for i in order],
    )
    first = run(frames, D(2024, 1, 1), D(2024, 3, 31))["t3_implementation"].row(0, named=True)
    assert (first["patents"], first["with_report"], first["implemented"]) == (1, 1, 0)
    # Without collateral 2's report, collateral 1's later report of the day (licensed) stands.
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1)],
        transactions=[tx(1, "disbursement", D(2024, 1, 10), 10)],
        collateral=[{"collateral_id": 1, "loan_id": 1, "ip_right_id": 1, "ip_kind": "patent"}],
        implementation_reports=[reports[i] for i in order if i != 2],
    )
    only = run(frames, D(2024, 1, 1), D(2024, 3, 31))["t3_implementation"].row(0, named=True)
    assert (only["with_report"], only["implemented"]) == (1, 1)


def test_registration_basis_is_kept_apart_from_lending() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[loan(1)],
        transactions=[tx(1, "disbursement", D(2024, 3, 1), 80 * WAN)],
        registrations=[
            {
                "registration_id": 1,
                "registered_on": D(2024, 2, 1),
                "claim_amount_fen": 500 * WAN,
                "pledgor_id": 1,
                "pledgee_id": 11,
                "pledgee_path": "/1/11/",
                "region_code": "110108",
                "ip_kind": "patent",
            },
            {
                "registration_id": 2,
                "registered_on": D(2024, 2, 2),
                "claim_amount_fen": 1500 * WAN,
                "pledgor_id": 1,
                "pledgee_id": 21,
                "pledgee_path": "/2/21/",
                "region_code": "320115",
                "ip_kind": "trademark",
            },
            {
                "registration_id": 3,
                "registered_on": D(2024, 5, 2),
                "claim_amount_fen": None,
                "pledgor_id": 2,
                "pledgee_id": 21,
                "pledgee_path": "/2/21/",
                "region_code": "320115",
                "ip_kind": "patent",
            },
            {"registration_id": 4, "registered_on": D(2023, 5, 2), "claim_amount_fen": 7, "pledgor_id": 3},
        ],
    )
    tables = run(frames, D(2024, 1, 1), D(2024, 12, 31), slices=["province", "head_office"])
    reg = tables["registration_summary"].row(0, named=True)
    # 2024: 500 + 1,500 万 (one without an amount); 3 projects; pledgors {1, 2}; 普惠 (< ¥20 m): both amounts
    assert reg["registered_amount_fen"] == 2000 * WAN
    assert (reg["projects"], reg["enterprises"], reg["projects_without_amount"]) == (3, 2, 1)
    assert reg["puhui_projects"] == 2
    assert summary(tables)["new_amount_fen"] == 80 * WAN  # the lending figure ignores registrations
    provinces = by(tables, "registration_by_province", "province")
    assert provinces["110000"]["registered_amount_fen"] == 500 * WAN
    assert provinces["320000"]["projects"] == 2
    assert by(tables, "registration_by_head_office", "head_office")[2]["enterprises"] == 2
    assert not set(tables["registration_summary"].columns) & set(tables["lending_summary"].columns)


def test_credit_plan_counts_the_whole_tree_of_the_planning_bank_year_to_date() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[
            loan(1, bank_id=12, bank_path="/1/12/"),
            loan(2, bank_id=13, bank_path="/1/12/13/", borrower_id=1),
            loan(3, bank_id=2, bank_path="/2/"),
        ],
        transactions=[
            tx(1, "disbursement", D(2024, 2, 1), 300 * WAN),
            tx(2, "disbursement", D(2024, 5, 1), 200 * WAN),
            tx(2, "disbursement", D(2024, 8, 1), 100 * WAN),  # after the period end
            tx(3, "disbursement", D(2024, 2, 1), 50 * WAN),
            tx(1, "disbursement", D(2023, 2, 1), 1),  # another year
        ],
        credit_plans=[
            {"bank_id": 1, "bank_path": "/1/", "year": 2024, "planned_amount_fen": 1000 * WAN, "planned_clients": 4},
            {
                "bank_id": 13,
                "bank_path": "/1/12/13/",
                "year": 2024,
                "planned_amount_fen": 400 * WAN,
                "planned_clients": 2,
            },
            {"bank_id": 1, "bank_path": "/1/", "year": 2022, "planned_amount_fen": 1, "planned_clients": 1},
        ],
    )
    plans = {
        (r["bank_id"], r["year"]): r
        for r in run(frames, D(2024, 1, 1), D(2024, 6, 30))["credit_plan"].iter_rows(named=True)
    }
    assert set(plans) == {(1, 2024), (13, 2024)}
    # head office 1: 300 + 200 万 by 30 Jun, one borrower (loans 1 and 2 share it) → 50 %, 25 %
    assert plans[(1, 2024)]["disbursed_fen"] == 500 * WAN
    assert plans[(1, 2024)]["clients"] == 1
    assert plans[(1, 2024)]["amount_fulfilment"] == pytest.approx(0.5)
    assert plans[(1, 2024)]["clients_fulfilment"] == pytest.approx(0.25)
    assert plans[(1, 2024)]["through"] == D(2024, 6, 30)
    assert plans[(13, 2024)]["disbursed_fen"] == 200 * WAN


def test_slices_by_bank_head_office_and_region() -> None:
    frames = LendingFrames.from_rows(
        as_of=D(2024, 12, 31),
        loans=[
            loan(1, bank_id=12, bank_path="/1/12/", region_code="110108", park_id=7),
            loan(2, bank_id=13, bank_path="/1/13/", region_code="320115"),
            loan(3, bank_id=2, bank_path="/2/", region_code="320102", park_id=7),
        ],
        transactions=[tx(i, "disbursement", D(2024, 3, 1), i * WAN) for i in (1, 2, 3)],
    )
    tables = run(frames, D(2024, 1, 1), D(2024, 12, 31), slices=["bank", "head_office", "province", "city", "park"])
    assert {k: r["new_amount_fen"] for k, r in by(tables, "lending_by_head_office", "head_office").items()} == {
        1: 3 * WAN,
        2: 3 * WAN,
    }
    assert by(tables, "lending_by_bank", "bank")[13]["new_loans"] == 1
    assert {k: r["new_loans"] for k, r in by(tables, "lending_by_province", "province").items()} == {
        "110000": 1,
        "320000": 2,
    }
    assert set(by(tables, "lending_by_city", "city")) == {"110100", "320100"}
    parks = by(tables, "lending_by_park", "park")
    assert (parks[7]["new_amount_fen"], parks[None]["new_amount_fen"]) == (4 * WAN, 2 * WAN)
    assert "lending_by_size_class" not in tables


def test_series_buckets_and_quarter_ends() -> None:
    frame = buckets(D(2024, 2, 15), D(2024, 7, 10), "quarter")
    assert frame.rows() == [
        (D(2024, 2, 15), D(2024, 3, 31)),
        (D(2024, 4, 1), D(2024, 6, 30)),
        (D(2024, 7, 1), D(2024, 7, 10)),
    ]
    assert quarter_ends(D(2024, 1, 1), D(2024, 12, 31))[-1] == D(2024, 12, 31)
    assert buckets(D(2023, 6, 1), D(2024, 12, 31), "year").height == 2


def test_empty_frames_give_zero_figures() -> None:
    tables = run(LendingFrames.from_rows(as_of=D(2024, 1, 1)), D(2024, 1, 1), D(2024, 12, 31))
    s = summary(tables)
    assert (s["new_amount_fen"], s["balance_fen"], s["new_loans"]) == (0, 0, 0)
    assert s["npl_ratio"] is None
    assert tables["lending_series"].height == 12
    assert tables["credit_plan"].is_empty()


def test_bad_arguments_are_refused() -> None:
    frames = LendingFrames.from_rows(as_of=D(2024, 1, 1))
    with pytest.raises(ValueError, match="period_end"):
        run(frames, D(2024, 2, 1), D(2024, 1, 1))
    with pytest.raises(ValueError, match="slices"):
        run(frames, D(2024, 1, 1), D(2024, 2, 1), slices=["colour"])
    with pytest.raises(ValueError, match="granularity"):
        run(frames, D(2024, 1, 1), D(2024, 2, 1), granularity="week")
    with pytest.raises(TypeError):
        LendingFrames.from_rows(as_of=D(2024, 1, 1), widgets=[])
