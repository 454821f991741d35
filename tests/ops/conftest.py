"""Operations tests run the real `ipledge` commands and server as child processes on their own databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTHON = sys.executable
IPLEDGE = str(Path(sys.executable).with_name("ipledge"))

# One child process runs the seeders (each `ipledge` start costs seconds on a busy machine); the pledge count is
# cut from the demo's 600 to keep the build near half a minute while every table a demo fills still gets rows.
SEED_SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed", "--scale", "demo", verbosity=0)
    call_command("seed_pledges", "--count", "{pledges}", verbosity=0)
    call_command("seed_loans", "--scale", "demo", verbosity=0)
    """
)


def child_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env["DJANGO_SETTINGS_MODULE"] = "ipledge.settings.base"
    env["IPLEDGE_DATA_DIR"] = str(data_dir)
    env["DATABASE_URL"] = database_url or f"sqlite:///{data_dir / 'ipledge.sqlite3'}"
    env.update(extra)
    return env


def run(
    args: list[str], env: dict[str, str], *, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def seed_database(env: dict[str, str], *, pledges: int = 200) -> None:
    run([PYTHON, "-c", SEED_SCRIPT.format(pledges=pledges)], env, timeout=600)


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo-like SQLite database built once per session; tests copy it rather than change it.

    IPLEDGE_OPS_DEMO_DB names an already seeded file to use instead (it is copied, never changed)."""
    data_dir = tmp_path_factory.mktemp("demo-db")
    given = os.environ.get("IPLEDGE_OPS_DEMO_DB")
    if given:
        return copy_database(Path(given), data_dir)
    seed_database(child_env(data_dir))
    return data_dir / "ipledge.sqlite3"


def copy_database(source: Path, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "ipledge.sqlite3"
    # A plain copy is safe: no process has the session database open once the fixture is built.
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target
