"""`ipledge validate uscc|patent-no|trademark-no|copyright-no|ic-layout-no VALUE…` (no database needed).

Prints one line per input, ``INPUT<TAB>valid<TAB>canonical`` or ``INPUT<TAB>invalid<TAB>rule: reason``, and exits
0 only when every input is valid, 1 otherwise. ``-`` as the only value reads one value per line from stdin.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.identifiers import VALIDATORS


def _shown(value: str) -> str:
    # One line per input, whatever the input contains.
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Command(BaseCommand):
    help = "Validate Chinese identifiers (USCC, patent application, trademark, copyright, IC layout numbers)."
    requires_system_checks: list[str] = []  # type: ignore[assignment]
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("identifier", choices=sorted(VALIDATORS), help="which identifier the values are")
        parser.add_argument("values", nargs="+", help="values to check; '-' reads one per line from stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        validator = VALIDATORS[options["identifier"]]
        values: list[str] = options["values"]
        if values == ["-"]:
            values = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        invalid = 0
        for value in values:
            result = validator(value)
            if result.valid:
                self.stdout.write(f"{_shown(value)}\tvalid\t{result.canonical}")
            else:
                invalid += 1
                self.stdout.write(f"{_shown(value)}\tinvalid\t{result.rule}: {result.message}")
        if invalid:
            raise CommandError(f"{invalid} of {len(values)} invalid", returncode=1)
