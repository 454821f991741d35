"""`ipledge monitoring report --kind KIND [--region CODE] --year YYYY [--quarter N] [--json]` generates a report
(工作措施一览表 xlsx, 季度/年度工作总结 docx) as a job (no user: every record is read), stores it like a report
generated from the page, and prints its id, file and figure count; `--out PATH` also writes the file there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .choices import ReportKind
from .cli import Subcommand


def _report_arguments(parser: CommandParser) -> None:
    parser.add_argument("--kind", required=True, choices=ReportKind.values, help="which report")
    parser.add_argument("--region", default="", help="6-digit province or city code; omit for the whole country")
    parser.add_argument("--year", type=int, required=True, help="the year reported on")
    parser.add_argument("--quarter", type=int, choices=[1, 2, 3, 4], help="the quarter (quarterly_summary only)")
    parser.add_argument("--out", default="", help="also write the file to this path")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")


def _report(command: BaseCommand, options: dict[str, Any]) -> None:
    from django.core.exceptions import ValidationError

    from ipledge.core.models import Region

    from .forms_reports import period_for
    from .services.reports import report_content, report_generate

    region = None
    if options["region"]:
        region = Region.objects.filter(code=options["region"]).first()
        if region is None:
            raise CommandError(f"no region with code {options['region']!r}")
    try:
        period = period_for(options["kind"], options["year"], options["quarter"])
        report = report_generate(
            kind=options["kind"], region=region, period_start=period.start, period_end=period.end, acting_user=None
        )
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    if options["out"]:
        Path(options["out"]).write_bytes(report_content(report))
    result = {
        "id": report.pk,
        "kind": report.kind,
        "title": report.title,
        "file_name": report.file_name,
        "size": report.size,
        "figures": len(report.figures),
        "digest": report.file_digest,
    }
    if options["json"]:
        command.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True))
        return
    command.stdout.write(
        f"report {report.pk}: {report.title} ({report.file_name}, {report.size:,} bytes, {len(report.figures)} figures)"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "report": Subcommand(
        help="Generate a monitoring report: the measures overview table (xlsx) or a quarterly / annual work summary "
        "(docx) with every figure traceable to its query.",
        add_arguments=_report_arguments,
        handle=_report,
    ),
}
