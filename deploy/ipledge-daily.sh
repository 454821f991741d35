#!/usr/bin/env bash
# The platform's daily batch, in dependency order (run by ipledge-daily.timer on ONE machine only).
# Each command is idempotent: a re-run after a failure finishes the day without doing anything twice.
set -euo pipefail
IPLEDGE=${IPLEDGE:-/srv/ipledge/venv/bin/ipledge}
"$IPLEDGE" close_of_business
"$IPLEDGE" scan_pledge_alerts
"$IPLEDGE" compensation scan
"$IPLEDGE" disposal close-auctions
"$IPLEDGE" screening expire-lines
"$IPLEDGE" market expire-demands
"$IPLEDGE" market close-surveys
"$IPLEDGE" market remind-surveys
"$IPLEDGE" market close-events
"$IPLEDGE" monitoring scan
"$IPLEDGE" monitoring remind
# Queue changed products, consented whitelist entries and registrations for the 信易贷 partners, deliver what is due
# (retries with backoff; dead letters after the last attempt) and pull credit data and loan outcomes.
"$IPLEDGE" exchange run
"$IPLEDGE" clearsessions
"$IPLEDGE" prune_api_calls --older-than-days 365
"$IPLEDGE" backup --output "/srv/ipledge/backups/ipledge-$(date +%Y%m%d).backup"
