"""The files in deploy/ stay in step with the code: commands exist, gunicorn's config loads, env vars are read."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = Path(__file__).resolve().parents[2] / "src" / "ipledge" / "settings"


def test_every_command_of_the_daily_batch_exists() -> None:
    script = (DEPLOY / "ipledge-daily.sh").read_text(encoding="utf-8")
    named = re.findall(r'^"\$IPLEDGE" ([a-z_]+)', script, re.M)
    assert len(named) >= 10
    known = get_commands()
    assert [name for name in named if name not in known] == []


def test_gunicorn_config_loads_and_names_the_wsgi_app() -> None:
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["wsgi_app"] == "ipledge.wsgi:application"
    assert config["workers"] >= 1 and config["accesslog"] is None


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")))
def test_units_read_the_env_file_and_run_what_we_ship(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/ipledge/ipledge.env" in text
    exec_start = re.search(r"^ExecStart=(\S+)", text, re.M)
    assert exec_start is not None
    shipped = exec_start.group(1).replace("/srv/ipledge/deploy/", "")
    assert exec_start.group(1).startswith("/srv/ipledge/venv/bin/") or (DEPLOY / shipped).exists(), shipped


def test_every_variable_of_the_env_example_is_read_somewhere() -> None:
    example = (DEPLOY / "ipledge.env.example").read_text(encoding="utf-8")
    names = re.findall(r"^([A-Z_]+)=", example, re.M)
    code = "".join(p.read_text(encoding="utf-8") for p in SETTINGS.glob("*.py"))
    code += (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
    unread = [n for n in names if n != "DJANGO_SETTINGS_MODULE" and f'"{n}"' not in code and f"'{n}'" not in code]
    assert unread == []


def test_gunicorn_accepts_the_config_under_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="ipledge.settings.production",
        SECRET_KEY="x" * 20 + "-prod-secret-for-the-config-check-only-0123456789",
        ALLOWED_HOSTS="ipledge.example.gov.cn",
        DATABASE_URL="postgres://ipledge@127.0.0.1:5432/ipledge",
        IPLEDGE_DATA_DIR=str(tmp_path),
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "--config", str(DEPLOY / "gunicorn.conf.py"), "--check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
