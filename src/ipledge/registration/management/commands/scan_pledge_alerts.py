"""`ipledge scan_pledge_alerts [--date YYYY-MM-DD] [--digest]`: raise collateral alerts; print daily digests.

Run it once a day (cron or a task worker). The digest is printed, one block per organisation with unread
alerts; delivering it (e-mail, SMS, 信易贷 push) is a later integration.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.core.context import business_date
from ipledge.registration.models import Alert
from ipledge.registration.monitoring import alert_digest, alerts_scan, organisations_with_unread_alerts
from ipledge.registration.services import corrections_expire


class Command(BaseCommand):
    help = "Raise alerts on pledged rights (fees, lapse, invalidation, transfer, preservation, term, renewal)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="scan as of this day (YYYY-MM-DD); default today in Asia/Shanghai")
        parser.add_argument("--digest", action="store_true", help="print each organisation's digest of unread alerts")

    def handle(self, *args: Any, **options: Any) -> None:
        day = business_date()
        if options["date"]:
            try:
                day = datetime.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: not a date in YYYY-MM-DD form: {options['date']!r}") from exc
        expired = corrections_expire(today=day)
        created = alerts_scan(today=day)
        unread = Alert.objects.filter(read_at__isnull=True).count()
        self.stdout.write(
            f"{day.isoformat()}: {created} alerts created, {unread} unread in total, "
            f"{expired} filings past their correction deadline deemed withdrawn"
        )
        if options["digest"]:
            for organisation in organisations_with_unread_alerts(day=day):
                self.stdout.write("")
                self.stdout.write(alert_digest(organisation=organisation, day=day))
