"""Load test (`make bench-load`): ipledge under locust on loopback, next to a bare Django JSON view.

1. A demo-like SQLite database in a temporary directory (`migrate`, `seed --scale demo`, `seed_pledges`,
   `seed_loans`), or a copy of `--source-db`.
2. A bank operator's session and an API key of the same bank (rate limit raised to the maximum, so the
   limiter never answers 429 here); every endpoint below is checked once to answer 200 before the run.
3. gunicorn (`ipledge.wsgi:application`, gthread, `--workers`/`--threads`, 127.0.0.1) and locust headless with
   `--users` users for `--duration` seconds, no think time: half the users browse the main read pages with the
   session, half call the API lists with the key.
4. The baseline, in the same run with the same gunicorn settings: `bench/bare_app.py`, one Django JSON view with
   no database and no middleware, under the same number of users for the same time.

Reports requests/s, p50/p95 (ms) and errors for each, and the ratios bare/ipledge, in bench/results/load.json.
The load generator shares the machine with the server, so absolute figures are a floor; the ratio is the point.

This file is also the locustfile (`locust -f bench/load.py PageUser ApiUser`): the user classes read their
credentials and endpoints from environment variables set by `main()`.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results" / "load.json"

PAGES = [
    "/",
    "/registry/enterprises/",
    "/registry/ip-rights/",
    "/registry/parks/",
    "/pledges/",
    "/lending/",
    "/market/products/",
]
APIS = [
    "/api/v1/me",
    "/api/v1/enterprises",
    "/api/v1/ip-rights",
    "/api/v1/parks",
    "/api/v1/pledge-filings",
    "/api/v1/loans",
]

SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
call_command("seed", "--scale", "demo", verbosity=0)
call_command("seed_pledges", "--count", "{pledges}", verbosity=0)
call_command("seed_loans", "--scale", "demo", verbosity=0)
"""

CREDENTIALS = """
import json, django
django.setup()
from django.core.management import call_command
call_command("collectstatic", "--noinput", verbosity=0)  # the manifest storage needs it with DEBUG off
from django.db import transaction
from django.test import Client
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.models import User
from ipledge.core.services import api_key_create

user = User.objects.filter(organisation__kind=OrganisationKind.BANK, role=Role.OPERATOR).order_by("pk").first()
client = Client()
client.force_login(user)
with transaction.atomic():
    _, secret = api_key_create(
        organisation=user.organisation, name="load test", role=Role.OPERATOR, acting_user=user,
        rate_limit_per_minute=100000,
    )
print(json.dumps({"username": user.username, "session": client.cookies["sessionid"].value, "api_key": secret}))
"""

# ---------------------------------------------------------------------------
# The locust users (imported by locust; harmless when this file runs as the driver)
# ---------------------------------------------------------------------------

# Only locust imports this module under another name; the driver (`__main__`) must not import locust, whose gevent
# monkey-patching would change how the driver's own subprocesses and sockets behave.
if __name__ != "__main__":
    from locust import constant, task
    from locust.contrib.fasthttp import FastHttpUser

    class PageUser(FastHttpUser):
        """A signed-in bank operator browsing the main read pages."""

        wait_time = constant(0)

        def on_start(self) -> None:
            self.headers = {"Cookie": f"sessionid={os.environ['LOAD_SESSION']}"}

        @task
        def page(self) -> None:
            path = random.choice(PAGES)  # noqa: S311 - load mix, not security
            self.client.get(path, headers=self.headers, name=path)

    class ApiUser(FastHttpUser):
        """An integration calling the API lists with the bank's key."""

        wait_time = constant(0)

        def on_start(self) -> None:
            self.headers = {"Authorization": f"Bearer {os.environ['LOAD_API_KEY']}"}

        @task
        def api(self) -> None:
            path = random.choice(APIS)  # noqa: S311
            self.client.get(path, headers=self.headers, name=path)

    class BareUser(FastHttpUser):
        """The baseline: the bare Django JSON view."""

        wait_time = constant(0)

        @task
        def hello(self) -> None:
            self.client.get("/", name="bare JSON view")


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child(args: list[str], env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def gunicorn(app: str, env: dict[str, str], port: int, args: argparse.Namespace, log: Path, cwd: Path) -> Any:
    handle = log.open("ab")
    process = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--backlog",
            "2048",
            "--timeout",
            "120",
        ],
        env=env,
        cwd=cwd,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, handle


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_locust(host: str, users: list[str], args: argparse.Namespace, env: dict[str, str], prefix: Path) -> None:
    child(
        [
            str(BIN / "locust"),
            "-f",
            str(Path(__file__).resolve()),
            *users,
            "--headless",
            "--host",
            host,
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.users),
            "--run-time",
            f"{args.duration}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env,
        timeout=args.duration + 180,
    )


def read_stats(prefix: Path) -> dict[str, Any]:
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    def figures(row: dict[str, str]) -> dict[str, Any]:
        return {
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "requests_per_second": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
        }

    total = next(row for row in rows if row["Name"] == "Aggregated")
    result = figures(total)
    result["endpoints"] = {row["Name"]: figures(row) for row in rows if row["Name"] != "Aggregated"}
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="") as handle:
            result["failures"] = [dict(row) for row in csv.DictReader(handle)][:20]
    return result


