"""Enterprise-name matching for credit records (信用记录主体名称匹配). Pure Python: no Django import.

A credit record that names its subject only by name (no 统一社会信用代码 USCC) is matched to the platform's
enterprises here. Names are first normalised, then compared with rapidfuzz; the rules decide between an automatic
match and the review queue, and never guess when two enterprises are equally plausible.

Normalisation (`normalise_name`)
--------------------------------
1. NFKC, so full-width letters, digits and brackets typed by Chinese input methods (ＡＢＣ１２３（）) become their
   half-width forms, then case-folding (ABC = abc).
2. Every character that is not a letter or a digit goes: spaces (also the ideographic space), punctuation and
   brackets of every kind (() （） 〔〕 【】 · ・ -). "北京智芯（上海）科技" and "北京智芯(上海)科技" become the same.
3. One legal-form suffix at the end is dropped: 股份有限公司, 有限责任公司, 有限公司, 股份公司. An enterprise
   converted from 有限公司 to 股份有限公司 (the usual step before listing) keeps its older records under the older
   name, and penalty decisions often shorten the form, so the form must not decide the match.
   集团 is kept: "XX集团有限公司" → "XX集团" but "XX有限公司" → "XX". A group parent and the operating company that
   share its trade name (字号) are separate legal persons with separate credit records.
4. A branch keeps its branch part: "XX有限公司上海分公司" → "XX上海分公司" (the parent's legal form inside the name
   is dropped so that branch names normalise like their parents). A branch (分公司, 分行, 支行, 营业部, 办事处 …)
   is another registered subject with its own USCC, so it is never matched automatically to its parent or the
   other way round (see `match_names`); a person may still confirm it from the review queue.

Matching (`match_names`)
------------------------
Per query, in this order:
* exact: the normalised name equals the normalised name of exactly one enterprise → `EXACT`;
  of two or more → `REVIEW` with those enterprises (same normalised name, e.g. 有限公司 and 股份有限公司 twins);
* fuzzy: the best `fuzz.ratio` score over all enterprises' normalised names is ≥ `AUTO_SCORE`, at least
  `AUTO_MARGIN` above the runner-up, and neither or both names are branches → `FUZZY` (automatic);
* the best score is ≥ `REVIEW_SCORE` → `REVIEW` with the top `TOP_CANDIDATES` enterprises;
* otherwise → `UNMATCHED`.

The scorer is `fuzz.ratio` (normalised Indel similarity of the whole strings), not `WRatio`: WRatio switches to
partial matching when lengths differ, which would score a short trade name inside a longer, different name
("智芯科技" in "北京智芯科技发展") at 90. Scores come from `process.cdist` over chunks of queries × every distinct
normalised enterprise name, multi-threaded in C, so 10,000 names against 50,000 enterprises is a few seconds and no
Python loop runs per pair; exact matches are found first by dictionary lookup and skip the fuzzy pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

# Similarity (0–100) at or above which the best candidate is taken without a person looking at it. With fuzz.ratio
# on normalised names, 96 allows one differing character only in names of 25+ characters: in practice typing
# variants the normalisation did not catch. Anything looser (a one-character difference in a 10-character name
# scores 90) is often a different company with a similar trade name, and a wrong match excludes an innocent firm.
AUTO_SCORE = 96.0
# The automatic match must also beat the runner-up by this much: when two enterprises score 97 and 95, the record
# is as likely to be about either, so a person decides.
AUTO_MARGIN = 4.0
# Below this the names are different companies that share words (北京, 科技, 有限公司 are everywhere); above it and
# below the automatic bar a person decides from the review queue. 80 keeps a missing 市 (北京市智芯科技 vs
# 北京智芯科技, 92) or a one-character typo in a 10-character name (90) reviewable.
REVIEW_SCORE = 80.0
# How many candidates a reviewer is shown: enough to spot the right one, few enough to read.
TOP_CANDIDATES = 3
# Memory bound of one cdist call (queries × distinct names × 4 bytes of float32).
_CHUNK_CELLS = 8_000_000

EXACT = "exact"
FUZZY = "fuzzy"
REVIEW = "review"
UNMATCHED = "unmatched"

LEGAL_FORM_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "股份公司")
BRANCH_MARKERS = ("分公司", "分行", "支行", "分店", "分厂", "营业部", "办事处", "分所", "分中心")

_NOT_WORD = re.compile(r"[\W_]+")
_FORMS = "|".join(LEGAL_FORM_SUFFIXES)
_SUFFIX = re.compile(f"(?:{_FORMS})$")
_BRANCH = re.compile(f"^(?P<parent>.+?)(?:{_FORMS})(?P<branch>.+(?:{'|'.join(BRANCH_MARKERS)}))$")


def normalise_name(name: str) -> str:
    """The comparable form of an enterprise name (see the module docstring); "" when nothing is left."""
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", name or "").casefold())
    branch = _BRANCH.match(text)
    if branch is not None:
        return branch["parent"] + branch["branch"]
    stripped = _SUFFIX.sub("", text)
    return stripped or text


def is_branch(normalised: str) -> bool:
    return normalised.endswith(BRANCH_MARKERS)


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    score: float


@dataclass(frozen=True)
class NameMatch:
    """The outcome for one query: `enterprise_id` is set for `EXACT` and `FUZZY` only; `candidates` (best first)
    for `REVIEW`, and for `FUZZY` too, so that a reader can see what the match beat."""

    status: str
    enterprise_id: int | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass
class _Index:
    names: list[str]  # distinct normalised names
    ids: list[list[int]]  # enterprise ids per distinct name
    position: dict[str, int]
    display: dict[int, str]  # enterprise id -> name as registered


def _index(candidates: Sequence[tuple[int, str]]) -> _Index:
    index = _Index(names=[], ids=[], position={}, display={})
    for pk, name in candidates:
        key = normalise_name(name)
        if not key:
            continue
        index.display[pk] = name
        at = index.position.get(key)
        if at is None:
            index.position[key] = len(index.names)
            index.names.append(key)
            index.ids.append([pk])
        else:
            index.ids[at].append(pk)
    return index


def _decide(query: str, ranked: list[tuple[int, float]], index: _Index) -> NameMatch:
    """The rules of the module docstring over one query's candidates (enterprise id, score), best first."""
    if not ranked or ranked[0][1] < REVIEW_SCORE:
        return NameMatch(UNMATCHED)
    shown = tuple(Candidate(pk, index.display[pk], round(score, 2)) for pk, score in ranked[:TOP_CANDIDATES])
    best_id, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    same_kind = is_branch(query) == is_branch(normalise_name(index.display[best_id]))
    if best >= AUTO_SCORE and best - runner_up >= AUTO_MARGIN and same_kind:
        return NameMatch(FUZZY, enterprise_id=best_id, score=round(best, 2), candidates=shown)
    return NameMatch(REVIEW, score=round(best, 2), candidates=shown)


