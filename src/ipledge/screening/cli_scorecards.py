from __future__ import annotations

from .cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {}
