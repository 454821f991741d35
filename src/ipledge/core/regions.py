"""Loading and looking up administrative divisions (行政区划) from the shipped NBS 2023 tables."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def region_rows() -> Iterator[dict[str, Any]]:
    """Yield provinces, then cities, then counties as dicts with 6-digit codes, level, parent code, prefix."""
    with (DATA_DIR / "adcn_provinces.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {
                "code": row["code"].ljust(6, "0"),
                "name": row["name"],
                "level": "province",
                "parent": None,
                "prefix": row["code"],
            }
    with (DATA_DIR / "adcn_cities.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {
                "code": row["code"].ljust(6, "0"),
                "name": row["name"],
                "level": "city",
                "parent": row["provinceCode"].ljust(6, "0"),
                "prefix": row["code"],
            }
    with (DATA_DIR / "adcn_areas.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {
                "code": row["code"],
                "name": row["name"],
                "level": "county",
                "parent": row["cityCode"].ljust(6, "0"),
                "prefix": row["code"],
            }


def candidate_codes(division_code: str) -> list[str]:
    """Codes to try for a 6-digit division code, most specific first (county, city, province).

    USCCs issued before a re-division carry codes that no longer exist; falling back to the city or province
    still places the enterprise in the right jurisdiction.
    """
    if len(division_code) != 6 or not division_code.isdigit():
        return []
    return list(dict.fromkeys([division_code, division_code[:4] + "00", division_code[:2] + "0000"]))


def load_regions(region_model: Any) -> int:
    """Insert every region not yet present (idempotent); used by the data migration and tests."""
    existing = set(region_model.objects.values_list("code", flat=True))
    by_code: dict[str, Any] = {r.code: r for r in region_model.objects.all()}
    created = 0
    for level in ("province", "city", "county"):
        batch = []
        for row in region_rows():
            if row["level"] != level or row["code"] in existing:
                continue
            batch.append(
                region_model(
                    code=row["code"],
                    name=row["name"],
                    level=level,
                    prefix=row["prefix"],
                    parent=by_code.get(row["parent"]) if row["parent"] else None,
                )
            )
            existing.add(row["code"])
        region_model.objects.bulk_create(batch, batch_size=1000)
        created += len(batch)
        by_code.update({r.code: r for r in region_model.objects.filter(level=level)})
    return created