def prepare(workdir: Path, args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ipledge.settings.base",
        IPLEDGE_DATA_DIR=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir / 'ipledge.sqlite3'}",
        DEBUG="False",
    )
    if args.source_db:
        shutil.copyfile(args.source_db, workdir / "ipledge.sqlite3")
    else:
        started = time.monotonic()
        child([sys.executable, "-c", SEED.format(pledges=args.pledges)], env)
        print(f"seeded the demo database in {time.monotonic() - started:.0f} s", file=sys.stderr)
    credentials = json.loads(child([sys.executable, "-c", CREDENTIALS], env).strip().splitlines()[-1])
    return env, credentials


def check_endpoints(base: str, credentials: dict[str, str]) -> None:
    """Every endpoint answers 200 to these credentials before the run: an error page would be measured otherwise."""
    bad = []
    for paths, header in (
        (PAGES, ("Cookie", f"sessionid={credentials['session']}")),
        (APIS, ("Authorization", f"Bearer {credentials['api_key']}")),
    ):
        for path in paths:
            request = urllib.request.Request(base + path, headers=dict([header]))  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                    if response.status != 200 or response.url != base + path:
                        bad.append(f"{path}: {response.status} at {response.url}")
            except urllib.error.HTTPError as exc:
                bad.append(f"{path}: {exc.code}")
    if bad:
        raise RuntimeError("endpoints not answering 200 before the run: " + "; ".join(bad))


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def bare_only(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ipledge-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    port = free_port()
    server, log = gunicorn("bare_app:application", env, port, args, workdir / "bare.log", ROOT / "bench")
    try:
        wait_ready(f"http://127.0.0.1:{port}/", server)
        run_locust(f"http://127.0.0.1:{port}", ["BareUser"], args, env, workdir / "bare")
        bare = read_stats(workdir / "bare")
    finally:
        stop(server)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"bare_django_json": bare, "errors": bare["errors"]}, indent=2) + "\n")
    print(
        f"bare Django JSON view: {bare['requests_per_second']} req/s, p95 {bare['p95_ms']} ms, {bare['errors']} errors"
    )
    return 1 if bare["errors"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load for each of the two servers")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (both servers)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (both servers)")
    parser.add_argument("--pledges", type=int, default=600, help="pledge filings to seed (the demo's 600)")
    parser.add_argument("--source-db", type=Path, help="copy this seeded SQLite file instead of seeding")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--bare-only", action="store_true", help="only the baseline (a smoke run of the harness, no seeding)"
    )
    args = parser.parse_args(argv)
    if args.bare_only:
        return bare_only(args)

    workdir = Path(tempfile.mkdtemp(prefix="ipledge-load-"))
    processes: list[Any] = []
    try:
        env, credentials = prepare(workdir, args)
        locust_env = {**env, "LOAD_SESSION": credentials["session"], "LOAD_API_KEY": credentials["api_key"]}

        port = free_port()
        server, log = gunicorn("ipledge.wsgi:application", env, port, args, workdir / "ipledge.log", ROOT)
        processes.append((server, log))
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/login/", server)
        check_endpoints(base, credentials)
        run_locust(base, ["PageUser", "ApiUser"], args, locust_env, workdir / "ipledge")
        stop(server)
        ipledge = read_stats(workdir / "ipledge")

        port = free_port()
        bare_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
        server, log = gunicorn("bare_app:application", bare_env, port, args, workdir / "bare.log", ROOT / "bench")
        processes.append((server, log))
        wait_ready(f"http://127.0.0.1:{port}/", server)
        run_locust(f"http://127.0.0.1:{port}", ["BareUser"], args, locust_env, workdir / "bare")
        stop(server)
        bare = read_stats(workdir / "bare")
    finally:
        for process, log in processes:
            stop(process)
            log.close()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {
            "users": args.users,
            "duration_s": args.duration,
            "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, 127.0.0.1",
            "database": "SQLite (demo seed)" if not args.source_db else f"SQLite copy of {args.source_db.name}",
            "user": credentials["username"],
            "pages": PAGES,
            "apis": APIS,
        },
        "ipledge": ipledge,
        "bare_django_json": bare,
        "ratios": {
            "throughput_bare_to_ipledge": ratio(bare["requests_per_second"], ipledge["requests_per_second"]),
            "p95_ipledge_to_bare": ratio(ipledge["p95_ms"], bare["p95_ms"]),
        },
        "errors": ipledge["errors"] + bare["errors"],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"ipledge: {ipledge['requests_per_second']} req/s, p50 {ipledge['p50_ms']} ms, p95 {ipledge['p95_ms']} ms, "
        f"{ipledge['errors']} errors of {ipledge['requests']}\n"
        f"bare Django JSON view: {bare['requests_per_second']} req/s, p50 {bare['p50_ms']} ms, "
        f"p95 {bare['p95_ms']} ms, {bare['errors']} errors of {bare['requests']}\n"
        f"throughput ratio bare/ipledge {result['ratios']['throughput_bare_to_ipledge']}, "
        f"p95 ratio ipledge/bare {result['ratios']['p95_ipledge_to_bare']}\n"
        f"written to {args.output}"
    )
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
