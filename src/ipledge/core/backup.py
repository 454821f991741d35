"""Backups (备份) and restores (恢复) of the whole database, checked end to end.

A backup is one tar file holding `manifest.json` and one data member:

* SQLite: `db.sqlite3`, a page copy made with SQLite's online backup API, so it is consistent while the server
  keeps writing;
* PostgreSQL: `db.dump`, `pg_dump -Fc` run inside the snapshot the manifest's figures were read from
  (`pg_export_snapshot`), so the dump and the figures describe the same instant.

The manifest records the engine, the time, the latest applied migration per app, the row count of every table and,
for every money column (each `MoneyField`, integer fen), the sum and a SHA-256 over (pk, value) ordered by pk, plus
the SHA-256 of the data member. A restore checks the archive and the engine before touching anything, refuses a
non-empty database unless forced, restores, then reads the same figures back and fails loudly on any difference.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction

from ipledge.core.money import MoneyField

FORMAT = "ipledge-backup/1"
MANIFEST = "manifest.json"
DATA_MEMBERS = {"sqlite": "db.sqlite3", "postgresql": "db.dump"}
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message names the problem."""


@dataclass
class Outcome:
    path: Path
    engine: str
    seconds: float
    bytes: int
    tables: int
    rows: int
    manifest: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Figures: row counts, money checksums, migrations
# ---------------------------------------------------------------------------


def money_columns() -> dict[str, tuple[str, list[str]]]:
    """Every table with a money column: db_table -> (pk column, [money columns])."""
    found: dict[str, tuple[str, list[str]]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        columns = [f.column for f in meta.local_concrete_fields if isinstance(f, MoneyField)]
        if columns:
            pk = meta.pk
            assert pk is not None
            known = found.setdefault(meta.db_table, (pk.column, []))
            known[1].extend(c for c in columns if c not in known[1])
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cursor: Any, engine: str) -> list[str]:
    if engine == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    else:
        cursor.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    return [row[0] for row in cursor.fetchall()]


