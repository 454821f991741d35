"""`ipledge exchange deliver|pull|run|ping`: the 信易贷 exchange jobs (docs/exchange.md).

- `deliver [--limit N]` sends the due outbound messages (retries and dead letters as the spec says);
- `pull [--partner CODE]` fetches credit data and loan outcomes from each active partner;
- `run [--partner CODE]` is the scheduled job: queue what changed, deliver, pull;
- `ping [--partner CODE]` checks that each partner answers a signed request and signs its answer.
Each prints a summary line per step, or one JSON object with --json. No acting user: the audit trail says "system".
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.subcommands import Subcommand


def _partners(code: str) -> list[Any]:
    from .models import ExchangePartner

    partners = ExchangePartner.objects.filter(is_active=True)
    if code:
        partners = partners.filter(code=code)
        if not partners.exists():
            raise CommandError(f"no active partner with code {code!r}")
    return list(partners.order_by("code"))


def _common(parser: CommandParser, *, partner: bool = True) -> None:
    if partner:
        parser.add_argument("--partner", default="", help="only this partner (its code); default: every active one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _deliver_arguments(parser: CommandParser) -> None:
    parser.add_argument("--limit", type=int, default=100, help="at most this many messages (default 100)")
    _common(parser, partner=False)


def _deliver_step(limit: int) -> dict[str, int]:
    from .services.delivery import deliver_due

    return deliver_due(limit=limit).as_dict()


def _pull_step(code: str) -> dict[str, Any]:
    from .services.inbound import pull

    return {p.code: pull(partner=p).as_dict() for p in _partners(code)}


def _print(command: BaseCommand, options: dict[str, Any], result: dict[str, Any]) -> None:
    if options["json"]:
        command.stdout.write(json.dumps(result, ensure_ascii=False))
        return
    for step, value in result.items():
        if step in ("pull", "ping") and isinstance(value, dict):
            for code, counts in value.items():
                command.stdout.write(f"{step} {code}: {_line(counts)}")
        else:
            command.stdout.write(f"{step}: {_line(value)}")


def _line(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if k != "errors" and v not in (None, 0, [])) or "nothing"
    return str(value)


def _deliver(command: BaseCommand, options: dict[str, Any]) -> None:
    if options["limit"] < 1:
        raise CommandError("--limit must be at least 1")
    _print(command, options, {"deliver": _deliver_step(options["limit"])})


def _pull(command: BaseCommand, options: dict[str, Any]) -> None:
    _print(command, options, {"pull": _pull_step(options["partner"])})


def _run_arguments(parser: CommandParser) -> None:
    parser.add_argument("--limit", type=int, default=1000, help="deliver at most this many messages (default 1000)")
    _common(parser)


def _run(command: BaseCommand, options: dict[str, Any]) -> None:
    from .services.outbound import enqueue_all

    partners = _partners(options["partner"])
    queued: dict[str, int] = {}
    for partner in partners:
        for key, count in enqueue_all(partner=partner).items():
            queued[key] = queued.get(key, 0) + count
    result = {
        "enqueue": queued,
        "deliver": _deliver_step(options["limit"]),
        "pull": _pull_step(options["partner"]),
    }
    _print(command, options, result)


def _ping(command: BaseCommand, options: dict[str, Any]) -> None:
    from .client import ExchangeClient, ExchangeError

    answers: dict[str, Any] = {}
    failed = False
    for partner in _partners(options["partner"]):
        try:
            answers[partner.code] = {"ok": True, "answer": ExchangeClient.for_partner(partner).get_json("/v1/ping")}
        except ExchangeError as exc:
            failed = True
            answers[partner.code] = {"ok": False, "error": str(exc), "retryable": exc.retryable}
    _print(command, options, {"ping": answers})
    if failed:
        raise CommandError("a partner did not answer the signed ping")


SUBCOMMANDS: dict[str, Subcommand] = {
    "deliver": Subcommand("send the due outbound messages to the partners", _deliver_arguments, _deliver),
    "pull": Subcommand("pull credit data and loan outcomes from the partners", _common, _pull),
    "run": Subcommand("the scheduled job: queue changed facts, deliver, pull", _run_arguments, _run),
    "ping": Subcommand("check each partner answers a signed request", _common, _ping),
}
