"""Matching services (产品匹配): store the engine's verdicts as `Match` rows.

- `demand_match(*, demand)`: one demand against every live product; stores *every* pair (eligible or not, each with
  its reasons) — the enterprise's demand page shows them all.
- `product_match(*, product)`: one product against every active demand (a product going live, changing version or
  being withdrawn). Stores the eligible pairs and the ineligible ones that fail exactly one hard rule (a near miss
  worth explaining) and refreshes every pair of the product already stored (a demand page keeps all its pairs); a non-live product's unanswered matches are deleted and its
  answered ones kept as history, not eligible and not ranked. The ranks of the demands touched are recomputed from
  their stored eligible matches (same order as the engine: score ↓, annual rate ↑ with unknown last, product id ↑).
- `demand_matches_current(*, demand)`: the stored matches, recomputed first only when they may be stale (for pages).
- `matches_refresh(*, today=None)`: every active demand × every live product, by chunks of `CHUNK` demands (one
  transaction per chunk, so that memory and lock time stay bounded). Per demand it stores every eligible pair and the
  `NEAR_MISSES` (20) ineligible pairs closest to eligibility (fewest failed hard rules, then score) — so a province
  (say 10,000 active demands × 400 products) keeps at most ~20 ineligible rows per demand, not 4 million pairs;
  `demand_match` fills in the rest for a demand whose page is opened.

Every upsert keeps the bank's answer (`response`, `response_note`, `responded_by`, `responded_at`): those columns
are never in the update list. A pair that has been answered is always refreshed, never deleted. Demand status moves
open → matched when the demand has an eligible match of a live product and matched → open when it has none (other
statuses are left alone); `matched_at` is set on every demand matched. Match rows are written in bulk (no row
history per recomputation); each service call writes one audit event with its counts.

Annual rates use the LPR in force on the day (`lending.services.lpr_rate_on`, 1-year for terms ≤ 60 months, else
5-year); without a quote the rate is unknown and the cost part of the score is neutral.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ipledge.core.audit import record_event
from ipledge.core.context import business_date
from ipledge.core.money import Money

from .. import features
from ..choices import ACTIVE_DEMAND_STATUSES, DemandStatus, LeadResponse, ProductStatus
from ..engine import matching as engine
from ..models import Demand, Match, Product

CHUNK = engine.CHUNK
NEAR_MISSES = engine.NEAR_MISSES
UPDATE_FIELDS = [
    "product_version",
    "eligible",
    "score",
    "rank",
    "expected_approval",
    "supported_amount",
    "annual_rate",
    "reasons",
    "computed_at",
]


def current_rates(day: datetime.date | None = None) -> engine.Rates:
    """The 1-year and 5-year LPR in force on the day, in basis points (None when no quote is known)."""
    from ipledge.lending.choices import LprTenor
    from ipledge.lending.services import lpr_rate_on

    day = day or business_date()

    def quote(tenor: str) -> int | None:
        try:
            return int((lpr_rate_on(tenor=tenor, day=day) * 10_000).to_integral_value())  # 0.0300 → 300 bp
        except ValidationError:
            return None

    return engine.Rates(lpr_1y_bp=quote(LprTenor.ONE_YEAR), lpr_5y_bp=quote(LprTenor.FIVE_YEAR))


def _dicts(frame: pl.DataFrame, key: str) -> dict[int, dict[str, Any]]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def _match_fields(
    pair: dict[str, Any], demand: dict[str, Any], product: dict[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    capacity = pair["capacity"]
    return {
        "demand_id": pair["demand_id"],
        "product_id": pair["product_id"],
        "product_version_id": pair["version_id"],
        "eligible": bool(pair["eligible"]),
        "score": Decimal(int(pair["score_centi"])) / 100,
        "rank": pair["rank"],
        "expected_approval": Decimal(int(pair["approval_milli"])) / 1000,
        "supported_amount": Money.from_fen(int(capacity)) if capacity else None,
        "annual_rate": None if pair["rate_bp"] is None else Decimal(int(pair["rate_bp"])) / 100,
        "reasons": engine.pair_reasons(demand, product, pair),
        "computed_at": now,
    }


def _evaluate(
    demands: pl.DataFrame,
    prepared: engine.PreparedProducts,
    *,
    near_misses: int | None,
    extra: Sequence[tuple[int, int]] = (),
) -> tuple[pl.DataFrame, int, int]:
    """The pairs to store of the demands against the products, evaluated in cache-sized blocks; with the number of
    pairs evaluated and of eligible ones."""
    parts: list[pl.DataFrame] = []
    pairs = eligible = 0
    for block in engine.blocks(engine.prepare_demands(demands)):
        evaluation = engine.evaluate(block, prepared)
        pairs += evaluation.eligible.size
        eligible += int(evaluation.eligible.sum())
        parts.append(engine.select_pairs(evaluation, near_misses=near_misses, extra=extra))
    return (pl.concat(parts) if parts else pl.DataFrame(schema=engine.PAIR_SCHEMA)), pairs, eligible


def _store(
    pairs: pl.DataFrame, demands: dict[int, dict[str, Any]], products: dict[int, dict[str, Any]]
) -> tuple[int, set[tuple[int, int]]]:
    """Upsert the pairs (bank answers untouched); returns (rows written, their (demand, product) keys)."""
    now = timezone.now()
    rows = [
        Match(**_match_fields(pair, demands[pair["demand_id"]], products[pair["product_id"]], now))
        for pair in pairs.iter_rows(named=True)
    ]
    if rows:
        Match.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["demand", "product"],
            update_fields=UPDATE_FIELDS,
        )
    return len(rows), {(m.demand_id, m.product_id) for m in rows}


def _retire(matches: Iterable[Match]) -> tuple[int, int]:
    """Matches no longer stored: unanswered ones deleted, answered ones kept as history (not eligible, no rank)."""
    drop: list[int] = []
    keep: list[int] = []
    for m in matches:
        (keep if m.response != LeadResponse.NONE else drop).append(m.pk)
    if drop:
        Match.objects.filter(pk__in=drop).delete()
    if keep:
        Match.objects.filter(pk__in=keep).update(eligible=False, rank=None)
    return len(drop), len(keep)


def rerank(demand_ids: Sequence[int]) -> None:
    """Ranks 1…n of each demand's eligible matches of live products from the stored figures (the engine's order);
    every other match of those demands loses its rank."""
    ids = list(demand_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        live = Q(eligible=True, product__status=ProductStatus.LIVE)
        rows = list(
            Match.objects.filter(live, demand_id__in=chunk).values_list(
                "pk", "demand_id", "score", "annual_rate", "product_id", "rank"
            )
        )
        rows.sort(key=lambda r: (r[1], -r[2], r[3] is None, r[3] or 0, r[4]))
        updates: list[Match] = []
        position: dict[int, int] = {}
        for pk, demand_id, _score, _rate, _product, old in rows:
            position[demand_id] = position.get(demand_id, 0) + 1
            if old != position[demand_id]:
                updates.append(Match(pk=pk, rank=position[demand_id]))
        if updates:
            Match.objects.bulk_update(updates, ["rank"], batch_size=500)
        Match.objects.filter(demand_id__in=chunk).exclude(live).exclude(rank=None).update(rank=None)


def _update_statuses(demand_ids: Sequence[int], now: datetime.datetime) -> dict[str, int]:
    """open → matched with an eligible match of a live product; matched → open without one; `matched_at` set."""
    ids = list(demand_ids)
    opened = matched = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with_match = set(
            Match.objects.filter(demand_id__in=chunk, eligible=True, product__status=ProductStatus.LIVE).values_list(
                "demand_id", flat=True
            )
        )
        matched += Demand.objects.filter(pk__in=with_match, status=DemandStatus.OPEN).update(
            status=DemandStatus.MATCHED
        )
        opened += (
            Demand.objects.filter(pk__in=chunk, status=DemandStatus.MATCHED)
            .exclude(pk__in=with_match)
            .update(status=DemandStatus.OPEN)
        )
        Demand.objects.filter(pk__in=chunk).update(matched_at=now)
    return {"to_matched": matched, "to_open": opened}


def _ranked(demand: Demand) -> list[Match]:
    return list(
        Match.objects.filter(demand=demand, product__status=ProductStatus.LIVE)
        .select_related("product", "product__bank", "product_version")
        .order_by("-eligible", "rank", "-score", "product_id")
    )


def _retire_non_live(q: Q) -> tuple[int, int]:
    """Retire the stored matches (within `q`) of products that are not live."""
    stale = Match.objects.filter(q).exclude(product__status=ProductStatus.LIVE).only("pk", "response")
    return _retire(stale)


@transaction.atomic
def demand_match(*, demand: Demand) -> list[Match]:
    """Match one demand against every live product, store every pair with its reasons, rank the eligible ones and
    move the demand open ⇄ matched. Returns the demand's matches of live products, eligible first, by rank.

    A demand that is no longer active (financed, withdrawn, expired) is not recomputed."""
    locked = Demand.objects.select_for_update().get(pk=demand.pk)
    if locked.status not in ACTIVE_DEMAND_STATUSES:
        return _ranked(locked)
    day = business_date()
    products = features.live_products()
    demands = features.demands_frame([locked.pk], day)
    prepared = engine.prepare_products(products, current_rates(day))
    pairs, _n, _eligible = _evaluate(demands, prepared, near_misses=None)
    written, kept = _store(pairs, _dicts(demands, "demand_id"), _dicts(prepared.frame, "product_id"))
    stale = [
        m
        for m in Match.objects.filter(demand=locked).only("pk", "product_id", "response")
        if (m.demand_id, m.product_id) not in kept
    ]
    deleted, history = _retire(stale)
    now = timezone.now()
    moves = _update_statuses([locked.pk], now)
    demand.refresh_from_db(fields=["status", "matched_at"])
    eligible = int(pairs.get_column("eligible").sum()) if pairs.height else 0
    record_event(
        acting_user=None,
        action="demand.match",
        instance=locked,
        extra={
            "products": prepared.n,
            "eligible": eligible,
            "stored": written,
            "deleted": deleted,
            "kept_answered": history,
            **moves,
        },
    )
    return _ranked(locked)


def demand_matches_current(*, demand: Demand) -> list[Match]:
    """The demand's ranked matches, recomputed (`demand_match`) only when they may be stale: never matched, matched
    before today (remaining lives, valuations and credit records move with the date), before the demand's last
    change, or before a live product last changed (a new version, going live). For pages that show the matches on
    every visit without writing (and auditing) a recomputation each time."""
    matched_at = Demand.objects.filter(pk=demand.pk).values_list("matched_at", flat=True).first()
    stale = matched_at is None or timezone.localtime(matched_at).date() < business_date()
    if not stale:
        newest = (
            Product.objects.filter(status=ProductStatus.LIVE)
            .order_by("-updated_at")
            .values_list("updated_at", flat=True)
        ).first()
        updated = Demand.objects.filter(pk=demand.pk).values_list("updated_at", flat=True).first()
        stale = any(moment is not None and moment > matched_at for moment in (newest, updated))
    if stale and demand.status in ACTIVE_DEMAND_STATUSES:
        return demand_match(demand=demand)
    return _ranked(demand)


def _active_demand_ids(today: datetime.date) -> list[int]:
    return list(Demand.objects.filter(status__in=ACTIVE_DEMAND_STATUSES).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def product_match(*, product: Product) -> int:
    """Recompute one product against every active demand; returns the number of match rows written or retired.

    A live product: pairs eligible or failing exactly one hard rule are stored, and the pairs of the product already
    stored are refreshed. A product that is not live (withdrawn, or draft): its
    unanswered matches are deleted, its answered ones kept as history, neither eligible nor ranked."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    day = business_date()
    touched = list(Match.objects.filter(product=product).values_list("demand_id", flat=True))
    if product.status != ProductStatus.LIVE:
        deleted, history = _retire(Match.objects.filter(product=product).only("pk", "response"))
        rerank(touched)
        moves = _update_statuses(
            list(Demand.objects.filter(pk__in=touched, status__in=ACTIVE_DEMAND_STATUSES).values_list("pk", flat=True)),
            timezone.now(),
        )
        record_event(
            acting_user=None,
            action="product.match",
            instance=product,
            extra={"live": False, "deleted": deleted, "kept_answered": history, **moves},
        )
        return deleted + history
    products = features.live_products([product.pk])
    prepared = engine.prepare_products(products, current_rates(day))
    answered = set(
        Match.objects.filter(product=product).exclude(response=LeadResponse.NONE).values_list("demand_id", flat=True)
    )
    already = set(touched)
    written = deleted = history = eligible = 0
    demand_ids = _active_demand_ids(day)
    for start in range(0, len(demand_ids), CHUNK):
        chunk = demand_ids[start : start + CHUNK]
        demands = features.demands_frame(chunk, day)
        pairs, _n, _eligible = _evaluate(demands, prepared, near_misses=None)
        keep = pairs.filter(
            pl.col("eligible")
            | (pl.col("failures") <= 1)
            | pl.col("demand_id").is_in(pl.Series(sorted(already | answered), dtype=pl.Int64).implode())
        )
        n, kept = _store(keep, _dicts(demands, "demand_id"), _dicts(prepared.frame, "product_id"))
        written += n
        eligible += int(keep.get_column("eligible").sum()) if keep.height else 0
        stale = [
            m
            for m in Match.objects.filter(product=product, demand_id__in=chunk).only("pk", "demand_id", "response")
            if (m.demand_id, product.pk) not in kept
        ]
        d, h = _retire(stale)
        deleted, history = deleted + d, history + h
        touched.extend(keep.get_column("demand_id").to_list())
    affected = sorted(set(touched) & set(demand_ids))
    rerank(affected)
    moves = _update_statuses(affected, timezone.now())
    record_event(
        acting_user=None,
        action="product.match",
        instance=product,
        extra={
            "live": True,
            "demands": len(demand_ids),
            "eligible": eligible,
            "stored": written,
            "deleted": deleted,
            **moves,
        },
    )
    return written + deleted + history