def figures(cursor: Any, engine: str) -> dict[str, Any]:
    """Row counts, money checksums and latest migrations read through a DB-API cursor (one consistent view when
    the caller holds a snapshot or the file is a copy)."""
    tables = _tables(cursor, engine)
    money = money_columns()
    counts: dict[str, int] = {}
    checksums: dict[str, dict[str, dict[str, Any]]] = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 - names come from the catalogue
        counts[table] = int(cursor.fetchone()[0])
        if table not in money:
            continue
        pk, columns = money[table]
        cursor.execute(
            f"SELECT {_quote(pk)}, {', '.join(_quote(c) for c in columns)} FROM {_quote(table)}"  # noqa: S608
        )
        rows = sorted(cursor.fetchall(), key=lambda r: (str(type(r[0])), r[0]))
        per_column: dict[str, dict[str, Any]] = {}
        for index, column in enumerate(columns, start=1):
            digest = hashlib.sha256()
            total = 0
            nulls = 0
            for row in rows:
                value = row[index]
                if value is None:
                    nulls += 1
                else:
                    total += int(value)
                digest.update(f"{row[0]}:{'null' if value is None else int(value)}\n".encode())
            per_column[column] = {"sum_fen": total, "nulls": nulls, "sha256": digest.hexdigest()}
        checksums[table] = per_column
    migrations: dict[str, str] = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            # Migration names start with a zero-padded number, so the greatest name is the latest one.
            if name > migrations.get(app, ""):
                migrations[app] = name
    return {"tables": counts, "money": checksums, "migrations": migrations}


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every difference between two sets of figures, one line each (empty when they agree)."""
    problems: list[str] = []
    for table in sorted(set(expected["tables"]) | set(actual["tables"])):
        want, got = expected["tables"].get(table), actual["tables"].get(table)
        if want is None:
            problems.append(f"table {table}: present after restore but not in the backup")
        elif got is None:
            problems.append(f"table {table}: in the backup ({want} rows) but missing after restore")
        elif want != got:
            problems.append(f"table {table}: {want} rows in the backup, {got} after restore")
    for table, columns in sorted(expected["money"].items()):
        for column, want in sorted(columns.items()):
            got = actual["money"].get(table, {}).get(column)
            if got != want:
                problems.append(f"money column {table}.{column}: checksum {want} in the backup, {got} after restore")
    if expected.get("migrations") != actual.get("migrations"):
        problems.append(f"migrations: {expected.get('migrations')} in the backup, {actual.get('migrations')} now")
    return problems


# ---------------------------------------------------------------------------
# Connection details
# ---------------------------------------------------------------------------


def engine_of(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in DATA_MEMBERS:
        raise BackupError(f"unsupported database engine {vendor!r}: backups cover SQLite and PostgreSQL")
    return vendor


def _sqlite_path(alias: str) -> Path:
    name = str(settings.DATABASES[alias]["NAME"])
    if name in ("", ":memory:") or name.startswith("file:"):
        raise BackupError(f"the SQLite database {name!r} is not a file on disk; nothing to back up")
    return Path(name)


def _pg_command(program: str, alias: str, *args: str, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES[alias]
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} was not found on PATH; install the PostgreSQL client tools")
    command = [executable, "--no-password"]
    if db.get("HOST"):
        command += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    if db.get("USER"):
        command += ["--username", str(db["USER"])]
    command += [*args, "--dbname", database or str(db["NAME"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return command, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Backup
# ---------------------------------------------------------------------------


def default_output(engine: str) -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.DATA_DIR) / "backups" / f"ipledge-{engine}-{stamp}.tar"


def backup(*, output: Path | None = None, alias: str = "default") -> Outcome:
    """Write one backup file of the whole database; return where it is and what it holds."""
    started = time.monotonic()
    engine = engine_of(alias)
    target = Path(output) if output is not None else default_output(engine)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as scratch:
        data = Path(scratch) / DATA_MEMBERS[engine]
        numbers = _backup_sqlite(alias, data) if engine == "sqlite" else _backup_postgresql(alias, data)
        manifest = {
            "format": FORMAT,
            "engine": engine,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "migrations": numbers["migrations"],
            "tables": numbers["tables"],
            "money": numbers["money"],
            "data": {"member": data.name, "bytes": data.stat().st_size, "sha256": _sha256(data)},
        }
        partial = target.with_name(target.name + ".partial")
        # Owner-only before any byte is written: a backup holds every password hash and personal datum.
        partial.touch(mode=0o600)
        partial.chmod(0o600)
        with tarfile.open(partial, "w") as archive:
            blob = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(blob)
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(blob))
            archive.add(data, arcname=data.name)
        # The file appears under its name only when complete, so a crash never leaves a truncated backup behind.
        partial.replace(target)
    return Outcome(
        path=target,
        engine=engine,
        seconds=time.monotonic() - started,
        bytes=target.stat().st_size,
        tables=len(manifest["tables"]),
        rows=sum(manifest["tables"].values()),
        manifest=manifest,
    )


def _backup_sqlite(alias: str, data: Path) -> dict[str, Any]:
    source = sqlite3.connect(_sqlite_path(alias), timeout=30)
    try:
        copy = sqlite3.connect(data)
        try:
            # One step copies every page under a read lock: the copy is one consistent state even with writers.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file, no -wal beside it
            return figures(copy.cursor(), "sqlite")
        finally:
            copy.close()
    finally:
        source.close()


def _backup_postgresql(alias: str, data: Path) -> dict[str, Any]:
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        numbers = figures(cursor, "postgresql")
        # pg_dump reads the very snapshot the figures came from while this transaction keeps it alive.
        command, env = _pg_command("pg_dump", alias, "--format=custom", f"--snapshot={snapshot}", f"--file={data}")
        _run(command, env)
    return numbers


# ---------------------------------------------------------------------------
# Restore
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def open_backup(path: Path, scratch: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    """Read the manifest, extract the data member into `scratch` and check its SHA-256."""
    if not path.is_file():
        raise BackupError(f"backup file {path} does not exist")
    try:
        with tarfile.open(path, "r") as archive:
            try:
                manifest = json.load(archive.extractfile(MANIFEST) or io.BytesIO(b""))
            except KeyError:
                raise BackupError(f"{path} is not an ipledge backup: it has no {MANIFEST}") from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}, expected {FORMAT}")
            member = manifest.get("data", {}).get("member")
            if member not in DATA_MEMBERS.values():
                raise BackupError(f"{path}: the manifest names no valid data member ({member!r})")
            try:
                source = archive.extractfile(member)
            except KeyError:
                raise BackupError(f"{path}: the data member {member} is missing") from None
            if source is None:
                raise BackupError(f"{path}: the data member {member} is not a regular file")
            data = scratch / member
            with data.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
    except (tarfile.TarError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise BackupError(f"{path} is damaged or not a backup archive: {exc}") from exc
    digest = _sha256(data)
    if digest != manifest["data"].get("sha256"):
        raise BackupError(
            f"{path}: checksum mismatch for {member} (manifest {manifest['data'].get('sha256')}, file {digest}); "
            "the backup is corrupt and was not restored"
        )
    yield manifest, data


def verify(path: Path) -> dict[str, Any]:
    """Check an archive without restoring it: the data checksum and, for SQLite, the figures of the copy."""
    with (
        tempfile.TemporaryDirectory(prefix="ipledge-verify-") as scratch,
        open_backup(path, Path(scratch)) as (
            manifest,
            data,
        ),
    ):
        if manifest["engine"] == "sqlite":
            copy = sqlite3.connect(data)
            try:
                problems = compare(manifest, figures(copy.cursor(), "sqlite"))
            finally:
                copy.close()
            if problems:
                raise BackupError(f"{path}: the copy does not match its manifest:\n  " + "\n  ".join(problems))
        return manifest


def _non_empty_tables(alias: str, engine: str) -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = _tables(cursor, engine)
        busy = []
        for table in tables:
            cursor.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1")  # noqa: S608 - names come from the catalogue
            if cursor.fetchone() is not None:
                busy.append(table)
    return busy


def restore(*, path: Path, force: bool = False, alias: str = "default") -> Outcome:
    """Restore a backup over this database, then prove the result matches the backup's figures."""
    started = time.monotonic()
    path = Path(path)
    engine = engine_of(alias)
    scratch_parent = _sqlite_path(alias).parent if engine == "sqlite" else None
    with (
        tempfile.TemporaryDirectory(dir=scratch_parent, prefix=".restore-") as scratch,
        open_backup(path, Path(scratch)) as (manifest, data),
    ):
        if manifest.get("engine") != engine:
            raise BackupError(
                f"{path} is a {manifest.get('engine')} backup but this database is {engine}; "
                "restore it into a database of the same engine"
            )
        busy = _non_empty_tables(alias, engine)
        if busy and not force:
            shown = ", ".join(busy[:5]) + (f" and {len(busy) - 5} more" if len(busy) > 5 else "")
            raise BackupError(
                f"the target database is not empty ({len(busy)} tables hold rows: {shown}); "
                "pass --force to overwrite it"
            )
        connections[alias].close()
        if engine == "sqlite":
            _restore_sqlite(alias, data)
        else:
            _restore_postgresql(alias, data, manifest)
    connections[alias].close()
    with connections[alias].cursor() as cursor:
        actual = figures(cursor, engine)
    problems = compare(manifest, actual)
    if problems:
        raise BackupError("the restored database does not match the backup:\n  " + "\n  ".join(problems))
    _audit(path, manifest, forced=bool(busy), alias=alias)
    return Outcome(
        path=path,
        engine=engine,
        seconds=time.monotonic() - started,
        bytes=path.stat().st_size,
        tables=len(manifest["tables"]),
        rows=sum(manifest["tables"].values()),
        manifest=manifest,
    )


