"""Indicators on a hand-built fixture in the test world, every figure worked out by hand.

Loans, transactions, classification changes and registrations are written straight through the ORM (the
lifecycle services are tested elsewhere); `lending_frames` must load them, restricted per viewer, and
`indicator_set` must give exactly the figures computed in the comments.

Fixture (¥ m = 1,000,000 yuan = 100,000,000 fen; "m" below):
  L1  e1  (small)  bank1_sub  P1  110108  principal 15  disbursed 15 on 2023-12-15; repaid 3 (+0.2 interest)
      2024-06-15; collateral r1 (patent) appraised 50; reports: 2024-01-20 not implemented, 2024-07-01 self-use
  L2  e1b (micro)  bank1_br2  P1  110108  principal 8   disbursed 5 on 2024-01-10 and 3 on 2024-03-10;
      collateral r1b (trademark) appraised 20; 2024-05-01 normal → substandard (current class substandard)
  L3  e2  (medium) bank2      P2  320115  principal 15  disbursed 15 on 2024-02-01 (+ 1 on 2024-02-02, reversed);
      collateral r2 (patent) without appraised value; report 2024-05-01 licensed
  L4  e2  (medium) bank2      P2  320115  principal 25  disbursed 25 on 2023-03-01, repaid 25 on 2023-09-01, closed
  L6  e1b (micro)  bank2      P1  110108  principal 2   disbursed 2 on 2024-06-01 (e1b's second lender)
  L5  e1  submitted, never disbursed: no figure
Registrations (claim amounts): R1 e1→bank1_sub 2023-12-10 15 (r1); R2 e1b→bank1_br2 2024-01-05 10 (r1b);
  R3 e2→bank2 2024-01-25 18 (r2); R4 e2→bank2 2024-09-01 25 (no right recorded).
Bank-wide NPL reports: bank1 1.2 % on 2024-12-31; bank2 0.9 % on 2024-06-30. Credit plans 2024: bank1 20 m / 3
clients; bank2 10 m / 2 clients.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.lending import selectors, services
from ipledge.lending.choices import ClassificationSource, LoanClass, LoanStatus, TransactionKind
from ipledge.lending.indicators import indicator_set, label_tables, lending_frames, tables_workbook
from ipledge.lending.models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    Loan,
    LoanCollateral,
    LoanTransaction,
)
from ipledge.registration.choices import FilingStatus, FilingType
from ipledge.registration.models import PledgedRight, PledgeFiling, PledgeRegistration
from ipledge.registry.models import Enterprise
from tests.lending.factories import active_loan
from tests.world import World

D = dt.date
M = 100_000_000  # fen in ¥1 m
AS_OF = D(2024, 12, 31)
Y2023 = (D(2023, 1, 1), D(2023, 12, 31))
Y2024 = (D(2024, 1, 1), D(2024, 12, 31))


def _loan(w: World, ref: str, ent: str, bank: str, park: str, *, principal: int, **kw: Any) -> Loan:
    enterprise = w.enterprises[ent]
    return Loan.objects.create(
        reference=ref,
        borrower=enterprise,
        bank=w.orgs[bank],
        park=w.parks[park],
        region_code=enterprise.region_code,
        requested_amount=Money.from_fen(principal * M),
        requested_term_months=24,
        principal=Money.from_fen(principal * M),
        term_months=24,
        annual_rate=Decimal("0.0385"),
        status=kw.pop("status", LoanStatus.ACTIVE),
        **kw,
    )


def _tx(loan: Loan, kind: str, day: dt.date, fen: int, **kw: Any) -> LoanTransaction:
    parts = {"principal_part": Money.from_fen(fen)} if kind != TransactionKind.REPAYMENT else {}
    parts.update({k: Money.from_fen(v) for k, v in kw.items() if k.endswith("_part")})
    extra = {k: v for k, v in kw.items() if not k.endswith("_part")}
    return LoanTransaction.objects.create(
        loan=loan, kind=kind, value_date=day, amount=Money.from_fen(fen), **parts, **extra
    )


def _registration(w: World, no: str, ent: str, bank: str, day: dt.date, claim_m: int, right: str | None) -> None:
    enterprise, pledgee = w.enterprises[ent], w.orgs[bank]
    filing = PledgeFiling.objects.create(
        filing_type=FilingType.REGISTRATION,
        status=FilingStatus.REGISTERED,
        pledgor=enterprise,
        pledgee=pledgee,
        filed_by_org=pledgee,
        claim_amount=Money.from_fen(claim_m * M),
        region_code=enterprise.region_code,
    )
    registration = PledgeRegistration.objects.create(
        registration_no=no,
        filing=filing,
        pledgor=enterprise,
        pledgee=pledgee,
        registered_on=day,
        claim_amount=Money.from_fen(claim_m * M),
        region_code=enterprise.region_code,
    )
    if right:
        PledgedRight.objects.create(registration=registration, ip_right=w.rights[right])


@pytest.fixture
def fixture_world(world: World) -> World:
    w = world
    for key, size in (("e1", "small"), ("e1b", "micro"), ("e2", "medium")):
        Enterprise.objects.filter(pk=w.enterprises[key].pk).update(size_class=size)
        w.enterprises[key].refresh_from_db()

    l1 = _loan(
        w,
        "L1",
        "e1",
        "bank1_sub",
        "p1",
        principal=15,
        disbursed_amount=Money.from_fen(15 * M),
        outstanding_principal=Money.from_fen(12 * M),
        first_disbursed_on=D(2023, 12, 15),
    )
    _tx(l1, TransactionKind.DISBURSEMENT, D(2023, 12, 15), 15 * M)
    _tx(l1, TransactionKind.REPAYMENT, D(2024, 6, 15), 32 * M // 10, principal_part=3 * M, interest_part=M // 5)
    c1 = LoanCollateral.objects.create(loan=l1, ip_right=w.rights["r1"], appraised_value=Money.from_fen(50 * M))
    ImplementationReport.objects.create(collateral=c1, reported_on=D(2024, 1, 20), status="not_implemented")
    ImplementationReport.objects.create(collateral=c1, reported_on=D(2024, 7, 1), status="self_use")

    l2 = _loan(
        w,
        "L2",
        "e1b",
        "bank1_br2",
        "p1",
        principal=8,
        disbursed_amount=Money.from_fen(8 * M),
        outstanding_principal=Money.from_fen(8 * M),
        classification=LoanClass.SUBSTANDARD,
    )
    _tx(l2, TransactionKind.DISBURSEMENT, D(2024, 1, 10), 5 * M)
    _tx(l2, TransactionKind.DISBURSEMENT, D(2024, 3, 10), 3 * M)
    LoanCollateral.objects.create(loan=l2, ip_right=w.rights["r1b"], appraised_value=Money.from_fen(20 * M))
    ClassificationChange.objects.create(
        loan=l2,
        business_day=D(2024, 5, 1),
        from_class=LoanClass.NORMAL,
        to_class=LoanClass.SUBSTANDARD,
        source=ClassificationSource.ENGINE,
    )

    l3 = _loan(
        w,
        "L3",
        "e2",
        "bank2",
        "p2",
        principal=15,
        disbursed_amount=Money.from_fen(15 * M),
        outstanding_principal=Money.from_fen(15 * M),
    )
    _tx(l3, TransactionKind.DISBURSEMENT, D(2024, 2, 1), 15 * M)
    _tx(
        l3,
        TransactionKind.DISBURSEMENT,
        D(2024, 2, 2),
        1 * M,
        reversed_at=dt.datetime(2024, 2, 2, tzinfo=dt.UTC),
        reversal_reason="重复放款",
    )
    c3 = LoanCollateral.objects.create(loan=l3, ip_right=w.rights["r2"])
    ImplementationReport.objects.create(collateral=c3, reported_on=D(2024, 5, 1), status="licensed")

    l4 = _loan(
        w,
        "L4",
        "e2",
        "bank2",
        "p2",
        principal=25,
        status=LoanStatus.CLOSED,
        disbursed_amount=Money.from_fen(25 * M),
        closed_on=D(2023, 9, 1),
    )
    _tx(l4, TransactionKind.DISBURSEMENT, D(2023, 3, 1), 25 * M)
    _tx(l4, TransactionKind.REPAYMENT, D(2023, 9, 1), 25 * M, principal_part=25 * M)

    _loan(w, "L5", "e1", "bank1_sub", "p1", principal=3, status=LoanStatus.SUBMITTED)
    l6 = _loan(
        w,
        "L6",
        "e1b",
        "bank2",
        "p1",
        principal=2,
        disbursed_amount=Money.from_fen(2 * M),
        outstanding_principal=Money.from_fen(2 * M),
    )
    _tx(l6, TransactionKind.DISBURSEMENT, D(2024, 6, 1), 2 * M)

    _registration(w, "R1", "e1", "bank1_sub", D(2023, 12, 10), 15, "r1")
    _registration(w, "R2", "e1b", "bank1_br2", D(2024, 1, 5), 10, "r1b")
    _registration(w, "R3", "e2", "bank2", D(2024, 1, 25), 18, "r2")
    _registration(w, "R4", "e2", "bank2", D(2024, 9, 1), 25, None)

    BankNplReport.objects.create(bank=w.orgs["bank1"], as_of=D(2024, 12, 31), npl_ratio=Decimal("0.012"))
    BankNplReport.objects.create(bank=w.orgs["bank2"], as_of=D(2024, 6, 30), npl_ratio=Decimal("0.009"))
    CreditPlan.objects.create(bank=w.orgs["bank1"], year=2024, planned_amount=Money.from_fen(20 * M), planned_clients=3)
    CreditPlan.objects.create(bank=w.orgs["bank2"], year=2024, planned_amount=Money.from_fen(10 * M), planned_clients=2)
    return w


def _tables(user: Any, period: tuple[dt.date, dt.date], **kw: Any) -> dict[str, pl.DataFrame]:
    frames = lending_frames(user=user, as_of=AS_OF)
    return indicator_set(frames, period_start=period[0], period_end=period[1], **kw)


def _summary(tables: dict[str, pl.DataFrame], name: str = "lending_summary") -> dict[str, Any]:
    return tables[name].row(0, named=True)


def _keyed(table: pl.DataFrame, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in table.iter_rows(named=True)}


@pytest.mark.django_db
def test_frames_load_only_lent_loans_with_fen_columns(fixture_world: World) -> None:
    frames = lending_frames(user=None, as_of=AS_OF)
    assert sorted(frames.loans.get_column("loan_id").to_list()) == sorted(
        Loan.objects.exclude(reference="L5").values_list("pk", flat=True)
    )
    assert frames.loans.schema["principal_fen"] == pl.Int64
    assert frames.transactions.height == 8  # 9 rows, one reversed
    assert frames.transactions.get_column("amount_fen").sum() == 9320 * M // 100  # 15 + 3.2 + 5 + 3 + 15 + 25 + 25 + 2
    assert frames.npl_reports.get_column("npl_ratio_ppm").sort().to_list() == [9_000, 12_000]
    regs = _keyed(frames.registrations, "registration_id")
    r2 = next(r for r in regs.values() if r["claim_amount_fen"] == 10 * M)
    assert (r2["ip_kind"], r2["size_class"], r2["park_id"]) == ("trademark", "micro", fixture_world.parks["p1"].pk)


@pytest.mark.django_db
def test_lending_basis_2024_by_hand(fixture_world: World) -> None:
    w = fixture_world
    tables = _tables(None, Y2024, granularity="quarter")
    s = _summary(tables)
    # new amount: L2 5 + 3, L3 15, L6 2 = 25 m (L3's reversed 1 m ignored); new loans L2, L3, L6 = 3
    assert s["new_amount_fen"] == 25 * M
    assert s["new_loans"] == 3
    assert s["borrowers"] == 2  # e1b (L2, L6) and e2 (L3)
    # balance 31 Dec: L1 15 − 3 = 12, L2 8, L3 15, L6 2 = 37 m; clients e1, e1b, e2
    assert s["balance_fen"] == 37 * M
    assert (s["loans_with_balance"], s["clients_with_balance"]) == (4, 3)
    # NPL: L2 substandard since 1 May → 8 / 37
    assert s["npl_balance_fen"] == 8 * M
    assert s["npl_ratio"] == pytest.approx(8 / 37)
    # pledge rate over new loans: L2 8 / 20 = 0.4; L3 (unvalued) and L6 (no collateral) left out
    assert s["pledge_rate"] == pytest.approx(0.4)
    assert (s["pledge_loans_valued"], s["pledge_loans_unvalued"]) == (1, 2)
    # 普惠 2024 (< ¥20 m): L2 8, L3 15, L6 2 → all 3 loans, all 25 m
    assert (s["puhui_loans"], s["puhui_amount_fen"], s["puhui_share_amount"]) == (3, 25 * M, 1.0)
    assert s["first_financed"] == 1  # T2: e1b only (e1 and e2 first borrowed in 2023)

    series = tables["lending_series"]
    # quarter ends: Q1 L1 15 + L2 8 + L3 15 = 38; Q2 L1 12 + 8 + 15 + L6 2 = 37; Q3, Q4 37
    assert series.get_column("balance_fen").to_list() == [38 * M, 37 * M, 37 * M, 37 * M]
    # NPL: L2 normal until 1 May (from_class of the later change) → 0 in Q1, 8 from Q2
    assert series.get_column("npl_balance_fen").to_list() == [0, 8 * M, 8 * M, 8 * M]
    # new amount by quarter: Q1 5 + 3 + 15 = 23; Q2 2
    assert series.get_column("new_amount_fen").to_list() == [23 * M, 2 * M, 0, 0]

    npl = _keyed(tables["npl_vs_bank"], "head_office")
    bank1, bank2 = npl[w.orgs["bank1"].pk], npl[w.orgs["bank2"].pk]
    # bank1 tree: L1 12 + L2 8 = 20, NPL 8 → 40 % against 1.2 % + 3 pp: outside the tolerance
    assert (bank1["balance_fen"], bank1["npl_balance_fen"]) == (20 * M, 8 * M)
    assert bank1["npl_ratio"] == pytest.approx(0.4)
    assert bank1["bank_npl_ratio"] == pytest.approx(0.012)
    assert bank1["within_tolerance"] is False
    # bank2: L3 15 + L6 2 = 17, no NPL: 0 % ≤ 0.9 % + 3 pp (report of 30 Jun, the latest by 31 Dec)
    assert (bank2["npl_ratio"], bank2["bank_npl_as_of"], bank2["within_tolerance"]) == (0.0, D(2024, 6, 30), True)

    plans = _keyed(tables["credit_plan"], "bank_id")
    # bank1 (head office) tree in 2024: L2 5 + 3 = 8 m, 1 client → 8 / 20 = 40 %, 1 / 3
    assert (plans[w.orgs["bank1"].pk]["disbursed_fen"], plans[w.orgs["bank1"].pk]["clients"]) == (8 * M, 1)
    assert plans[w.orgs["bank1"].pk]["amount_fulfilment"] == pytest.approx(0.4)
    assert plans[w.orgs["bank1"].pk]["clients_fulfilment"] == pytest.approx(1 / 3)
    # bank2: L3 15 + L6 2 = 17 m, clients e2 and e1b → 170 %, 100 %
    assert plans[w.orgs["bank2"].pk]["amount_fulfilment"] == pytest.approx(1.7)
    assert plans[w.orgs["bank2"].pk]["clients_fulfilment"] == pytest.approx(1.0)

    t2 = dict(tables["t2_first_financing"].iter_rows())
    assert t2 == {"large": 0, "medium": 0, "small": 0, "micro": 1, "": 0}

    t3 = {r["day"]: r for r in tables["t3_implementation"].iter_rows(named=True)}
    # patents r1 (L1) and r2 (L3 from 1 Feb); r1b is a trademark
    # 31 Mar: r1 not implemented, r2 no report yet → 0 / 1; 30 Jun: r2 licensed → 1 / 2; 30 Sep: r1 self-use → 2 / 2
    assert [(t3[d]["patents"], t3[d]["with_report"], t3[d]["implemented"]) for d in sorted(t3)] == [
        (2, 1, 0),
        (2, 2, 1),
        (2, 2, 2),
        (2, 2, 2),
    ]
    assert t3[D(2024, 6, 30)]["implementation_rate"] == pytest.approx(0.5)


@pytest.mark.django_db
def test_slices_2024_by_hand(fixture_world: World) -> None:
    w = fixture_world
    tables = _tables(None, Y2024, slices=["bank", "head_office", "park", "province", "city", "ip_kind", "size_class"])
    parks = _keyed(tables["lending_by_park"], "park")
    # P1: L1 12 + L2 8 + L6 2 = 22 balance, new 8 + 2 = 10; P2: L3 15
    assert (parks[w.parks["p1"].pk]["balance_fen"], parks[w.parks["p1"].pk]["new_amount_fen"]) == (22 * M, 10 * M)
    assert parks[w.parks["p2"].pk]["balance_fen"] == 15 * M
    provinces = _keyed(tables["lending_by_province"], "province")
    assert (provinces["110000"]["balance_fen"], provinces["320000"]["balance_fen"]) == (22 * M, 15 * M)
    assert set(_keyed(tables["lending_by_city"], "city")) == {"110100", "320100"}
    heads = _keyed(tables["lending_by_head_office"], "head_office")
    assert heads[w.orgs["bank1"].pk]["new_amount_fen"] == 8 * M
    banks = _keyed(tables["lending_by_bank"], "bank")
    assert banks[w.orgs["bank1_sub"].pk]["balance_fen"] == 12 * M
    kinds = _keyed(tables["lending_by_ip_kind"], "ip_kind")
    # patent: L1 12 + L3 15; trademark: L2 8; none: L6 2
    assert (kinds["patent"]["balance_fen"], kinds["trademark"]["balance_fen"], kinds[""]["balance_fen"]) == (
        27 * M,
        8 * M,
        2 * M,
    )
    sizes = _keyed(tables["lending_by_size_class"], "size_class")
    assert (sizes["micro"]["balance_fen"], sizes["medium"]["balance_fen"], sizes["small"]["balance_fen"]) == (
        10 * M,
        15 * M,
        12 * M,
    )
    labelled = label_tables(tables)
    names = dict(labelled["lending_by_park"].select("park", "name").iter_rows())
    assert names[w.parks["p2"].pk] == "南京江宁高新技术产业开发区"
    assert dict(labelled["lending_by_province"].select("province", "name").iter_rows())["110000"] == "北京市"
    assert dict(labelled["lending_by_size_class"].select("size_class", "name").iter_rows())["micro"] == "微型"


@pytest.mark.django_db
def test_registration_and_lending_differ_and_stay_apart(fixture_world: World) -> None:
    tables = _tables(None, Y2024, slices=["head_office"])
    reg = _summary(tables, "registration_summary")
    # registrations 2024: R2 10 + R3 18 + R4 25 = 53 m, 3 projects, pledgors e1b and e2;
    # 普惠 (< ¥20 m in 2024): R2, R3 → 2 / 3
    assert reg["registered_amount_fen"] == 53 * M
    assert (reg["projects"], reg["enterprises"], reg["puhui_projects"]) == (3, 2, 2)
    # the lending basis for the same year is 25 m disbursed: a different figure, never added to the 53 m
    assert _summary(tables)["new_amount_fen"] == 25 * M
    assert not {"registered_amount_fen", "projects"} & set(tables["lending_summary"].columns)
    by_head = _keyed(tables["registration_by_head_office"], "head_office")
    assert by_head[fixture_world.orgs["bank2"].pk]["registered_amount_fen"] == 43 * M  # R3 18 + R4 25


@pytest.mark.django_db
def test_puhui_threshold_switches_between_2023_and_2024(fixture_world: World) -> None:
    s2023 = _tables(None, Y2023)
    lend = _summary(s2023)
    # 2023 (< ¥10 m): new loans L1 15, L4 25 → none inclusive; amount 40 m
    assert (lend["new_loans"], lend["new_amount_fen"], lend["puhui_loans"], lend["puhui_share_amount"]) == (
        2,
        40 * M,
        0,
        0.0,
    )
    # balance at the end of 2023: L1 15 (L4 repaid in September)
    assert (lend["balance_fen"], lend["clients_with_balance"]) == (15 * M, 1)
    reg = _summary(s2023, "registration_summary")
    assert (reg["registered_amount_fen"], reg["projects"], reg["puhui_projects"]) == (15 * M, 1, 0)  # R1 15 ≥ 10
    # T2 2023: e1 (small, L1) and e2 (medium, L4)
    assert dict(s2023["t2_first_financing"].iter_rows()) == {"large": 0, "medium": 1, "small": 1, "micro": 0, "": 0}
    # the same ¥15 m loan size is inclusive in 2024 (L3), not in 2023 (L1)
    assert _summary(_tables(None, Y2024))["puhui_loans"] == 3


@pytest.mark.django_db
def test_bank2_sees_only_its_own_figures(fixture_world: World) -> None:
    w = fixture_world
    tables = _tables(w.user("bank2", "viewer"), Y2024)
    s = _summary(tables)
    # bank2's loans only: L3 15 and L6 2 → 17 m new and outstanding, borrowers e2 and e1b, no NPL
    assert (s["new_amount_fen"], s["new_loans"], s["borrowers"]) == (17 * M, 2, 2)
    assert (s["balance_fen"], s["clients_with_balance"], s["npl_balance_fen"]) == (17 * M, 2, 0)
    # T2: e2 first borrowed in 2023 and e1b on 10 Jan 2024 at bank1 (not L6): nothing is a first financing here
    assert s["first_financed"] == 0
    reg = _summary(tables, "registration_summary")
    assert (reg["registered_amount_fen"], reg["projects"], reg["enterprises"]) == (43 * M, 2, 1)  # R3, R4
    assert tables["npl_vs_bank"].get_column("head_office").to_list() == [w.orgs["bank2"].pk]
    assert tables["credit_plan"].get_column("bank_id").to_list() == [w.orgs["bank2"].pk]
    assert set(tables["lending_by_head_office"].get_column("head_office")) == {w.orgs["bank2"].pk}


@pytest.mark.django_db
def test_other_viewers_are_restricted_too(fixture_world: World) -> None:
    w = fixture_world
    # Beijing IP office: loans of Beijing borrowers (L1 12, L2 8, L6 2) and registrations of Beijing pledgors (R2)
    bj = _tables(w.user("ipo_bj", "viewer"), Y2024)
    assert _summary(bj)["balance_fen"] == 22 * M
    assert _summary(bj, "registration_summary")["registered_amount_fen"] == 10 * M
    # bank1's tech sub-branch: L1 only
    sub = _summary(_tables(w.user("bank1_sub", "viewer"), Y2024))
    assert (sub["balance_fen"], sub["new_amount_fen"]) == (12 * M, 0)
    # an enterprise is not an indicator viewer, but the frames would still be its own loans only
    assert _summary(_tables(w.user("ent2", "viewer"), Y2024))["balance_fen"] == 15 * M


@pytest.mark.django_db
def test_workbook_has_a_sheet_per_table(fixture_world: World) -> None:
    import zipfile
    from io import BytesIO

    tables = label_tables(_tables(None, Y2024, slices=["province"]))
    body = tables_workbook(tables, subtitle="2024")
    with zipfile.ZipFile(BytesIO(body)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        shared = book.read("xl/sharedStrings.xml").decode()
    assert len(sheets) == len(tables)
    assert "贷款口径·按省份" in shared and "登记口径·汇总" in shared and "北京市" in shared


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_and_values_list_load_the_same_frames(fixture_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from ipledge.lending import indicators

    viewer = fixture_world.user("bank2", "viewer")
    streamed = lending_frames(user=viewer, as_of=AS_OF)
    monkeypatch.setattr(indicators, "USE_COPY", False)
    listed = lending_frames(user=viewer, as_of=AS_OF)
    for name in ("loans", "transactions", "collateral", "implementation_reports", "classification_changes"):
        left, right = getattr(streamed, name), getattr(listed, name)
        assert left.schema == right.schema, name
        assert left.sort(left.columns).equals(right.sort(right.columns)), name
    assert streamed.registrations.sort("registration_id").equals(listed.registrations.sort("registration_id"))
    assert streamed.loans.get_column("is_ip_pledge").all()


def _pay_due(w: World, loan: Loan, day: dt.date) -> None:
    """Pay what is due on `day` through the services (interest of an interest-only loan)."""
    with as_of(day):
        position = selectors.loan_position(loan, as_of=day)
        amount = position.overdue_amount + position.interest_due_today
        if amount.fen:
            services.loan_repay(loan=loan, amount=amount, value_date=day, acting_user=w.user("bank1_sub"))
    loan.refresh_from_db()


@pytest.mark.django_db
def test_renewal_without_repayment_carries_the_balance_and_is_not_new_lending(world: World) -> None:
    # 无还本续贷 through the services: ¥1 m disbursed 2025-01-15, interest paid monthly, rolled over at maturity
    # 2025-07-15 into a new loan. RENEWAL_ROLLOVER settles the old loan and opens the new one.
    old = active_loan(world, method="interest_only_bullet", term_months=6)
    for day in (D(2025, 2, 15), D(2025, 3, 15), D(2025, 4, 15), D(2025, 5, 15), D(2025, 6, 15), D(2025, 7, 15)):
        _pay_due(world, old, day)
    with as_of(D(2025, 7, 15)):
        new = services.loan_renew(
            loan=old,
            kind="no_principal_repayment",
            principal=Money("1000000"),
            term_months=12,
            annual_rate=Decimal("0.0330"),
            repayment_method="interest_only_bullet",
            acting_user=world.user("bank1_sub", Role.REVIEWER),
        )
    old.refresh_from_db()
    rollovers = LoanTransaction.objects.filter(kind=TransactionKind.RENEWAL_ROLLOVER)
    assert sorted(rollovers.values_list("loan_id", flat=True)) == sorted([old.pk, new.pk])
    day = D(2025, 9, 30)
    columns = Loan.objects.filter(pk__in=[old.pk, new.pk]).values_list("outstanding_principal", flat=True)
    outstanding = sum(m.fen for m in columns)
    assert outstanding == 1_000_000 * 100

    for viewer in (None, world.user("bank1_sub", "viewer")):
        year = indicator_set(lending_frames(user=viewer, as_of=day), period_start=D(2025, 1, 1), period_end=day)
        summary = _summary(year)
        assert summary["balance_fen"] == outstanding  # the new loan's balance, the old one settled
        assert (summary["loans_with_balance"], summary["clients_with_balance"]) == (1, 1)
        assert (summary["new_amount_fen"], summary["new_loans"]) == (outstanding, 1)  # only the 2025-01-15 cash
        months = {row["bucket"]: row for row in year["lending_series"].iter_rows(named=True)}
        assert [months[D(2025, m, 1)]["balance_fen"] for m in (6, 7, 8)] == [outstanding] * 3  # never doubled
        assert months[D(2025, 7, 1)]["new_amount_fen"] == 0 and months[D(2025, 7, 1)]["new_loans"] == 0
        # A period holding only the renewal: its opening rollover is a carried balance, not new lending.
        since = D(2025, 7, 1)
        for frames in (lending_frames(user=viewer, as_of=day), lending_frames(user=viewer, as_of=day, since=since)):
            after = _summary(indicator_set(frames, period_start=since, period_end=day))
            assert (after["new_amount_fen"], after["new_loans"], after["borrowers"]) == (0, 0, 0)
            assert after["balance_fen"] == outstanding


@pytest.mark.django_db
def test_frames_summed_before_a_day_give_the_same_tables(fixture_world: World) -> None:
    # Repayments before `since` come summed per loan: same tables for every period starting on or after it, and an
    # earlier period is refused rather than answered wrongly.
    since = D(2024, 3, 1)
    whole = lending_frames(user=None, as_of=AS_OF)
    summed = lending_frames(user=None, as_of=AS_OF, since=since)
    earlier = (pl.col("kind") == "repayment") & (pl.col("value_date") < since)
    assert summed.transactions.filter(earlier).rows() == [  # L4's repayment of 2023-09-01, dated the day before
        (whole.transactions.filter(earlier).item(0, "loan_id"), "repayment", D(2024, 2, 29), None, 25 * M, False)
    ]
    for period in ((since, D(2024, 12, 31)), (D(2024, 6, 16), D(2024, 8, 31))):
        for granularity in ("month", "quarter"):
            left = indicator_set(whole, period_start=period[0], period_end=period[1], granularity=granularity)
            right = indicator_set(summed, period_start=period[0], period_end=period[1], granularity=granularity)
            assert left.keys() == right.keys()
            for name, table in left.items():
                assert table.equals(right[name]), name
    with pytest.raises(ValueError, match="since="):
        indicator_set(summed, period_start=D(2024, 1, 1), period_end=D(2024, 12, 31))
