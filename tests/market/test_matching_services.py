"""Matching services on the test world: demand_match, product_match, matches_refresh, the features read from the
database, the `ipledge market match` command and the stored reasons in words."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from ipledge.core.context import business_date
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.market import explain, features
from ipledge.market.choices import DemandStatus, LeadResponse, ProductStatus
from ipledge.market.models import Match
from ipledge.market.services import matching
from ipledge.market.services.matching import demand_match, matches_refresh, product_match
from ipledge.registry.choices import CopyrightWorkKind, IPKind, LegalStatus
from ipledge.registry.models import IPRight
from ipledge.registry.services import ip_right_create
from tests.market.factories_matching import demand_for, invention, live_product, new_version, valued

pytestmark = pytest.mark.django_db


def _answer(match: Match, world, response: str = LeadResponse.INTERESTED) -> None:
    Match.objects.filter(pk=match.pk).update(
        response=response, response_note="已联系企业", responded_by=world.user("bank1_sub"), responded_at=timezone.now()
    )


def test_demand_match_ranks_eligible_products_with_reasons(world):
    good = live_product(world, "bank1_sub")
    cheap = live_product(world, "bank2", rate_spread_bp=10)
    far = live_product(world, "bank1_br", min_remaining_years={"invention": 15})
    valued(world, world.rights["r1"], "10000000", "AA")
    demand = demand_for(world, "e1")
    matches = demand_match(demand=demand)
    assert [m.product_id for m in matches] == [cheap.pk, good.pk, far.pk]
    assert [m.rank for m in matches] == [1, 2, None]
    assert [m.eligible for m in matches] == [True, True, False]
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MATCHED and demand.matched_at is not None
    failed = [r for r in matches[2].reasons if not r["passed"] and not r.get("soft")]
    assert [(r["code"], r["params"]["kind"], r["params"]["need"]) for r in failed] == [
        ("remaining_life", "invention", 15)
    ]
    top = matches[0]
    assert top.supported_amount == Money("3000000")  # 30 % of 10 million
    assert top.product_version_id == cheap.live_version_id
    assert top.expected_approval > Decimal("0.5") and Decimal(0) < top.score <= Decimal(100)
    assert top.annual_rate is not None  # LPR history is loaded by a migration
    assert Match.objects.filter(demand=demand).count() == 3
    event = AuditEvent.objects.filter(action="demand.match", object_id=str(demand.pk)).latest("pk")
    assert event.changes["extra"]["eligible"] == 2


def test_reasons_render_in_both_languages(world):
    live_product(world, "bank1_br", min_remaining_years={"invention": 15})
    demand = demand_for(world, "e1")
    (match,) = demand_match(demand=demand)
    have = next(r for r in match.reasons if r["code"] == "remaining_life")["params"]["have"]
    shown = explain.reasons_for_display(match)
    assert shown[0]["text"] == f"发明专利剩余有效期{have:g}年，本产品要求至少15年"
    with translation.override("en"):
        assert explain.reasons_for_display(match)[0]["text"] == (
            f"invention patent has {have:g} years left; this product needs 15"
        )


def test_unvalued_rights_are_not_a_failure_but_a_hint(world):
    live_product(world, "bank1_sub", amount_min=Money("1000000"))
    demand = demand_for(world, "e1")  # r1 has no valuation
    (match,) = demand_match(demand=demand)
    assert match.eligible and match.supported_amount is None
    assert any(r["code"] == "valuation_missing" for r in match.reasons)


def test_rematching_keeps_the_bank_answer_and_can_make_it_ineligible(world):
    product = live_product(world, "bank1_sub")
    valued(world, world.rights["r1"], "10000000", "A")
    demand = demand_for(world, "e1")
    (match,) = demand_match(demand=demand)
    _answer(match, world)
    new_version(world, product, min_remaining_years={"invention": 19})
    (again,) = demand_match(demand=demand)
    assert again.pk == match.pk
    assert not again.eligible and again.rank is None
    assert again.product_version_id == product.live_version_id
    assert (again.response, again.response_note) == (LeadResponse.INTERESTED, "已联系企业")
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN  # matched → open: nothing fits any more


def test_in_talks_demand_keeps_its_status(world):
    live_product(world, "bank1_sub", min_remaining_years={"invention": 19})
    demand = demand_for(world, "e1", status=DemandStatus.IN_TALKS)
    demand_match(demand=demand)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.IN_TALKS and demand.matched_at is not None


def test_closed_demand_is_not_recomputed(world):
    live_product(world, "bank1_sub")
    demand = demand_for(world, "e1", status=DemandStatus.WITHDRAWN)
    assert demand_match(demand=demand) == []
    assert not Match.objects.filter(demand=demand).exists()


def test_withdrawn_product_loses_unanswered_matches_and_keeps_answered_ones(world):
    product = live_product(world, "bank1_sub")
    other = live_product(world, "bank2")
    valued(world, world.rights["r1"], "10000000", "A")
    answered_demand = demand_for(world, "e1")
    quiet_demand = demand_for(world, "e1", amount="3000000")
    for d in (answered_demand, quiet_demand):
        demand_match(demand=d)
    _answer(Match.objects.get(demand=answered_demand, product=product), world)
    Match.objects.filter(product=other).delete()  # only the withdrawn product matched these demands
    product.status = ProductStatus.WITHDRAWN
    product.save()
    assert product_match(product=product) == 2
    kept = Match.objects.get(product=product)
    assert kept.demand_id == answered_demand.pk and not kept.eligible and kept.rank is None
    assert kept.response == LeadResponse.INTERESTED
    for d in (answered_demand, quiet_demand):
        d.refresh_from_db()
        assert d.status == DemandStatus.OPEN
    shown = demand_match(demand=answered_demand)  # matches of products no longer live are not shown
    assert [m.product_id for m in shown] == [other.pk]
    assert Match.objects.get(pk=kept.pk).response == LeadResponse.INTERESTED


def test_product_match_stores_eligible_pairs_and_single_rule_misses(world):
    valued(world, world.rights["r1"], "10000000", "A")
    fits = demand_for(world, "e1")
    too_big = demand_for(world, "e1", amount="20000000")  # only the amount fails
    way_off = demand_for(world, "e1", amount="20000000", term_months=120)  # amount and term fail
    product = live_product(world, "bank1_sub")
    written = product_match(product=product)
    stored = {m.demand_id: m for m in Match.objects.filter(product=product)}
    assert written == 2 and set(stored) == {fits.pk, too_big.pk}
    assert stored[fits.pk].eligible and stored[fits.pk].rank == 1
    assert not stored[too_big.pk].eligible and stored[too_big.pk].rank is None
    assert way_off.pk not in stored
    fits.refresh_from_db()
    assert fits.status == DemandStatus.MATCHED
    # a better product later: ranks of the demand move, the first product's row is refreshed, not duplicated
    better = live_product(world, "bank2", rate_spread_bp=0)
    product_match(product=better)
    ranks = dict(Match.objects.filter(demand=fits).values_list("product_id", "rank"))
    assert ranks == {better.pk: 1, product.pk: 2}


def test_matches_refresh_bounds_the_ineligible_pairs(world, monkeypatch):
    monkeypatch.setattr(matching, "NEAR_MISSES", 1)
    valued(world, world.rights["r1"], "10000000", "A")
    eligible = live_product(world, "bank1_sub")
    miss_one = live_product(world, "bank1_br", term_max_months=6)  # term fails
    miss_two = live_product(world, "bank2", term_max_months=6, amount_min=Money("5000000"))  # term and amount
    withdrawn = live_product(world, "bank1_br2")
    demand = demand_for(world, "e1")
    demand_match(demand=demand)  # every pair stored first (the demand page)
    assert Match.objects.filter(demand=demand).count() == 4
    _answer(Match.objects.get(demand=demand, product=withdrawn), world)
    answered_miss = Match.objects.get(demand=demand, product=miss_two)
    Match.objects.filter(pk=answered_miss.pk).update(response=LeadResponse.DECLINED)
    withdrawn.status = ProductStatus.WITHDRAWN
    withdrawn.save()
    counts = matches_refresh()
    assert counts["demands"] == 1 and counts["products"] == 3 and counts["pairs"] == 3
    assert counts["eligible"] == 1
    rows = {m.product_id: m for m in Match.objects.filter(demand=demand)}
    assert set(rows) == {eligible.pk, miss_one.pk, miss_two.pk, withdrawn.pk}  # answered rows are always kept
    assert rows[eligible.pk].rank == 1 and not rows[miss_one.pk].eligible
    assert rows[miss_two.pk].response == LeadResponse.DECLINED and not rows[miss_two.pk].eligible
    assert not rows[withdrawn.pk].eligible and rows[withdrawn.pk].response == LeadResponse.INTERESTED
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MATCHED
    assert AuditEvent.objects.filter(action="matches.refresh").exists()


def test_matches_refresh_drops_unanswered_rows_beyond_the_bound(world, monkeypatch):
    monkeypatch.setattr(matching, "NEAR_MISSES", 0)
    live_product(world, "bank1_br", term_max_months=6)
    demand = demand_for(world, "e1")
    demand_match(demand=demand)
    assert Match.objects.filter(demand=demand).count() == 1
    counts = matches_refresh()
    assert counts["deleted"] == 1 and not Match.objects.filter(demand=demand).exists()


def test_match_command_prints_counts(world):
    live_product(world, "bank1_sub")
    demand_for(world, "e1")
    out = StringIO()
    call_command("market", "match", "--json", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["demands"] == 1 and counts["products"] == 1 and counts["stored"] == 1
    out = StringIO()
    call_command("market", "match", stdout=out)
    assert "1 demands × 1 products" in out.getvalue()


def test_features_read_rights_and_valuations(world):
    today = business_date()
    r1 = world.rights["r1"]
    valued(world, r1, "4000000", "BBB")
    valued(world, r1, "6000000", "AA")  # the latest version counts
    old = invention(world, "e1", datetime.date(2010, 1, 5))  # 20-year term: ends 2030
    valued(world, old, "1000000", "A")
    lapsed = invention(world, "e1", datetime.date(2020, 1, 5))
    IPRight.objects.filter(pk=lapsed.pk).update(legal_status=LegalStatus.LAPSED)
    software = ip_right_create(
        kind=IPKind.COPYRIGHT,
        number="2023SR0001234",
        title="智芯调度软件",
        work_kind=CopyrightWorkKind.SOFTWARE,
        owners=[{"enterprise": world.enterprises["e1"]}],
        acting_user=None,
    )
    demand = demand_for(world, "e1", rights=[r1, old, lapsed, software])
    row = features.demands_frame([demand.pk], today).to_dicts()[0]
    assert row["count_invention"] == 2 and row["count_software"] == 1 and row["count_utility_model"] == 0
    assert row["grade"] == "AA"
    r1_days = (r1.term_end - today).days
    assert row["max_days_invention"] == r1_days
    assert row["unvalued_max_days_invention"] is None
    assert row["value_ge_invention"][0] == 6_000_000_00 + 1_000_000_00
    whole_old = 4 * (old.term_end - today).days // 1461
    assert row["value_ge_invention"][whole_old] == 7_000_000_00
    assert row["value_ge_invention"][whole_old + 1] == 6_000_000_00
    assert row["region_code"] == "110108" and row["industry_section"] == "I"
    assert not row["whitelisted"] and not row["dishonest"] and row["penalties_3y"] == 0


def test_features_read_whitelist_and_credit_records(world):
    from ipledge.screening.choices import FileFormat, ImportStatus, MatchStatus, RecordKind
    from ipledge.screening.models import CreditImport, CreditRecord
    from tests.screening.factories import approved_whitelist

    today = business_date()
    approved_whitelist(world)  # E1 included, E1b not
    batch = CreditImport.objects.create(
        organisation=world.orgs["ipo_bj"],
        kind=RecordKind.PENALTY,
        file_name="records.csv",
        file_format=FileFormat.CSV,
        sha256="0" * 64,
        status=ImportStatus.COMMITTED,
    )

    def record(key: str, enterprise: str, kind: str, listed: datetime.date, **extra: object) -> None:
        CreditRecord.objects.create(
            kind=kind,
            batch=batch,
            source_key=key,
            subject_name=world.enterprises[enterprise].name,
            enterprise=world.enterprises[enterprise],
            match_status=extra.pop("match_status", MatchStatus.USCC),
            listed_on=listed,
            **extra,
        )

    days = datetime.timedelta
    record("p1", "e1", RecordKind.PENALTY, today - days(100))
    record("p2", "e1", RecordKind.PENALTY, today - days(400))
    record("p3", "e1", RecordKind.PENALTY, today - days(1200))  # older than three years
    record("p4", "e1", RecordKind.PENALTY, today - days(50), expires_on=today - days(1))  # publicity over
    record("d1", "e1b", RecordKind.DISHONEST, today - days(30))
    record("d2", "e1", RecordKind.DISHONEST, today - days(300), removed_on=today - days(10))  # repaired
    e1 = demand_for(world, "e1")
    e1b = demand_for(world, "e1b", rights=[world.rights["r1b"]])
    rows = {r["demand_id"]: r for r in features.demands_frame([e1.pk, e1b.pk], today).to_dicts()}
    assert (rows[e1.pk]["whitelisted"], rows[e1.pk]["dishonest"], rows[e1.pk]["penalties_3y"]) == (True, False, 2)
    assert (rows[e1b.pk]["whitelisted"], rows[e1b.pk]["dishonest"]) == (False, True)
    assert rows[e1b.pk]["count_trademark"] == 1
    product = live_product(world, "bank1_sub", collateral_kinds=["invention", "trademark"], requires_whitelist=True)
    (match,) = demand_match(demand=e1b)
    failed = {r["code"] for r in match.reasons if not r["passed"] and not r.get("soft")}
    assert {"whitelist", "dishonest"} <= failed and match.product_id == product.pk


def test_collateral_kinds_of_rights():
    assert features.collateral_kind("patent", "pct_invention") == "invention"
    assert features.collateral_kind("patent", "pct_utility_model") == "utility_model"
    assert features.collateral_kind("patent", "design") == "design"
    assert features.collateral_kind("trademark") == "trademark"
    assert features.collateral_kind("copyright", work_kind="software") == "software"
    assert features.collateral_kind("copyright", work_kind="work") == "work"
    assert features.collateral_kind("ic_layout") == "ic_layout"
    assert features.collateral_kind("patent", "") is None


def test_live_products_frame(world):
    product = live_product(
        world,
        "bank1_sub",
        collateral_kinds=["invention", "trademark"],
        min_remaining_years={"invention": 40, "trademark": 2},
        pledge_rate_caps={"invention": "0.25", "trademark": "0.1"},
        region_codes=["110000"],
    )
    draft = live_product(world, "bank2")
    draft.status = ProductStatus.DRAFT
    draft.save()
    frame = features.live_products()
    assert frame.get_column("product_id").to_list() == [product.pk]
    row = frame.to_dicts()[0]
    assert (row["cap_bp_invention"], row["cap_bp_trademark"], row["cap_bp_design"]) == (2500, 1000, 0)
    assert row["min_years_invention"] == 30  # capped
    assert row["accepts_trademark"] and not row["accepts_design"]
    assert row["amount_min"] == 1_000_000_00 and row["spread_bp"] == 50 and row["fixed_bp"] is None


def test_demand_matches_current_recomputes_only_when_stale(world):
    product = live_product(world, "bank1_sub")
    demand = demand_for(world, "e1")

    def runs() -> int:
        return AuditEvent.objects.filter(action="demand.match", object_id=str(demand.pk)).count()

    first = matching.demand_matches_current(demand=demand)
    assert [m.product_id for m in first] == [product.pk] and runs() == 1
    assert [m.pk for m in matching.demand_matches_current(demand=demand)] == [first[0].pk]
    assert runs() == 1  # nothing changed: read, not recomputed
    new_version(world, product, term_max_months=6)  # the product saved with a new live version
    again = matching.demand_matches_current(demand=demand)
    assert runs() == 2 and not again[0].eligible
