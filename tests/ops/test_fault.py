"""Crash safety: SIGKILL the real server in the middle of an .xlsx import and of a batch of repayments, restart
it, and check that nothing is half-written; then retry the same requests and check that nothing is duplicated.

The import validates the whole file, then writes every row in one transaction (`registry.importing`); enterprises
are keyed by their USCC, so a retried file updates nothing it already wrote. Repayments are posted one per request
through the API with an `Idempotency-Key` (unique per loan, `lending_transaction_unique_idempotency_key`), so a
retry answers with the transaction already posted instead of posting it twice.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import PYTHON, child_env, copy_database, run
from .server import Server

IMPORT_ROWS = 3000
REPAYMENTS_PER_LOAN = 3
LOANS = 16

SETUP_SCRIPT = """
import json, django
django.setup()
from django.core.management import call_command
call_command("collectstatic", "--noinput", verbosity=0)  # the manifest storage needs it with DEBUG off
from django.db import transaction
from django.test import Client
from django.utils import timezone
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.scoping import Action
from ipledge.core.models import User
from ipledge.core.services import api_key_create
from ipledge.lending.choices import LoanStatus
from ipledge.lending.models import Loan
from ipledge.registry.models import Park

operator = User.objects.get(username="park_1_operator")
park = Park.objects.restrict(operator, Action.CHANGE).order_by("pk").first()
client = Client()
client.force_login(operator)
today = timezone.localdate()
best = None
for officer in User.objects.filter(organisation__kind=OrganisationKind.BANK, role=Role.OPERATOR).order_by("pk"):
    loans = list(
        Loan.objects.restrict(officer, Action.CHANGE)
        .filter(status=LoanStatus.ACTIVE, outstanding_principal__gt=10_000)
        .exclude(transactions__value_date__gt=today)
        .order_by("pk")
        .values_list("pk", flat=True)[:{loans}]
    )
    if best is None or len(loans) > len(best[1]):
        best = (officer, loans)
officer, loans = best
with transaction.atomic():
    _, secret = api_key_create(
        organisation=officer.organisation, name="fault test", role=Role.OPERATOR, acting_user=officer
    )