def match_names(
    queries: Sequence[str],
    candidates: Sequence[tuple[int, str]],
    *,
    exclude: Sequence[Collection[int]] | None = None,
) -> list[NameMatch]:
    """Match each query name against the candidates (enterprise id, registered name); one result per query, in
    order. `exclude[i]`, when given, lists enterprise ids query i must not be matched to (a person rejected them)."""
    index = _index(candidates)
    normalised = [normalise_name(q) for q in queries]
    results: list[NameMatch | None] = [None] * len(queries)
    fuzzy_rows: list[int] = []
    for row, key in enumerate(normalised):
        if not key:
            results[row] = NameMatch(UNMATCHED)
            continue
        banned = exclude[row] if exclude is not None else ()
        at = index.position.get(key)
        hits = [pk for pk in index.ids[at] if pk not in banned] if at is not None else []
        if len(hits) == 1:
            results[row] = NameMatch(EXACT, enterprise_id=hits[0], score=100.0)
        elif hits:
            shown = tuple(Candidate(pk, index.display[pk], 100.0) for pk in sorted(hits)[:TOP_CANDIDATES])
            results[row] = NameMatch(REVIEW, score=100.0, candidates=shown)
        elif not index.names:
            results[row] = NameMatch(UNMATCHED)
        else:
            fuzzy_rows.append(row)
    if fuzzy_rows:
        chunk = max(1, _CHUNK_CELLS // len(index.names))
        for start in range(0, len(fuzzy_rows), chunk):
            rows = fuzzy_rows[start : start + chunk]
            scores = process.cdist(
                [normalised[r] for r in rows],
                index.names,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=REVIEW_SCORE,
                dtype=np.float32,
                workers=-1,
            )
            for offset, row in enumerate(rows):
                results[row] = _decide(normalised[row], _ranked(scores[offset], index, exclude, row), index)
    return [r if r is not None else NameMatch(UNMATCHED) for r in results]


def _ranked(
    scores: np.ndarray, index: _Index, exclude: Sequence[Collection[int]] | None, row: int
) -> list[tuple[int, float]]:
    """The best-scoring enterprises of one query (scores ≥ the review floor), best first, ties by id."""
    banned = exclude[row] if exclude is not None else ()
    hits = np.flatnonzero(scores >= REVIEW_SCORE)
    if hits.size == 0:
        return []
    # Enough distinct names to fill the shortlist and the runner-up even after excluded enterprises drop out.
    keep = TOP_CANDIDATES + 1 + len(banned)
    if hits.size > keep:
        hits = hits[np.argpartition(-scores[hits], keep - 1)[:keep]]
    ranked = [(pk, float(scores[at])) for at in hits.tolist() for pk in index.ids[at] if pk not in banned]
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked
