"""The `ipledge screening SUBCOMMAND …` command's parts: each area module (`cli_records`, `cli_scorecards`,
`cli_whitelists`, `cli_banking`) exports `SUBCOMMANDS` (see `ipledge.core.subcommands`)."""

from ipledge.core.subcommands import Subcommand

__all__ = ["Subcommand"]
