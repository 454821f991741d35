"""`ipledge validate …`: one line per input, exit 0 only when all are valid, no database needed."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

IPLEDGE = Path(sys.executable).with_name("ipledge")
RULES = {"InvalidLength": "length", "InvalidFormat": "format", "InvalidChecksum": "checksum"}


def run_command(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("validate", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # A database that cannot be reached proves the command never opens a connection.
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nowhere", "IPLEDGE_DATA_DIR": "/nonexistent"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [str(IPLEDGE), "validate", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


def uscc_vectors(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "uscc_vectors_stdnum.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_patent_numbers_via_call_command():
    out, code = run_command("patent-no", "201710601862.3", "95115608.X")
    assert code == 0
    assert out.splitlines() == ["201710601862.3\tvalid\t201710601862.3", "95115608.X\tvalid\t95115608.X"]

    out, code = run_command("patent-no", "201710601862.3", "201710601862.4")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "201710601862.3\tvalid\t201710601862.3"
    value, verdict, reason = lines[1].split("\t")
    assert (value, verdict) == ("201710601862.4", "invalid") and reason.startswith("checksum: ")


def test_canonical_form_is_printed():
    out, code = run_command("patent-no", "ZL 2017 1 0601862.3", "CN2017106018623")
    assert code == 0
    assert [line.split("\t")[2] for line in out.splitlines()] == ["201710601862.3", "201710601862.3"]


def test_all_uscc_vectors_via_call_command(shared_data):
    vectors = uscc_vectors(shared_data)
    out, code = run_command("uscc", *[v["uscc"] for v in vectors])
    lines = out.splitlines()
    assert len(lines) == len(vectors)
    assert code == (1 if any(v["expected"] == "invalid" for v in vectors) else 0)
    for vector, line in zip(vectors, lines, strict=True):
        value, verdict, detail = line.split("\t")
        assert value == vector["uscc"]
        assert verdict == vector["expected"], line
        if verdict == "valid":
            assert detail == vector["uscc"].replace(" ", "")
        else:
            assert detail.split(":")[0] == RULES[vector["error_class"]], line


def test_valid_uscc_vectors_exit_0_in_a_subprocess(shared_data):
    valid = [v["uscc"] for v in uscc_vectors(shared_data) if v["expected"] == "valid"]
    proc = run_cli("uscc", *valid)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert [line.split("\t")[1] for line in proc.stdout.splitlines()] == ["valid"] * len(valid)


def test_invalid_inputs_exit_1_in_a_subprocess_and_stdout_holds_only_the_lines(shared_data):
    invalid = [v for v in uscc_vectors(shared_data) if v["expected"] == "invalid"]
    proc = run_cli("uscc", "91110000600037341L", *[v["uscc"] for v in invalid])
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 + len(invalid)
    assert lines[0] == "91110000600037341L\tvalid\t91110000600037341L"
    for vector, line in zip(invalid, lines[1:], strict=True):
        assert line.startswith(f"{vector['uscc']}\tinvalid\t{RULES[vector['error_class']]}: ")
    assert "invalid" in proc.stderr  # the summary goes to stderr, never stdout


def test_patent_numbers_in_a_subprocess():
    assert run_cli("patent-no", "201710601862.3", "95115608.X").returncode == 0
    proc = run_cli("patent-no", "201710601862.4")
    assert proc.returncode == 1
    assert proc.stdout.startswith("201710601862.4\tinvalid\tchecksum: ")


def test_stdin_input():
    proc = run_cli("trademark-no", "-", stdin="第12345678号\n\n30123456\n")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["第12345678号\tvalid\t12345678", "30123456\tvalid\t30123456"]


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("trademark-no", "30123456", "12A45"),
        ("copyright-no", "2021SR0123456", "2021XX0123456"),
        ("ic-layout-no", "BS.215500123", "BS.12"),
    ],
)
def test_other_identifier_kinds(kind, good, bad):
    out, code = run_command(kind, good)
    assert code == 0 and out.split("\t")[1] == "valid"
    out, code = run_command(kind, good, bad)
    assert code == 1 and out.splitlines()[1].split("\t")[2].startswith("format: ")


def test_unknown_identifier_kind_is_a_usage_error():
    proc = run_cli("iban", "x")
    assert proc.returncode == 2 and proc.stdout == ""
