"""The `ipledge monitoring SUBCOMMAND …` command's parts: each area module (`cli_anomalies`, `cli_plans`,
`cli_reports`) exports `SUBCOMMANDS` (see `ipledge.core.subcommands`)."""

from ipledge.core.subcommands import Subcommand

__all__ = ["Subcommand"]
