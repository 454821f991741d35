"""Word search over the policy library (政策工具箱和资源库).

Chinese has no spaces, so a plain substring match either misses inflected queries or matches runs of characters
across word boundaries. Policies therefore keep `search_text`: the title, document number (文号), issuing body,
summary and body segmented into words with rjieba (search mode, so that "知识产权" is stored with "知识" and "产权"),
lower-cased, punctuation dropped, joined by single spaces with a space at each end. A query is segmented the same way
and every query word must occur as a whole word (`search_text` contains " word ").

A query in double quotes (or 「…」/“…”) is an exact phrase, matched as a substring of the title, summary or body;
a query that looks like a document number (contains 〔, [ or 号 with digits) also matches `document_number`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import rjieba
from django.db.models import Q

_PHRASE = re.compile(r'^\s*["“「『](.+?)["”」』]\s*$')
_DOCNO_HINT = re.compile(r"[〔\[（(].*\d|\d+\s*号")


def _keep(token: str) -> bool:
    token = token.strip()
    if not token:
        return False
    # Drop tokens made only of punctuation, symbols or separators (，。（）〔〕 …).
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def tokens(text: str, *, for_index: bool = False) -> list[str]:
    """Segment `text` into lower-case words, dropping punctuation and whitespace, keeping first occurrences."""
    if not text:
        return []
    words = rjieba.cut_for_search(text) if for_index else rjieba.cut(text)
    seen: dict[str, None] = {}
    for word in words:
        word = word.strip().lower()
        if _keep(word):
            seen.setdefault(word, None)
    return list(seen)


def build_search_text(parts: Iterable[str]) -> str:
    """The `search_text` of a policy: its words separated by spaces, with a space at both ends."""
    words: dict[str, None] = {}
    for part in parts:
        for word in tokens(part or "", for_index=True):
            words.setdefault(word, None)
        # Also index the cut of the whole part so that query words (segmented with `cut`) are always present.
        for word in tokens(part or ""):
            words.setdefault(word, None)
    if not words:
        return ""
    return " " + " ".join(words) + " "


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    words: tuple[str, ...]
    phrase: str = ""
    document_number: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.phrase or self.document_number)

    @property
    def highlights(self) -> tuple[str, ...]:
        """What to mark in the results: the phrase, or the query words."""
        return (self.phrase,) if self.phrase else self.words


def parse_query(q: str) -> ParsedQuery:
    raw = (q or "").strip()[:200]
    if not raw:
        return ParsedQuery(raw="", words=())
    phrase = _PHRASE.match(raw)
    if phrase:
        return ParsedQuery(raw=raw, words=(), phrase=phrase.group(1).strip())
    docno = raw if _DOCNO_HINT.search(raw) else ""
    return ParsedQuery(raw=raw, words=tuple(tokens(raw)), document_number=docno)


def match_q(parsed: ParsedQuery) -> Q:
    """The condition a policy meets for the query (callers skip it for an empty query)."""
    if parsed.phrase:
        p = parsed.phrase
        return Q(title__icontains=p) | Q(summary__icontains=p) | Q(body__icontains=p) | Q(document_number__icontains=p)
    cond = Q(pk__isnull=False) if parsed.words else Q(pk__isnull=True)
    for word in parsed.words:
        cond &= Q(search_text__contains=f" {word} ")
    if parsed.document_number:
        cond |= Q(document_number__icontains=parsed.document_number)
    return cond


def title_q(parsed: ParsedQuery) -> Q | None:
    """The condition for a title hit (ranked first)."""
    if parsed.phrase:
        return Q(title__icontains=parsed.phrase)
    if not parsed.words:
        return None
    cond = Q()
    for word in parsed.words:
        cond &= Q(title__icontains=word)
    return cond
