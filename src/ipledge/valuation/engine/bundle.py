"""A bundle (打包质押, requirement P1): several rights of one holder pledged together, valued as a whole.

Input: the per-right output rows of `pipeline.value_rights` and the input rows they came from (for the kind, the
IPC section or main IPC group, the trademark family and the holder). Each right keeps its own valuation; the bundle
adds what only shows when rights are taken together.

Overlap (重叠) discount. Patents on the same technology protect much the same market: a second patent in the same
IPC main group (e.g. `H04L 9`, when the input carries `main_ipc`) or otherwise the same IPC section adds less than
its stand-alone value, and a buyer of the pledge in a disposal pays for the technology once. The same holds for
trademarks of one family (one mark registered in several classes or variants). Within an overlap group the rights
are ranked by P50 (largest first); the right at rank k (0 for the first) keeps the factor
max(floor, 1 − per_right × k) of its P10/P50/P90 and loan ceiling. With the defaults (10 % per right, floor 60 %) a
group of four keeps 100 %, 90 %, 80 % and 70 %. Rights whose group key is unknown (a patent without IPC) are not
assumed to overlap anything, and copyrights and IC layouts are not grouped. Factors are kept in basis points so the
discounted fen amounts are exact integers.

Complementarity (互补). A patent and a trademark of the same holder pledged together usually protect one product's
technology and its brand; banks like that pairing because the two sell together in a disposal. The bundle reports it
as a note. It adds no value: the uplift is not measured, and a lender's figure should not rest on it.

Range. The bundle's P10/P50/P90 are the sums of the rights' discounted P10/P50/P90. Summing quantiles is exact only
when the rights' values are perfectly correlated (comonotonic); with any diversification the bundle's true P10 is
higher and its P90 lower. For a lender the sum is the conservative choice: the low end is not flattered by assuming
independence between rights that in practice depend on one holder and one market.

Concentration (集中度). The Herfindahl–Hirschman index of the rights' shares of the bundle's discounted P50
(Σ share², 1 for a single right, 1/n for n equal rights), its reciprocal (the number of equally valuable rights it
is equivalent to) and the largest right's share. Null when the bundle's P50 is 0.

Pledge. Only eligible rights (`pledge_eligible`) count: the bundle's loan ceiling is the sum of their discounted
ceilings, floored to whole yuan; the recommended rate is the mean of their rates weighted by their discounted P10
(the value the rate is applied to). Ineligible rights are listed with their reasons and excluded from the ceiling.

Pure: no Django imports. Money in integer fen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

FEN_PER_YUAN = 100
BASIS = 10_000  # factors in basis points keep the discounted fen amounts exact integers

PATENT = "patent"
TRADEMARK = "trademark"

# Columns of the rights' input rows that identify a trademark family, first found wins: an explicit family key,
# then the mark itself (a registered trademark's title is its mark text).
TRADEMARK_FAMILY_COLUMNS: tuple[str, ...] = ("trademark_family", "mark", "title")
HOLDER_COLUMNS: tuple[str, ...] = ("holder_enterprise_id", "holder_id", "enterprise_id")

NOTES: Mapping[str, tuple[str, str]] = {
    "quantiles_summed": (
        "组合区间为各项知识产权 P10/P50/P90 之和，即假设各项价值完全正相关，对出借人是审慎的取法。",
        "The bundle's range sums the rights' P10/P50/P90, i.e. assumes their values are perfectly correlated: the "
        "conservative choice for a lender.",
    ),
    "overlap_discount": (
        "同一技术领域的专利或同一商标族的商标相互重叠，排序在后的权利按规则折减。",
        "Patents on the same technology or trademarks of one family overlap: the later-ranked rights are discounted.",
    ),
    "patent_trademark_complementary": (
        "同一权利人的专利与商标一并质押，通常保护同一产品的技术与品牌，处置时可一并转让（互补，不另加值）。",
        "A patent and a trademark of the same holder pledged together usually protect one product's technology and "
        "brand and can be sold together (complementary; no value is added for it).",
    ),
    "ipc_unknown": (
        "部分专利缺少 IPC 分类，未参与重叠判断。",
        "Some patents have no IPC classification and were not tested for overlap.",
    ),
    "ineligible_excluded": (
        "不符合质押条件的权利已列明原因，不计入可贷额度。",
        "Rights that cannot be pledged are listed with their reasons and excluded from the loan ceiling.",
    ),
    "no_eligible_rights": (
        "组合中没有符合质押条件的权利，可贷额度为 0。",
        "No right in the bundle can be pledged: the loan ceiling is 0.",
    ),
    "single_right": (
        "组合只含一项权利，集中度为 1。",
        "The bundle holds a single right: its concentration is 1.",
    ),
}


@dataclass(frozen=True)
class OverlapDiscount:
    """The overlap rule: `per_right` off for each overlapping right ranked after the first, never below `floor`."""

    per_right: float = 0.10
    floor: float = 0.60
    patents: bool = True
    trademarks: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.per_right <= 1.0:
            raise ValueError("per_right must be in [0, 1]")
        if not 0.0 <= self.floor <= 1.0:
            raise ValueError("floor must be in [0, 1]")

    def factor_bp(self, rank: int) -> int:
        """The factor, in basis points, of the right at `rank` (0 = first) within its overlap group."""
        per_right_bp = round(self.per_right * BASIS)
        floor_bp = round(self.floor * BASIS)
        return max(floor_bp, BASIS - per_right_bp * rank, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_right": self.per_right,
            "floor": self.floor,
            "patents": self.patents,
            "trademarks": self.trademarks,
        }


DEFAULT_OVERLAP = OverlapDiscount()


@dataclass(frozen=True)
class BundleRight:
    right_id: int
    kind: str
    patent_type: str
    overlap_group: str | None  # e.g. "ipc:H04L 9", "ipc_section:H", "trademark:星光"; None when not grouped
    overlap_rank: int  # 0 for the first (largest P50) right of its group, and for ungrouped rights
    overlap_factor_bp: int  # 10,000 = no discount
    p10_fen: int  # after the overlap discount
    p50_fen: int
    p90_fen: int
    p50_before_fen: int
    pledge_eligible: bool
    pledge_rate: float
    loan_ceiling_fen: int  # the right's ceiling after the overlap discount (0 when not eligible)
    pledge_reasons: tuple[str, ...]
    share: float | None  # of the bundle's discounted P50

    @property
    def overlap_factor(self) -> float:
        return self.overlap_factor_bp / BASIS

    def to_dict(self) -> dict[str, Any]:
        return {
            "right_id": self.right_id,
            "kind": self.kind,
            "patent_type": self.patent_type,
            "overlap_group": self.overlap_group,
            "overlap_rank": self.overlap_rank,
            "overlap_factor": self.overlap_factor,
            "p10_fen": self.p10_fen,
            "p50_fen": self.p50_fen,
            "p90_fen": self.p90_fen,
            "p50_before_fen": self.p50_before_fen,
            "pledge_eligible": self.pledge_eligible,
            "pledge_rate": self.pledge_rate,
            "loan_ceiling_fen": self.loan_ceiling_fen,
            "pledge_reasons": list(self.pledge_reasons),
            "share": self.share,
        }


@dataclass(frozen=True)
class OverlapGroup:
    key: str
    basis: str  # "ipc_main_group", "ipc_section" or "trademark_family"
    right_ids: tuple[int, ...]  # ranked, first = kept whole

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "basis": self.basis, "right_ids": list(self.right_ids)}


@dataclass(frozen=True)
class BundleValuation:
    rights: tuple[BundleRight, ...]
    p10_fen: int
    p50_fen: int
    p90_fen: int
    p10_before_fen: int
    p50_before_fen: int
    p90_before_fen: int
    hhi: float | None
    effective_rights: float | None  # 1 / HHI
    largest_share: float | None
    largest_right_id: int | None
    recommended_rate: float
    loan_ceiling_fen: int
    eligible_right_ids: tuple[int, ...]
    ineligible: tuple[tuple[int, tuple[str, ...]], ...]  # (right_id, reasons)
    overlap_groups: tuple[OverlapGroup, ...]
    complementary: bool
    kinds: Mapping[str, int]
    notes: tuple[str, ...]  # codes of NOTES
    overlap_rule: OverlapDiscount = field(default=DEFAULT_OVERLAP)

    @property
    def overlap_discount_fen(self) -> int:
        """What the overlap discount took off the bundle's P50."""
        return self.p50_before_fen - self.p50_fen

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as integer fen), e.g. for `Valuation.details["bundle"]`."""
        return {
            "n_rights": len(self.rights),
            "kinds": dict(self.kinds),
            "p10_fen": self.p10_fen,
            "p50_fen": self.p50_fen,
            "p90_fen": self.p90_fen,
            "p10_before_fen": self.p10_before_fen,
            "p50_before_fen": self.p50_before_fen,
            "p90_before_fen": self.p90_before_fen,
            "overlap_discount_fen": self.overlap_discount_fen,
            "hhi": self.hhi,
            "effective_rights": self.effective_rights,
            "largest_share": self.largest_share,
            "largest_right_id": self.largest_right_id,
            "recommended_rate": self.recommended_rate,
            "loan_ceiling_fen": self.loan_ceiling_fen,
            "eligible_right_ids": list(self.eligible_right_ids),
            "ineligible": [{"right_id": rid, "reasons": list(reasons)} for rid, reasons in self.ineligible],
            "overlap_groups": [g.to_dict() for g in self.overlap_groups],
            "complementary": self.complementary,
            "notes": list(self.notes),
            "overlap_rule": self.overlap_rule.to_dict(),
            "rights": [r.to_dict() for r in self.rights],
        }


_IPC_MAIN_GROUP = re.compile(r"^\s*([A-H])\s*(\d{2})\s*([A-Z])\s*0*(\d{1,4})")


def ipc_main_group(code: str | None) -> str | None:
    """`H04L 9/32` → `H04L 9` (section, class, subclass and main group); None when it does not parse."""
    if not code:
        return None
    found = _IPC_MAIN_GROUP.match(code.upper())
    if found is None:
        return None
    section, klass, subclass, group = found.groups()
    return f"{section}{klass}{subclass} {int(group)}"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _group_key(row: Mapping[str, Any], rule: OverlapDiscount) -> tuple[str, str] | None:
    """(key, basis) of the right's overlap group, or None when it is not grouped."""
    kind = row.get("kind")
    if kind == PATENT and rule.patents:
        main = ipc_main_group(row.get("main_ipc"))
        if main is not None:
            return f"ipc:{main}", "ipc_main_group"
        section = _text(row.get("ipc_section")).upper()[:1]
        if section:
            return f"ipc_section:{section}", "ipc_section"
        return None
    if kind == TRADEMARK and rule.trademarks:
        for column in TRADEMARK_FAMILY_COLUMNS:
            family = _text(row.get(column))
            if family:
                return f"trademark:{family}", "trademark_family"
        # Without a family key the bundle's trademarks are taken as one family: a bundle is one holder's, and
        # that holder's marks pledged together are most often one brand in several classes. Conservative.
        return f"trademark:holder:{_text(_holder(row))}", "trademark_family"
    return None


def _holder(row: Mapping[str, Any]) -> Any:
    return next((row[c] for c in HOLDER_COLUMNS if row.get(c) is not None), None)


def _floor_yuan(fen: int) -> int:
    return fen // FEN_PER_YUAN * FEN_PER_YUAN


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _rows(valued: pl.DataFrame, rights: pl.DataFrame) -> list[dict[str, Any]]:
    needed = ("right_id", "p10_fen", "p50_fen", "p90_fen", "pledge_rate", "loan_ceiling_fen", "pledge_eligible")
    missing = [c for c in needed if c not in valued.columns]
    if missing:
        raise ValueError(f"valued rows lack {missing}")
    if "right_id" not in rights.columns or "kind" not in rights.columns:
        raise ValueError("input rows need right_id and kind")
    if valued.get_column("right_id").is_duplicated().any():
        raise ValueError("a right appears twice in the bundle")
    extra = [c for c in rights.columns if c not in valued.columns or c == "right_id"]
    facts = rights.select(extra).with_columns(pl.col("right_id").cast(pl.Int64)).unique("right_id", keep="first")
    joined = valued.with_columns(pl.col("right_id").cast(pl.Int64)).join(
        facts, on="right_id", how="left", maintain_order="left"
    )
    return joined.to_dicts()


