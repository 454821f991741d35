"""Commands with subcommands (`ipledge screening …`, `ipledge market …`): each area module of an app exports
`SUBCOMMANDS`, a mapping of subcommand name to `Subcommand`, and the app's command joins them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]
