"""`ipledge market schedule-event EVENT_ID [--max-per-enterprise N] [--json]` proposes the meetings of an event from
the matches (as the organiser's button does; the platform acts, no user); `ipledge market close-events [--date
YYYY-MM-DD] [--json]` is the scheduled job that marks every scheduled event whose day has passed as held."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipledge.market.cli import Subcommand


def _schedule_arguments(parser: CommandParser) -> None:
    parser.add_argument("event_id", type=int, help="the event (MatchmakingEvent id)")
    parser.add_argument("--max-per-enterprise", type=int, default=None, help="at most N meetings per enterprise")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON line")


def _schedule(command: BaseCommand, options: dict[str, Any]) -> None:
    from django.core.exceptions import ValidationError

    from .models import MatchmakingEvent
    from .services.events import meetings_propose

    event = MatchmakingEvent.objects.filter(pk=options["event_id"]).first()
    if event is None:
        raise CommandError(f"no matchmaking event {options['event_id']}")
    try:
        result = meetings_propose(event=event, acting_user=None, max_per_enterprise=options["max_per_enterprise"])
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    counts = {"event": event.pk, **result.counts()}
    reasons: dict[str, int] = {}
    for item in result.left_out:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    counts["left_out_by_reason"] = reasons  # type: ignore[assignment]
    if options["json"]:
        command.stdout.write(json.dumps(counts, ensure_ascii=False, sort_keys=True))
        return
    command.stdout.write(
        f"event {event.pk} ({event.title}): {counts['created']} meetings proposed, {counts['kept']} kept, "
        f"{counts['left_out']} pairs left out {reasons or ''}".rstrip()
    )


def _close_arguments(parser: CommandParser) -> None:
    parser.add_argument("--date", default="", help="run as of this day (YYYY-MM-DD); default: today")
    parser.add_argument("--json", action="store_true", help="print the count as one JSON line")


def _close(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.context import business_date

    from .services.events import events_close

    day = business_date()
    if options["date"]:
        try:
            day = datetime.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from exc
    closed = events_close(today=day)
    if options["json"]:
        command.stdout.write(json.dumps({"date": day.isoformat(), "held": closed}))
        return
    command.stdout.write(f"{day:%Y-%m-%d}: {closed} matchmaking events marked held (银企对接活动已举办)")


SUBCOMMANDS: dict[str, Subcommand] = {
    "schedule-event": Subcommand(
        help="Propose the one-to-one meetings of a matchmaking event from the matches (银企对接排期).",
        add_arguments=_schedule_arguments,
        handle=_schedule,
    ),
    "close-events": Subcommand(
        help="Mark every scheduled matchmaking event whose day has passed as held.",
        add_arguments=_close_arguments,
        handle=_close,
    ),
}
