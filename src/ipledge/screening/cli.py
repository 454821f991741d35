"""The `ipledge screening SUBCOMMAND …` command's parts: each area module (`cli_records`, `cli_scorecards`,
`cli_whitelists`, `cli_banking`) exports `SUBCOMMANDS`, a mapping of subcommand name to `Subcommand`."""

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