print(json.dumps({{
    "session": client.cookies["sessionid"].value,
    "park": park.pk,
    "api_key": secret,
    "loans": loans,
    "today": today.isoformat(),
}}))
"""


def write_enterprises(path: Path, rows: int) -> list[str]:
    import xlsxwriter

    from ipledge.core.synthetic import make_uscc

    usccs = [make_uscc(region_code="110108", serial=97_000_000 + i) for i in range(rows)]
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(
        0, 0, ["统一社会信用代码", "企业名称", "行业门类", "行业大类", "从业人员", "营业收入（元）", "成立日期"]
    )
    for i, uscc in enumerate(usccs, start=1):
        sheet.write_row(
            i, 0, [uscc, f"断电测试{i}科技有限公司", "C", "39", str(10 + i % 300), f"{1_000_000 + i}.50", "2015-06-01"]
        )
    book.close()
    return usccs


def write_lock_held(db: Path) -> bool:
    """Whether another connection holds SQLite's write lock right now (an open write transaction)."""
    probe = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return True
        raise
    finally:
        probe.close()


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db, timeout=30)
    # integrity_check evaluates CHECK constraints, some of which use REGEXP (Django registers it per connection).
    conn.create_function(
        "REGEXP", 2, lambda pattern, text: text is not None and re.search(pattern, str(text)) is not None
    )
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world(demo_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server on a copy of the demo database; the import and the repayments touch disjoint rows."""
    tmp_path = tmp_path_factory.mktemp("fault")
    db = copy_database(demo_sqlite, tmp_path / "data")
    env = child_env(tmp_path / "data")
    done = run([PYTHON, "-c", SETUP_SCRIPT.format(loans=LOANS)], env)
    setup = json.loads(done.stdout.strip().splitlines()[-1])
    server = Server(env, tmp_path / "server.log")
    server.start()
    yield {"db": db, "env": env, "server": server, "tmp": tmp_path, **setup}
    server.stop()


def import_file(server: Server, session: str, park: int, path: Path) -> requests.Response:
    http = requests.Session()
    http.cookies.set("sessionid", session)
    page = http.get(f"{server.url}/registry/import/", timeout=60)
    assert page.status_code == 200, page.status_code
    token = http.cookies["csrftoken"]
    with path.open("rb") as handle:
        return http.post(
            f"{server.url}/registry/import/",
            data={"kind": "enterprises", "park": str(park), "csrfmiddlewaretoken": token},
            files={"file": (path.name, handle, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
            headers={"Referer": f"{server.url}/registry/import/"},
            timeout=600,
        )


def imported(db: Path, usccs: list[str]) -> dict[str, int]:
    marks = ",".join("?" * len(usccs))
    return {
        "enterprises": query(db, f"SELECT COUNT(*) FROM registry_enterprise WHERE uscc IN ({marks})", tuple(usccs))[0][
            0
        ],  # noqa: S608
        "memberships": query(
            db,
            "SELECT COUNT(*) FROM registry_parkmembership m JOIN registry_enterprise e ON e.id = m.enterprise_id "
            f"WHERE e.uscc IN ({marks})",  # noqa: S608
            tuple(usccs),
        )[0][0],
        "import_events": query(db, "SELECT COUNT(*) FROM core_auditevent WHERE action = 'registry.import'")[0][0],
    }


def test_kill_during_an_xlsx_import_leaves_all_or_nothing_and_the_retry_does_not_duplicate(
    world: dict[str, Any],
) -> None:
    db, server = world["db"], world["server"]
    usccs = write_enterprises(world["tmp"] / "enterprises.xlsx", IMPORT_ROWS)
    assert imported(db, usccs) == {"enterprises": 0, "memberships": 0, "import_events": 0}

    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = import_file(
                server, world["session"], world["park"], world["tmp"] / "enterprises.xlsx"
            )
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    # Wait for the write phase: the import holds SQLite's write lock for seconds while it inserts the rows
    # (sessions and request logs hold it for milliseconds). Kill a moment into it.
    deadline = time.monotonic() + 240
    held = 0
    while time.monotonic() < deadline and sender.is_alive():
        held = held + 1 if write_lock_held(db) else 0
        if held >= 5:  # ~0.5 s of one continuous write transaction
            break
        time.sleep(0.1)
    assert held >= 5, f"the import never started writing: {outcome}"
    time.sleep(1.0)
    server.kill()
    sender.join(timeout=60)
    assert "error" in outcome, "the server answered before it was killed: the import was too short to interrupt"

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    after_crash = imported(db, usccs)
    print(f"after the kill: {after_crash} of {IMPORT_ROWS} rows")  # noqa: T201 - shown with -s
    assert after_crash in (
        {"enterprises": 0, "memberships": 0, "import_events": 0},
        {"enterprises": IMPORT_ROWS, "memberships": IMPORT_ROWS, "import_events": 1},
    ), after_crash

    server.start()
    response = import_file(server, world["session"], world["park"], world["tmp"] / "enterprises.xlsx")
    assert response.status_code == 200
    assert imported(db, usccs) == {
        "enterprises": IMPORT_ROWS,
        "memberships": IMPORT_ROWS,
        "import_events": after_crash["import_events"] + 1,
    }
    # The same file once more: the USCC is the natural key, so nothing new is written.
    response = import_file(server, world["session"], world["park"], world["tmp"] / "enterprises.xlsx")
    assert response.status_code == 200
    counts = imported(db, usccs)
    assert counts["enterprises"] == IMPORT_ROWS and counts["memberships"] == IMPORT_ROWS
    assert query(
        db, "SELECT COUNT(*) FROM (SELECT uscc FROM registry_enterprise GROUP BY uscc HAVING COUNT(*) > 1)"
    ) == [(0,)]


def ledger(db: Path, loans: list[int]) -> dict[int, dict[str, int]]:
    marks = ",".join("?" * len(loans))
    rows = query(
        db,
        "SELECT l.id, l.outstanding_principal, "
        "(SELECT COUNT(*) FROM lending_loantransaction t WHERE t.loan_id = l.id AND t.kind = 'repayment'), "
        "(SELECT COUNT(*) FROM core_auditevent a WHERE a.action = 'loan.repay' AND a.object_type = 'lending.loan' "
        " AND a.object_id = CAST(l.id AS TEXT)) "
        f"FROM lending_loan l WHERE l.id IN ({marks})",  # noqa: S608
        tuple(loans),
    )
    return {r[0]: {"outstanding": r[1], "repayments": r[2], "events": r[3]} for r in rows}


def posted(db: Path, loans: list[int]) -> dict[str, tuple[int, int, int, int, int]]:
    marks = ",".join("?" * len(loans))
    rows = query(
        db,
        "SELECT idempotency_key, id, loan_id, principal_part, interest_part + penalty_part, amount "
        f"FROM lending_loantransaction WHERE loan_id IN ({marks}) AND idempotency_key LIKE 'fault-%'",  # noqa: S608
        tuple(loans),
    )
    return {r[0]: r[1:] for r in rows}


def assert_consistent(db: Path, loans: list[int], before: dict[int, dict[str, int]]) -> dict[str, Any]:
    """Every stored repayment is whole (its parts add up) and the balances moved by exactly what is stored."""
    now, stored = ledger(db, loans), posted(db, loans)
    for loan in loans:
        mine = [row for row in stored.values() if row[1] == loan]
        principal = sum(row[2] for row in mine)
        assert all(row[2] + row[3] == row[4] for row in mine), "a repayment's parts do not add up to its amount"
        assert now[loan]["outstanding"] == before[loan]["outstanding"] - principal, loan
        assert now[loan]["repayments"] == before[loan]["repayments"] + len(mine), loan
        assert now[loan]["events"] == before[loan]["events"] + len(mine), loan  # the audit row commits with it
    return stored


def test_kill_during_a_batch_of_repayments_and_retry_without_duplicates(world: dict[str, Any]) -> None:
    db, server, loans = world["db"], world["server"], world["loans"]
    assert len(loans) >= 8, loans
    before = ledger(db, loans)
    batch = [
        (loan, f"fault-{loan}-{n}", f"{100 + n * 7 + loan % 13}.{loan % 100:02d}")
        for n in range(REPAYMENTS_PER_LOAN)
        for loan in loans
    ]
    headers = {"Authorization": f"Bearer {world['api_key']}"}
    day = datetime.date.fromisoformat(world["today"]).isoformat()

    def post(item: tuple[int, str, str]) -> requests.Response:
        loan, key, amount = item
        return requests.post(
            f"{server.url}/api/v1/loans/{loan}/repay",
            json={"amount": amount, "value_date": day},
            headers={**headers, "Idempotency-Key": key},
            timeout=120,
        )

    answered: dict[str, int] = {}
    failed: list[str] = []

    def send(item: tuple[int, str, str]) -> None:
        try:
            response = post(item)
        except requests.RequestException:
            failed.append(item[1])
            return
        assert response.status_code == 201, response.text
        answered[item[1]] = response.json()["id"]

    # Four clients post the batch; the server dies once about a third has been answered.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(send, item) for item in batch]
        deadline = time.monotonic() + 300
        while len(answered) < len(batch) // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        for future in futures:
            future.result()
    assert 0 < len(answered) < len(batch), f"{len(answered)} of {len(batch)} answered before the kill"
    print(f"{len(answered)} of {len(batch)} answered, {len(failed)} cut off by the kill")  # noqa: T201
    assert failed, "no request was cut off by the kill"

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    stored = assert_consistent(db, loans, before)
    # Every answered repayment is stored; what was cut off is stored whole or not at all (checked above).
    assert set(answered) <= set(stored)
    assert all(stored[key][0] == tx for key, tx in answered.items())

    server.start()
    replayed = 0
    for item in batch:  # the clients retry everything, answered or not, with the same keys
        response = post(item)
        assert response.status_code == 201, response.text
        key = item[1]
        if key in stored:
            assert response.json()["id"] == stored[key][0], "a retry posted a second repayment"
            assert response.headers.get("Idempotent-Replayed") == "true"
            replayed += 1
    assert replayed == len(stored)
    final = assert_consistent(db, loans, before)
    assert len(final) == len(batch)  # each repayment exactly once
    assert all(
        ledger(db, loans)[loan]["repayments"] == before[loan]["repayments"] + REPAYMENTS_PER_LOAN for loan in loans
    )
