"""`ipledge demo_logins [--all] [--kind KIND]`: the seeded demo logins and their shared password.

By default one organisation of each kind is shown with all four roles, plus the operator of a second one (to try
data isolation); `--all` lists every seeded login.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ipledge.core.choices import OrganisationKind


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "List the demo logins created by `ipledge seed` (username, organisation, kind, role, password)."
    requires_system_checks: list[str] = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every seeded login, not a selection")
        parser.add_argument("--kind", choices=OrganisationKind.values, help="only organisations of this kind")

    def handle(self, *args: Any, **options: Any) -> None:
        from ipledge.registry.seeding import DEMO_PASSWORD, demo_login_rows

        rows = demo_login_rows()
        if options["kind"]:
            label = str(OrganisationKind(options["kind"]).label)
            rows = [r for r in rows if r[2] == label]
        if not rows:
            self.stdout.write("No demo logins: seed the database first (ipledge seed --scale demo).")
            return
        shown = rows if options["all"] else self._selection(rows)
        table = [("username", "organisation", "kind", "role", "password")]
        table += [(*r, DEMO_PASSWORD) for r in shown]
        widths = [max(_width(row[i]) for row in table) for i in range(5)]
        for n, row in enumerate(table):
            self.stdout.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        if len(shown) < len(rows):
            self.stdout.write(f"… {len(rows) - len(shown)} more demo logins: ipledge demo_logins --all")

    @staticmethod
    def _selection(rows: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
        orgs_by_kind: dict[str, list[str]] = {}
        for _username, org, kind, _role in rows:
            orgs = orgs_by_kind.setdefault(kind, [])
            if org not in orgs:
                orgs.append(org)
        picked = []
        for row in rows:
            orgs = orgs_by_kind[row[2]]
            if row[1] == orgs[0] or (len(orgs) > 1 and row[1] == orgs[1] and row[0].endswith("_operator")):
                picked.append(row)
        return picked
