"""The load harness runs: gunicorn, locust headless and the CSV reading, on the bare baseline for a few seconds.

The full run (`make bench-load`: seeding, ipledge under 50 users for 60 s, then the baseline) takes minutes and is
a benchmark, not a test; this keeps the harness itself from rotting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_load_harness_runs_against_the_bare_view(tmp_path: Path) -> None:
    output = tmp_path / "load.json"
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--bare-only",
            "--users",
            "5",
            "--duration",
            "3",
            "--workers",
            "1",
            "--threads",
            "2",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(output.read_text())["bare_django_json"]
    assert result["requests"] > 10
    assert result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["requests_per_second"] > 0
    assert "bare JSON view" in result["endpoints"]
