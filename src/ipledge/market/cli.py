"""The `ipledge market SUBCOMMAND …` command's parts: each area module (`cli_products`, `cli_demands`,
`cli_surveys`, `cli_events`) exports `SUBCOMMANDS` (see `ipledge.core.subcommands`)."""

from ipledge.core.subcommands import Subcommand

__all__ = ["Subcommand"]
