"""Building valid identifiers for synthetic data (seeds, tests, benchmarks).

These compute the check characters of the same standards our validators enforce, so generated USCCs and
patent application numbers pass validation exactly like real ones.
"""

from __future__ import annotations

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Organisation-code part (digits 9–17, GB 11714) has its own check character.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check(body8: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(*, region_code: str, serial: int, registration_kind: str = "91") -> str:
    """A checksum-valid USCC: registration kind (91 = enterprise), 6-digit region, organisation code, check."""
    body8 = f"{serial % 10**8:08d}"
    body17 = f"{registration_kind}{region_code}{body8}{org_code_check(body8)}"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return body17 + USCC_ALPHABET[(31 - total % 31) % 31]


def patent_check_char(digits: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9)
    total = sum(int(d) * weights[i % 8] for i, d in enumerate(digits))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def make_patent_number(*, year: int, type_digit: int, serial: int) -> str:
    """A ZC 0006-2003 application number in canonical form, e.g. 201710601862.3."""
    body = f"{year:04d}{type_digit}{serial % 10**7:07d}"
    return f"{body}.{patent_check_char(body)}"
