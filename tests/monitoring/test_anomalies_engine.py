"""The anomaly rules on hand-built frames: a clean book raises nothing; each planted pattern is found by its rule."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from ipledge.monitoring.choices import AnomalyRule
from ipledge.monitoring.engine import anomalies as engine

AS_OF = datetime.date(2026, 6, 30)
D = datetime.date
YUAN = 100  # fen


def clean_rows() -> dict[str, list[dict[str, Any]]]:
    """Two enterprises, each with one registered pledge and one disbursed loan at its own bank, plus 240 older
    cancelled registrations of a park whose amounts follow Benford, are not round and spread evenly over months."""
    rows: dict[str, list[dict[str, Any]]] = {
        "organisations": [
            {"org_id": 10, "name": "甲银行", "region_code": "110000"},
            {"org_id": 11, "name": "乙银行", "region_code": "320000"},
            {"org_id": 20, "name": "诚信评估", "region_code": "110000"},
        ],
        "parks": [{"park_id": 1, "name": "海淀园", "region_code": "110108"}],
        "enterprises": [
            {
                "enterprise_id": 100,
                "name": "甲公司",
                "established_on": D(2015, 1, 1),
                "employees": 50,
                "region_code": "110108",
            },
            {
                "enterprise_id": 101,
                "name": "乙公司",
                "established_on": D(2016, 1, 1),
                "employees": 80,
                "region_code": "320115",
            },
        ],
        "rights": [
            {
                "ip_right_id": 1000 + i,
                "number": f"20191000000{i}.X",
                "kind": "patent",
                "patent_type": "invention",
                "legal_status": "valid",
                "term_end": D(2039, 3, 1),
                "annual_fee_paid_until": D(2027, 3, 1),
                "preserved": False,
                "invalidation_pending": False,
            }
            for i in range(8)
        ],
        "owners": [{"ip_right_id": 1000, "enterprise_id": 100}, {"ip_right_id": 1001, "enterprise_id": 101}],
        "registrations": [
            {
                "registration_id": 500 + i,
                "registration_no": f"Y2025{i}",
                "filing_id": 600 + i,
                "pledgor_id": 100 + i,
                "pledgee_id": 10 + i,
                "registered_on": D(2025, 3, 1),
                "claim_amount_fen": 5_230_000 * YUAN,
                "performance_end": D(2027, 3, 1),
                "status": "active",
                "region_code": "110108",
                "park_id": 1 if i == 0 else None,
                "contract_no": f"ZY-{i}",
            }
            for i in range(2)
        ],
        "pledged_rights": [{"registration_id": 500 + i, "ip_right_id": 1000 + i, "is_active": True} for i in range(2)],
        "filing_items": [{"filing_id": 600 + i, "ip_right_id": 1000 + i, "co_owner_consent": False} for i in range(2)],
        "loans": [
            {
                "loan_id": 700 + i,
                "reference": f"DK{i}",
                "borrower_id": 100 + i,
                "bank_id": 10 + i,
                "park_id": 1 if i == 0 else None,
                "region_code": "110108",
                "status": 300,
                "principal_fen": 5_230_000 * YUAN,
                "first_disbursed_on": D(2025, 3, 5),
                "maturity_date": D(2027, 3, 1),
                "pledge_registration_id": 500 + i,
                "contract_no": f"JK-{i}",
                "classification": "normal",
                "days_past_due": 0,
            }
            for i in range(2)
        ],
        "collateral": [
            {
                "loan_id": 700 + i,
                "ip_right_id": 1000 + i,
                "appraised_value_fen": (12_000_000 + i) * YUAN,
                "valuer_name": "诚信评估",
            }
            for i in range(2)
        ],
        "valuations": [
            {"ip_right_id": 1000, "p50_fen": 11_000_000 * YUAN, "pledge_rate": 0.4, "valuation_date": D(2025, 2, 1)}
        ],
        "claims": [],
    }
    n = 240
    for i in range(n):
        amount_yuan = 10 ** (5 + 2 * (i + 0.5) / n)  # log-uniform over two decades: Benford's first digits
        rows["registrations"].append(
            {
                "registration_id": 2000 + i,
                "registration_no": f"H{i}",
                "filing_id": 3000 + i,
                "pledgor_id": 100,
                "pledgee_id": 10,
                "registered_on": D(2023 + i % 2, i % 12 + 1, 10),
                "claim_amount_fen": int(amount_yuan * 100) // 100 * 100 + 37 * YUAN,
                "status": "cancelled",
                "cancelled_on": D(2025, 1, 1),
                "region_code": "110108",
                "park_id": 1,
            }
        )
    return rows


def run(rows: dict[str, list[dict[str, Any]]], rule: str | None = None) -> dict[str, list[engine.FindingDraft]]:
    return engine.run_rules(engine.make_frames(**rows), as_of=AS_OF, rules=[rule] if rule else None)


def only(rows: dict[str, list[dict[str, Any]]], rule: str) -> list[engine.FindingDraft]:
    """The drafts of every rule, asserting that the pattern trips its own rule."""
    return run(rows, rule)[rule]


@pytest.fixture
def rows() -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(clean_rows())


def test_every_rule_choice_has_a_rule_and_back() -> None:
    assert set(engine.RULES) == set(AnomalyRule.values)


def test_clean_book_raises_nothing(rows: dict[str, list[dict[str, Any]]]) -> None:
    found = run(rows)
    assert {rule: [d.title for d in drafts] for rule, drafts in found.items() if drafts} == {}


def test_duplicate_pledge(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["collateral"].append({"loan_id": 701, "ip_right_id": 1000, "appraised_value_fen": 9_000_000 * YUAN})
    (draft,) = only(rows, "duplicate_pledge")
    assert draft.subject_id == "1000" and draft.figures["loans"] == 2 and draft.severity == "high"


def test_term_overrun(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["rights"][0]["term_end"] = D(2026, 12, 31)
    (draft,) = only(rows, "term_overrun")
    assert draft.figures == {"term_end": "2026-12-31", "debt_end": "2027-03-01"}


@pytest.mark.parametrize(
    ("change", "severity"),
    [
        ({"legal_status": "lapsed"}, "high"),
        ({"preserved": True}, "medium"),
        ({"invalidation_pending": True}, "medium"),
        ({"annual_fee_paid_until": D(2025, 12, 1)}, "medium"),
    ],
)
def test_zombie_collateral(rows: dict[str, list[dict[str, Any]]], change: dict[str, Any], severity: str) -> None:
    rows["rights"][1].update(change)
    (draft,) = only(rows, "zombie_collateral")
    assert draft.subject_id == "501:1001" and draft.severity == severity


def test_fee_still_in_grace_is_left_to_the_pledgee_alert(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["rights"][1]["annual_fee_paid_until"] = D(2026, 3, 1)
    assert only(rows, "zombie_collateral") == []


def test_owner_mismatch_pledgor_not_owner_and_missing_co_owner_consent(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["owners"][0]["enterprise_id"] = 101
    rows["owners"].append({"ip_right_id": 1001, "enterprise_id": None, "holder_name": "南京大学"})
    drafts = {d.subject_id: d.figures["problems"] for d in only(rows, "owner_mismatch")}
    assert drafts == {"500:1000": ["pledgor_not_owner"], "501:1001": ["no_co_owner_consent"]}
    rows["filing_items"][1]["co_owner_consent"] = True
    assert [d.subject_id for d in only(rows, "owner_mismatch")] == ["500:1000"]


def test_ltv_outlier(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][0]["principal_fen"] = 8_000_000 * YUAN  # 8 m on 12 m appraised = 67 % against the 40 % norm × 1.5
    (draft,) = only(rows, "ltv_outlier")
    assert (
        draft.subject_id == "700"
        and draft.figures["norm"] == 0.4
        and draft.figures["ltv"] == pytest.approx(0.6667, abs=1e-4)
    )
    rows["loans"][0]["principal_fen"] = 5_900_000 * YUAN  # 49 %: under 60 %
    assert only(rows, "ltv_outlier") == []


def _appraisals(rows: dict[str, list[dict[str, Any]]], values: list[int], valuer: str = "诚信评估") -> None:
    for i, value in enumerate(values):
        rows["loans"].append(
            {**rows["loans"][0], "loan_id": 800 + i, "reference": f"DK8{i}", "status": 600, "contract_no": f"JK-8{i}"}
        )
        rows["collateral"].append(
            {
                "loan_id": 800 + i,
                "ip_right_id": 1002 + (i % 6),
                "appraised_value_fen": value * YUAN,
                "valuer_name": valuer,
            }
        )


def test_valuation_outlier(rows: dict[str, list[dict[str, Any]]]) -> None:
    _appraisals(rows, [10_000_000, 11_000_000, 9_000_000, 13_000_000, 10_500_000, 12_500_000])
    assert only(rows, "valuation_outlier") == []
    rows["collateral"][-1]["appraised_value_fen"] = 300_000_000 * YUAN
    (draft,) = only(rows, "valuation_outlier")
    assert draft.subject_id == "805:1007" and draft.figures["modified_z"] > engine.VALUATION_MODIFIED_Z


def test_outlier_valuer(rows: dict[str, list[dict[str, Any]]]) -> None:
    _appraisals(rows, [10_000_000, 11_000_000, 9_000_000, 13_000_000, 10_500_000, 12_500_000, 9_500_000, 11_500_000])
    rows["collateral"][-1].update(appraised_value_fen=400_000_000 * YUAN, valuer_name="浮夸评估")
    assert only(rows, "outlier_valuer") == []  # one outlier is not "repeatedly"
    rows["collateral"][-2].update(appraised_value_fen=350_000_000 * YUAN, valuer_name="浮夸评估")
    (draft,) = only(rows, "outlier_valuer")
    assert draft.subject_id == "浮夸评估" and draft.figures["outliers"] == 2 and draft.institution_id is None


def test_registration_without_loan(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][1]["first_disbursed_on"] = None
    (draft,) = only(rows, "registration_without_loan")
    assert draft.subject_id == "501"
    rows["registrations"][1]["registered_on"] = AS_OF - datetime.timedelta(days=30)
    assert only(rows, "registration_without_loan") == []


def test_registration_without_loan_digest_ignores_the_days_elapsed(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][1]["first_disbursed_on"] = None
    frames = engine.make_frames(**rows)
    today = engine.run_rules(frames, as_of=AS_OF, rules=["registration_without_loan"])["registration_without_loan"][0]
    later = engine.run_rules(frames, as_of=AS_OF + datetime.timedelta(days=9), rules=["registration_without_loan"])
    assert later["registration_without_loan"][0].evidence_digest == today.evidence_digest
    assert later["registration_without_loan"][0].figures != today.figures


def test_loan_before_registration(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][0]["first_disbursed_on"] = D(2025, 2, 20)
    (draft,) = only(rows, "loan_before_registration")
    assert draft.figures["days_early"] == 9


def test_compensation_abuse_pledge_after_npl_and_unreturned_recovery(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["claims"] = [
        {"claim_id": 1, "reference": "BC1", "loan_id": 700, "npl_on": D(2025, 2, 1), "status": 100},
        {
            "claim_id": 2,
            "reference": "BC2",
            "loan_id": 701,
            "npl_on": D(2025, 9, 1),
            "status": 500,
            "unreturned_fen": 300_000 * YUAN,
            "unreturned_since": D(2026, 4, 1),
        },
    ]
    rows["claims"].append(
        {
            "claim_id": 3,
            "reference": "BC3",
            "loan_id": 701,
            "npl_on": D(2025, 9, 1),
            "status": 100,
            "enrolled_on": D(2025, 5, 1),  # 57 days after the first disbursement, window 30
            "enrol_window_days": 30,
        }
    )
    drafts = {d.subject_id: d.figures["problems"] for d in only(rows, "compensation_abuse")}
    assert drafts == {"1": ["pledged_after_npl"], "2": ["recovery_not_returned"], "3": ["pooled_late"]}
    rows["claims"][2]["enrolled_on"] = D(2025, 3, 20)
    assert "3" not in {d.subject_id for d in only(rows, "compensation_abuse")}
    rows["claims"][1]["unreturned_since"] = AS_OF - datetime.timedelta(days=5)  # not yet overdue
    assert "2" not in {d.subject_id for d in only(rows, "compensation_abuse")}


def test_transfer_without_consent(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["licences"] = [
        {
            "licence_id": 1,
            "ip_right_id": 1000,
            "record_no": "X1",
            "recorded_on": D(2025, 6, 1),
            "pledgee_consent": False,
        },
        {
            "licence_id": 2,
            "ip_right_id": 1001,
            "record_no": "X2",
            "recorded_on": D(2025, 6, 1),
            "pledgee_consent": True,
        },
        {
            "licence_id": 3,
            "ip_right_id": 1001,
            "record_no": "X3",
            "recorded_on": D(2024, 6, 1),
            "pledgee_consent": False,
        },
    ]
    rows["legal_events"] = [{"ip_right_id": 1001, "code": "TR01", "event_date": D(2026, 1, 5)}]
    drafts = sorted((d.figures["event"], d.figures["reference"]) for d in only(rows, "transfer_without_consent"))
    assert drafts == [("licence", "X1"), ("transfer", "TR01")]


def test_classification_inconsistent(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][0].update(days_past_due=91, classification="special_mention")
    (draft,) = only(rows, "classification_inconsistent")
    assert draft.subject_id == "700"
    rows["loans"][0]["classification"] = "substandard"
    assert only(rows, "classification_inconsistent") == []


def test_year_end_spike(rows: dict[str, list[dict[str, Any]]]) -> None:
    for i, reg in enumerate(
        r for r in rows["registrations"] if r["registration_id"] >= 2000 and r["registered_on"].year == 2024
    ):
        if i < 40:
            reg["registered_on"] = D(2024, 12, 20)
    (draft,) = only(rows, "year_end_spike")
    assert draft.subject_id == "1:2024" and draft.figures["count_share"] > engine.YEAR_END_SHARE_MAX


def test_year_end_spike_waits_for_the_year_to_end(rows: dict[str, list[dict[str, Any]]]) -> None:
    for i in range(30):
        rows["registrations"].append(
            {**rows["registrations"][5], "registration_id": 9000 + i, "registered_on": D(2026, 12 if i < 20 else 3, 1)}
        )
    assert (
        engine.run_rules(engine.make_frames(**rows), as_of=D(2026, 12, 30), rules=["year_end_spike"])["year_end_spike"]
        == []
    )
    found = engine.run_rules(engine.make_frames(**rows), as_of=D(2026, 12, 31), rules=["year_end_spike"])
    assert [d.subject_id for d in found["year_end_spike"]] == ["1:2026"]


def _bank_amounts(rows: dict[str, list[dict[str, Any]]], amounts_yuan: list[int]) -> None:
    for i, amount in enumerate(amounts_yuan):
        rows["registrations"].append(
            {
                "registration_id": 5000 + i,
                "registration_no": f"B{i}",
                "pledgor_id": 101,
                "pledgee_id": 11,
                "registered_on": D(2024, i % 12 + 1, 3),
                "claim_amount_fen": amount * YUAN,
                "status": "cancelled",
                "cancelled_on": D(2025, 1, 1),
            }
        )


def test_round_numbers(rows: dict[str, list[dict[str, Any]]]) -> None:
    _bank_amounts(rows, [1_000_000 * (1 + i % 9) for i in range(30)])
    (draft,) = only(rows, "round_numbers")
    assert (draft.subject_type, draft.subject_id, draft.institution_id) == ("bank", "11", 11)
    assert draft.figures["share"] > 0.9


def test_round_numbers_need_enough_amounts(rows: dict[str, list[dict[str, Any]]]) -> None:
    _bank_amounts(rows, [1_000_000 * (1 + i % 9) for i in range(engine.ROUND_MIN_AMOUNTS - 2)])
    assert only(rows, "round_numbers") == []


def test_benford_deviation(rows: dict[str, list[dict[str, Any]]]) -> None:
    _bank_amounts(rows, [7_123_457 + 13_791 * i for i in range(60)])
    (draft,) = only(rows, "benford_deviation")
    assert draft.subject_id == "11" and draft.figures["mad"] > engine.BENFORD_MAD_NONCONFORMITY


def test_benford_conforming_amounts_pass() -> None:
    n = 500
    _, mad, _ = engine.benford_test([int(10 ** (4 + 3 * (i + 0.5) / n)) for i in range(n)])
    assert mad < engine.BENFORD_MAD_NONCONFORMITY


def test_contract_reuse(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][1]["contract_no"] = "JK-0"
    (draft,) = only(rows, "contract_reuse")
    assert draft.subject_id == "JK-0" and draft.figures["enterprises"] == 2
    rows["loans"][1]["contract_no"] = "ZY-1"
    rows["registrations"][0]["contract_no"] = "ZY-1"  # a filing's pledge contract and another firm's loan contract
    assert [d.subject_id for d in only(rows, "contract_reuse")] == ["ZY-1"]


def test_shell_borrower(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["enterprises"][1].update(established_on=D(2024, 6, 1), employees=None)
    (draft,) = only(rows, "shell_borrower")
    assert draft.subject_id == "701" and draft.figures["age_days"] == 277
    rows["enterprises"][1]["employees"] = 3
    assert only(rows, "shell_borrower") == []
    # Founded after the loan was paid out: a data error, not a young company.
    rows["enterprises"][1].update(established_on=D(2025, 6, 1), employees=None)
    assert only(rows, "shell_borrower") == []


def test_fingerprint_is_stable_and_digest_follows_the_evidence(rows: dict[str, list[dict[str, Any]]]) -> None:
    rows["loans"][0].update(days_past_due=120, classification="normal")
    first = only(rows, "classification_inconsistent")[0]
    rows["loans"][0]["days_past_due"] = 150
    same = only(rows, "classification_inconsistent")[0]
    rows["loans"][0]["classification"] = "special_mention"
    changed = only(rows, "classification_inconsistent")[0]
    assert first.fingerprint == same.fingerprint == changed.fingerprint
    assert first.evidence_digest == same.evidence_digest != changed.evidence_digest
