"""`ipledge monitoring …` plans jobs (being built)."""

from .cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {}