def matches_refresh(*, today: datetime.date | None = None) -> dict[str, int]:
    """Every active demand × every live product, by chunks of `CHUNK` demands (a transaction each). Stores each
    demand's eligible pairs and its `NEAR_MISSES` nearest misses; answered pairs are always refreshed; matches of
    products no longer live are retired. Returns counts."""
    from ipledge.core.context import as_of

    day = today or business_date()
    counts = {
        "demands": 0,
        "products": 0,
        "pairs": 0,
        "eligible": 0,
        "stored": 0,
        "deleted": 0,
        "to_matched": 0,
        "to_open": 0,
    }
    with as_of(day):
        products = features.live_products()
        prepared = engine.prepare_products(products, current_rates(day))
        product_rows = _dicts(prepared.frame, "product_id")
        demand_ids = _active_demand_ids(day)
        counts["demands"], counts["products"] = len(demand_ids), prepared.n
        for start in range(0, len(demand_ids), CHUNK):
            chunk = demand_ids[start : start + CHUNK]
            with transaction.atomic():
                demands = features.demands_frame(chunk, day)
                answered = list(
                    Match.objects.filter(demand_id__in=chunk, product__status=ProductStatus.LIVE)
                    .exclude(response=LeadResponse.NONE)
                    .values_list("demand_id", "product_id")
                )
                pairs, evaluated, eligible = _evaluate(demands, prepared, near_misses=NEAR_MISSES, extra=answered)
                n, kept = _store(pairs, _dicts(demands, "demand_id"), product_rows)
                stale = [
                    m
                    for m in Match.objects.filter(demand_id__in=chunk).only("pk", "demand_id", "product_id", "response")
                    if (m.demand_id, m.product_id) not in kept
                ]
                deleted, _history = _retire(stale)
                moves = _update_statuses(chunk, timezone.now())
                counts["pairs"] += evaluated
                counts["eligible"] += eligible
                counts["stored"] += n
                counts["deleted"] += deleted
                counts["to_matched"] += moves["to_matched"]
                counts["to_open"] += moves["to_open"]
        with transaction.atomic():
            counts["deleted"] += _retire_non_live(Q())[0]
            record_event(acting_user=None, action="matches.refresh", object_type="market.match", extra=dict(counts))
    return counts
