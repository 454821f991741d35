"""`ipledge monitoring …` anomalies jobs (being built)."""

from .cli import Subcommand

SUBCOMMANDS: dict[str, Subcommand] = {}
