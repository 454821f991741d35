"""Placeholder until the matching area lands (replaced whole by its module)."""

from ipledge.market.cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {}
