"""`ipledge monitoring …` reports jobs (being built)."""

from .cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {}
