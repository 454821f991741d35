"""`ipledge close_of_business [--date YYYY-MM-DD] [--json]`: the daily five-category classification run (日终批量).

Run it once a day after the day's repayments are posted. It first reprices the LPR-linked loans whose repricing
date is the business day (重定价), then classifies. Running it twice for the same day changes nothing.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.context import business_date
from ipledge.lending.classification import close_of_business
from ipledge.lending.services import lpr_reprice_due


class Command(BaseCommand):
    help = "Classify every live loan (五级分类) for a business day and record each transition."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="business day (YYYY-MM-DD); default today in Asia/Shanghai")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        day = business_date()
        if options["date"]:
            try:
                day = datetime.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: not a date in YYYY-MM-DD form: {options['date']!r}") from exc
        repriced = lpr_reprice_due(business_day=day)
        summary = close_of_business(business_day=day)
        if options["json"]:
            self.stdout.write(json.dumps({**summary.as_dict(), "lpr_repriced": repriced}, ensure_ascii=False))
            return
        self.stdout.write(f"{day.isoformat()}: {repriced} LPR-linked loans repriced")
        self.stdout.write(
            f"{day.isoformat()}: {summary.loans_examined} loans examined, {summary.transitions} transitions, "
            f"{summary.days_past_due_updated} days-past-due updates, {summary.conflicts} conflicts, "
            f"{summary.seconds:.2f} s"
        )
        for key, count in sorted(summary.changes.items()):
            self.stdout.write(f"  {key}: {count}")