def value_bundle(
    valued: pl.DataFrame,
    *,
    rights: pl.DataFrame,
    policy: Any = None,
    overlap_discount: OverlapDiscount | float = DEFAULT_OVERLAP,
) -> BundleValuation:
    """Value a bundle from its rights' valuations (`value_rights` output) and input rows.

    `overlap_discount` is an `OverlapDiscount` or, for short, the per-right discount with the default floor.
    `policy` is the `PledgePolicy` the rights were valued under; the per-right rates and ceilings already carry it,
    so the bundle only reads them (it is accepted so callers pass one set of arguments to both steps).
    """
    del policy  # the rates and ceilings in `valued` were computed under it
    rule = (
        overlap_discount
        if isinstance(overlap_discount, OverlapDiscount)
        else OverlapDiscount(per_right=float(overlap_discount), floor=DEFAULT_OVERLAP.floor)
    )
    rows = _rows(valued, rights)
    if not rows:
        raise ValueError("a bundle needs at least one right")

    groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    ipc_unknown = False
    for row in rows:
        found = _group_key(row, rule)
        row["_group"] = found[0] if found else None
        if found is None:
            ipc_unknown = ipc_unknown or row.get("kind") == PATENT
            continue
        groups.setdefault(found[0], (found[1], []))[1].append(row)
    overlap_groups: list[OverlapGroup] = []
    for key, (basis, members) in sorted(groups.items()):
        members.sort(key=lambda r: (-_int(r["p50_fen"]), r["right_id"]))
        for rank, row in enumerate(members):
            row["_rank"] = rank
        if len(members) > 1:
            overlap_groups.append(OverlapGroup(key, basis, tuple(int(r["right_id"]) for r in members)))

    out: list[BundleRight] = []
    for row in sorted(rows, key=lambda r: r["right_id"]):
        rank = row.get("_rank", 0) if row["_group"] is not None else 0
        factor = rule.factor_bp(rank)
        eligible = bool(row["pledge_eligible"])
        reasons = tuple(row.get("pledge_reasons") or ())
        out.append(
            BundleRight(
                right_id=int(row["right_id"]),
                kind=_text(row.get("kind")),
                patent_type=_text(row.get("patent_type")),
                overlap_group=row["_group"],
                overlap_rank=rank,
                overlap_factor_bp=factor,
                p10_fen=_int(row["p10_fen"]) * factor // BASIS,
                p50_fen=_int(row["p50_fen"]) * factor // BASIS,
                p90_fen=_int(row["p90_fen"]) * factor // BASIS,
                p50_before_fen=_int(row["p50_fen"]),
                pledge_eligible=eligible,
                pledge_rate=float(row["pledge_rate"] or 0.0) if eligible else 0.0,
                loan_ceiling_fen=_int(row["loan_ceiling_fen"]) * factor // BASIS if eligible else 0,
                pledge_reasons=reasons,
                share=None,
            )
        )

    p50_total = sum(r.p50_fen for r in out)
    shares: list[float | None] = [r.p50_fen / p50_total if p50_total > 0 else None for r in out]
    out = [replace(r, share=s) for r, s in zip(out, shares, strict=True)]
    hhi = sum(s * s for s in shares if s is not None) if p50_total > 0 else None
    largest = max(out, key=lambda r: (r.p50_fen, -r.right_id)) if p50_total > 0 else None

    eligible_rights = [r for r in out if r.pledge_eligible]
    weight = sum(r.p10_fen for r in eligible_rights)
    rate = sum(r.pledge_rate * r.p10_fen for r in eligible_rights) / weight if weight > 0 else 0.0
    ceiling = _floor_yuan(sum(r.loan_ceiling_fen for r in eligible_rights))

    kinds: dict[str, int] = {}
    for r in out:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    complementary = _complementary(rows)
    notes = ["quantiles_summed"]
    if any(r.overlap_factor_bp < BASIS for r in out):
        notes.append("overlap_discount")
    if complementary:
        notes.append("patent_trademark_complementary")
    if ipc_unknown and rule.patents:
        notes.append("ipc_unknown")
    if len(eligible_rights) < len(out):
        notes.append("ineligible_excluded" if eligible_rights else "no_eligible_rights")
    if len(out) == 1:
        notes.append("single_right")

    return BundleValuation(
        rights=tuple(out),
        p10_fen=sum(r.p10_fen for r in out),
        p50_fen=p50_total,
        p90_fen=sum(r.p90_fen for r in out),
        p10_before_fen=sum(_int(r["p10_fen"]) for r in rows),
        p50_before_fen=sum(_int(r["p50_fen"]) for r in rows),
        p90_before_fen=sum(_int(r["p90_fen"]) for r in rows),
        hhi=hhi,
        effective_rights=1.0 / hhi if hhi else None,
        largest_share=largest.share if largest is not None else None,
        largest_right_id=largest.right_id if largest is not None else None,
        recommended_rate=rate,
        loan_ceiling_fen=ceiling,
        eligible_right_ids=tuple(r.right_id for r in eligible_rights),
        ineligible=tuple((r.right_id, r.pledge_reasons) for r in out if not r.pledge_eligible),
        overlap_groups=tuple(overlap_groups),
        complementary=complementary,
        kinds=kinds,
        notes=tuple(notes),
        overlap_rule=rule,
    )


def _complementary(rows: Sequence[Mapping[str, Any]]) -> bool:
    """A patent and a trademark of the same holder (the bundle's single holder when no holder column is given)."""
    patents = {_holder(r) for r in rows if r.get("kind") == PATENT}
    trademarks = {_holder(r) for r in rows if r.get("kind") == TRADEMARK}
    return bool(patents & trademarks)


def note_texts(codes: Sequence[str], language: str = "zh") -> list[str]:
    """The notes' sentences in Chinese (`zh`) or English (`en`)."""
    index = 0 if language == "zh" else 1
    return [NOTES[c][index] for c in codes if c in NOTES]
