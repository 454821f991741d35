"""`ipledge export_openapi [--output PATH]`: write the API's OpenAPI document, byte-for-byte reproducible.

Keys are sorted and the file ends with a newline, so the committed `docs/openapi.json` diffs cleanly;
`tests/test_openapi_drift.py` fails when it no longer matches the code (run `make openapi`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

API_PREFIX = "/api/v1/"


def openapi_document() -> str:
    """The OpenAPI document as the text committed to docs/openapi.json."""
    from ipledge.api import api

    schema = api.get_openapi_schema(path_prefix=API_PREFIX)
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write the OpenAPI document of /api/v1/ (sorted keys, trailing newline)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", default="-", help="File to write; '-' (default) for stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = openapi_document()
        output = options["output"]
        if output == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stderr.write(f"wrote {path} ({len(text.encode())} bytes)")
