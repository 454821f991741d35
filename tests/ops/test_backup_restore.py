"""`ipledge backup` / `ipledge restore` on a demo-like database: the restored copy has the same row count in every
table and the same money (sum and per-row hash of every MoneyField column); corrupt, foreign-engine and
overwriting restores are refused. The figures here are read independently of `ipledge.core.backup`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ipledge.core.backup import money_columns

from .conftest import IPLEDGE, child_env, copy_database, run, seed_database

# Tables a restore itself writes to: the restore's own audit event.
RESTORE_WRITES = {"core_auditevent": 1}


def read_figures(execute: Any, tables: list[str]) -> dict[str, Any]:
    counts, money = {}, {}
    columns = money_columns()
    for table in tables:
        counts[table] = execute(f'SELECT COUNT(*) FROM "{table}"')[0][0]
        if table in columns:
            pk, cols = columns[table]
            for col in cols:
                rows = execute(f'SELECT "{pk}", "{col}" FROM "{table}" ORDER BY "{pk}"')
                digest = hashlib.sha256(repr(rows).encode()).hexdigest()
                total = execute(f'SELECT COALESCE(SUM("{col}"), 0) FROM "{table}"')[0][0]
                money[f"{table}.{col}"] = (int(total), digest)
    return {"counts": counts, "money": money}


def sqlite_figures(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:

        def execute(sql: str) -> list[tuple[Any, ...]]:
            return db.execute(sql).fetchall()

        tables = [
            r[0] for r in execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return read_figures(execute, tables)
    finally:
        db.close()


def assert_same(source: dict[str, Any], restored: dict[str, Any], *, restore_writes: dict[str, int]) -> None:
    assert set(source["counts"]) == set(restored["counts"])
    for table, count in source["counts"].items():
        assert restored["counts"][table] == count + restore_writes.get(table, 0), table
    assert source["money"] == restored["money"]


def rewrite(archive: Path, target: Path, *, manifest: Any = None, data: bytes | None = None) -> None:
    """Copy a backup, swapping in another manifest or data member."""
    with tarfile.open(archive) as src, tarfile.open(target, "w") as out:
        for member in src.getmembers():
            blob = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and manifest is not None:
                blob = json.dumps(manifest).encode()
            elif member.name != "manifest.json" and data is not None:
                blob = data
            info = tarfile.TarInfo(member.name)
            info.size = len(blob)
            out.addfile(info, io.BytesIO(blob))


def manifest_of(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as src:
        return json.load(src.extractfile("manifest.json"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def backed_up(demo_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo database copied to its own directory and backed up once: (database, backup file)."""
    data_dir = tmp_path_factory.mktemp("source")
    source = copy_database(demo_sqlite, data_dir)
    archive = data_dir / "backup.tar"
    done = run([IPLEDGE, "backup", "--output", str(archive)], child_env(data_dir))
    assert str(archive) in done.stdout
    return source, archive


def test_money_columns_cover_the_money_tables() -> None:
    columns = money_columns()
    assert "outstanding_principal" in columns["lending_loan"][1]
    assert {"amount", "principal_part", "interest_part", "penalty_part"} <= set(columns["lending_loantransaction"][1])


def test_restore_gives_the_same_rows_and_money_table_by_table(backed_up: tuple[Path, Path], tmp_path: Path) -> None:
    source, archive = backed_up
    before = sqlite_figures(source)
    assert before["counts"]["lending_loantransaction"] > 1000  # a demo-like database, not an empty one
    assert before["money"]["lending_loan.outstanding_principal"][0] > 0
    manifest = manifest_of(archive)
    assert manifest["engine"] == "sqlite"
    assert manifest["tables"] == before["counts"]
    assert manifest["migrations"]["lending"].startswith("00")
    assert manifest["data"]["sha256"]

    target_dir = tmp_path / "target"
    done = run([IPLEDGE, "restore", str(archive)], child_env(target_dir))
    assert "money checksums match" in done.stdout
    after = sqlite_figures(target_dir / "ipledge.sqlite3")
    assert_same(before, after, restore_writes=RESTORE_WRITES)
    db = sqlite3.connect(target_dir / "ipledge.sqlite3")
    action, actor = db.execute("SELECT action, actor_id FROM core_auditevent ORDER BY id DESC LIMIT 1").fetchone()
    db.close()
    assert (action, actor) == ("core.restore", None)


