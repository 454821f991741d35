"""`ipledge screening import-records` and `ipledge screening rematch`: counts on a good file, the row errors and a
non-zero exit on a bad one (nothing written), and rematching after an enterprise is registered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.models import AuditEvent
from ipledge.registry.services import enterprise_create
from ipledge.screening.choices import MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord
from tests.screening.factories_records import UNREGISTERED_USCC, csv_bytes, penalty_rows, xlsx_bytes
from tests.world import World

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("screening", *args, stdout=out)
    return out.getvalue()


def test_import_records_and_rematch(world: World, tmp_path: Path) -> None:
    path = tmp_path / "penalties.xlsx"
    path.write_bytes(xlsx_bytes(penalty_rows(world)))
    office = str(world.orgs["ipo_bj"].pk)
    out = run("import-records", "--kind", RecordKind.PENALTY, "--file", str(path), "--organisation", office)
    batch = CreditImport.objects.get()
    assert f"import {batch.pk}, 4 rows: 3 matched, 0 to review, 1 unmatched" in out
    assert batch.imported_by is None and AuditEvent.objects.get(action="credit_import.commit").actor_name == "system"
    again = run(
        "import-records",
        "--kind",
        RecordKind.PENALTY,
        "--file",
        str(path),
        "--organisation",
        office,
        "--user",
        "ipo_bj_operator",
        "--json",
    )
    assert json.loads(again)["unchanged"] == 4
    assert CreditImport.objects.order_by("-pk").first().imported_by == world.user("ipo_bj")  # type: ignore[union-attr]

    enterprise_create(uscc=UNREGISTERED_USCC, name="北京朝阳某贸易有限公司", industry_section="F", acting_user=None)
    counts = json.loads(run("rematch", "--json"))
    assert counts["matched"] == 1 and counts["changed"] == 1
    assert CreditRecord.objects.filter(match_status=MatchStatus.UNMATCHED).count() == 0
    assert "0 changed" in run("rematch")


def test_bad_file_exits_with_the_row_errors(world: World, tmp_path: Path) -> None:
    rows = penalty_rows(world)
    rows[2][5] = "2025-02-30"
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows, "gb18030"))
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "screening",
            "import-records",
            "--kind",
            RecordKind.PENALTY,
            "--file",
            str(path),
            "--organisation",
            str(world.orgs["ipo_bj"].pk),
            stdout=out,
        )
    assert exc.value.returncode == 1 and "1 errors, nothing imported" in str(exc.value)
    assert out.getvalue().splitlines() == ["3\t作出行政处罚决定日期\tdate\t日期不存在。"]
    assert not CreditRecord.objects.exists()


def test_command_refusals(world: World, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes(penalty_rows(world)))
    base = ["import-records", "--kind", RecordKind.PENALTY, "--file", str(path)]
    with pytest.raises(CommandError, match="no organisation"):
        run(*base, "--organisation", "999999")
    with pytest.raises(CommandError, match="permission denied"):
        run(*base, "--organisation", str(world.orgs["ipo_bj"].pk), "--user", "bank1_operator")
    with pytest.raises(CommandError, match="知识产权管理部门"):
        run(*base, "--organisation", str(world.orgs["bank1"].pk))
    with pytest.raises(CommandError, match="no such file"):
        run("import-records", "--kind", "penalty", "--file", str(tmp_path / "x.csv"), "--organisation", "1")
    assert not CreditImport.objects.exists()
