"""The committed OpenAPI document (docs/openapi.json) must match what the code generates."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from ipledge.core.management.commands.export_openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def test_committed_openapi_document_matches_the_code():
    generated = openapi_document()
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi` and commit it"
    committed = COMMITTED.read_text(encoding="utf-8")
    if committed != generated:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True),
                    generated.splitlines(True),
                    "docs/openapi.json (committed)",
                    "generated",
                    n=2,
                )
            )[:80]
        )
        raise AssertionError(f"docs/openapi.json is out of date: run `make openapi` and commit the result.\n{diff}")


def test_openapi_document_is_stable_and_documents_errors():
    assert openapi_document() == openapi_document()
    schema = json.loads(openapi_document())
    assert schema["openapi"].startswith("3.")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "422"):
                assert responses[code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }, (method, path, code)
    error_item = schema["components"]["schemas"]["ErrorItem"]["properties"]
    assert set(error_item) == {"field", "rule", "message", "message_en"}
    assert set(schema["components"]["securitySchemes"]) == {"ApiKeyBearer", "ApiKeyHeader", "SessionAuth"}