def test_backup_is_consistent_while_the_database_is_written(backed_up: tuple[Path, Path], tmp_path: Path) -> None:
    source_dir = tmp_path / "busy"
    source = copy_database(backed_up[0], source_dir)
    stop = threading.Event()
    writes = [0]

    def writer() -> None:
        # Another process would do the same: short transactions moving money and adding rows while the copy runs.
        db = sqlite3.connect(source, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        while not stop.is_set():
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE lending_loan SET outstanding_principal = outstanding_principal - 1 "
                "WHERE outstanding_principal > 1000000 AND id % 7 = ?",
                (writes[0] % 7,),
            )
            db.execute("COMMIT")
            writes[0] += 1
            time.sleep(0.001)
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archive = tmp_path / "busy.tar"
        run([IPLEDGE, "backup", "--output", str(archive)], child_env(source_dir))
    finally:
        stop.set()
        thread.join()
    assert writes[0] > 10
    # The copy agrees with its own manifest (the figures were read from the copy, not the moving source) ...
    done = run([IPLEDGE, "backup", "--verify", str(archive)], child_env(source_dir))
    assert "checksum verified" in done.stdout
    # ... and the restore re-reads it and finds the same money.
    target_dir = tmp_path / "target"
    run([IPLEDGE, "restore", str(archive)], child_env(target_dir))
    after = sqlite_figures(target_dir / "ipledge.sqlite3")
    manifest = manifest_of(archive)
    for column in ("outstanding_principal",):
        assert after["money"][f"lending_loan.{column}"][0] == manifest["money"]["lending_loan"][column]["sum_fen"]


def test_corrupt_backup_is_refused_and_nothing_is_written(backed_up: tuple[Path, Path], tmp_path: Path) -> None:
    _, archive = backed_up
    with tarfile.open(archive) as src:
        data = src.extractfile("db.sqlite3").read()  # type: ignore[union-attr]
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.tar"
    rewrite(archive, corrupt, data=bytes(flipped))
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 3])
    foreign = tmp_path / "foreign.tar"
    rewrite(archive, foreign, manifest={**manifest_of(archive), "engine": "postgresql"})

    target_dir = tmp_path / "target"
    env = child_env(target_dir)
    for bad, message in (
        (corrupt, "checksum mismatch"),
        (truncated, "damaged"),
        (foreign, "is a postgresql backup but this database is sqlite"),
    ):
        done = run([IPLEDGE, "restore", str(bad)], env, check=False)
        assert done.returncode != 0, bad
        assert message in done.stderr, done.stderr
    target = target_dir / "ipledge.sqlite3"
    assert not target.exists() or sqlite_figures(target)["counts"] == {}


def test_restore_over_a_non_empty_database_needs_force(backed_up: tuple[Path, Path], tmp_path: Path) -> None:
    source, archive = backed_up
    data_dir = tmp_path / "live"
    target = copy_database(source, data_dir)
    db = sqlite3.connect(target)
    db.execute(
        "UPDATE lending_loan SET outstanding_principal = outstanding_principal - 100 WHERE outstanding_principal > 100"
    )
    db.commit()
    db.close()
    changed = sqlite_figures(target)
    done = run([IPLEDGE, "restore", str(archive)], child_env(data_dir), check=False)
    assert done.returncode != 0
    assert "not empty" in done.stderr and "--force" in done.stderr
    assert sqlite_figures(target) == changed  # untouched

    run([IPLEDGE, "restore", "--force", str(archive)], child_env(data_dir))
    assert_same(sqlite_figures(source), sqlite_figures(target), restore_writes=RESTORE_WRITES)


@pytest.mark.postgres
def test_postgresql_backup_restore_between_scratch_databases(tmp_path: Path) -> None:
    import psycopg

    base = os.environ["DATABASE_URL"]
    root, _, _ = base.rpartition("/")
    names = [f"ipledge_backup_src_{os.getpid()}", f"ipledge_backup_dst_{os.getpid()}"]
    admin = psycopg.connect(base, autocommit=True, password=os.environ.get("PGPASSWORD"))
    try:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        src_url, dst_url = (f"{root}/{name}" for name in names)
        src_env = child_env(tmp_path / "src", src_url)
        seed_database(src_env, pledges=100)
        archive = tmp_path / "pg.tar"
        run([IPLEDGE, "backup", "--output", str(archive)], src_env)
        assert manifest_of(archive)["engine"] == "postgresql"
        dst_env = child_env(tmp_path / "dst", dst_url)
        run([IPLEDGE, "restore", str(archive)], dst_env)
        refused = run([IPLEDGE, "restore", str(archive)], dst_env, check=False)
        assert refused.returncode != 0 and "not empty" in refused.stderr

        def pg_figures(url: str) -> dict[str, Any]:
            with psycopg.connect(url) as conn:

                def execute(sql: str) -> list[tuple[Any, ...]]:
                    return conn.execute(sql).fetchall()  # type: ignore[arg-type]

                tables = [r[0] for r in execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
                return read_figures(execute, tables)

        assert_same(pg_figures(src_url), pg_figures(dst_url), restore_writes=RESTORE_WRITES)
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