def _restore_sqlite(alias: str, data: Path) -> None:
    source = sqlite3.connect(data)
    try:
        target = sqlite3.connect(_sqlite_path(alias), timeout=30)
        try:
            # The backup API replaces every page of the target under its write lock: other connections see the
            # old database or the new one, never a mixture, and the file stays in place for open handles.
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _restore_postgresql(alias: str, data: Path, manifest: dict[str, Any]) -> None:
    with connections[alias].cursor() as cursor:
        present = set(_tables(cursor, "postgresql"))
    # pg_restore --clean drops only what the dump holds: tables the dump lacks would survive and break the check,
    # so they are named here rather than dropped silently.
    extra = sorted(present - set(manifest["tables"]))
    if extra:
        raise BackupError(
            f"the target database has tables the backup does not know ({', '.join(extra[:5])}); "
            "restore into an empty database or one created from the same version"
        )
    command, env = _pg_command(
        "pg_restore",
        alias,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        str(data),
    )
    _run(command, env)


def _audit(path: Path, manifest: dict[str, Any], *, forced: bool, alias: str) -> None:
    from ipledge.core.audit import record_event

    with transaction.atomic(using=alias):
        record_event(
            acting_user=None,
            action="core.restore",
            object_type="core.backup",
            object_repr=path.name[:255],
            extra={
                "file": path.name,
                "engine": manifest["engine"],
                "created_at": manifest["created_at"],
                "sha256": manifest["data"]["sha256"],
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "forced": forced,
            },
        )


def describe(outcome: Outcome) -> Sequence[str]:
    return (
        f"{outcome.path}",
        f"engine {outcome.engine}, {outcome.tables} tables, {outcome.rows} rows, "
        f"{outcome.bytes / 1e6:.1f} MB, {outcome.seconds:.2f} s",
    )
