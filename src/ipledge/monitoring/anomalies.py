"""Anomaly scans (异常扫描, M6): load the frames the rules of `engine/anomalies.py` read, and persist what they find.

The loader reads every organisation's records (unrestricted: a scan is a deployment-wide job; what a user may see of
its findings is decided by `Finding.scope_q`). `scan_run` writes one `AnomalyScan` and reconciles the findings:

- a new fingerprint → a finding (异常线索) OPEN with a RAISED event;
- an active finding found again → its last-seen date and evidence are refreshed;
- a dismissed finding (已排除), or one already reported in a bulletin (已通报), found again with the same evidence
  digest → suppressed (counted, nothing written); with a different digest → a new finding whose REOPENED event names
  the earlier one;
- an OPEN finding no longer found → CLEARED (已消除). A finding somebody already works on (assigned, investigating,
  confirmed) stays: the official closes it by a decision, and its last-seen date shows the scan stopped finding it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ipledge.core.audit import record_event
from ipledge.core.models import Organisation, User
from ipledge.registration.models import (
    FilingItem,
    LegalStatusEvent,
    PledgedRight,
    PledgeRegistration,
)
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, LicenceContract, Park, ParkMembership

from .choices import ACTIVE_FINDING_STATUSES, AnomalyRule, FindingEventKind, FindingStatus, ScanStatus
from .engine import anomalies as engine
from .models import AnomalyScan, Finding, FindingEvent


def _fen(value: Any) -> int | None:
    return None if value is None else int(value.fen)


def _rows(name: str, rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    return engine.frame(name, list(rows))


def _registrations() -> pl.DataFrame:
    regs = _rows(
        "registrations",
        (
            {
                "registration_id": r["pk"],
                "registration_no": r["registration_no"],
                "filing_id": r["filing_id"],
                "pledgor_id": r["pledgor_id"],
                "pledgee_id": r["pledgee_id"],
                "registered_on": r["registered_on"],
                "claim_amount_fen": _fen(r["claim_amount"]),
                "performance_end": r["performance_end"],
                "status": r["status"],
                "cancelled_on": r["cancelled_on"],
                "region_code": r["region_code"],
                "contract_no": r["filing__contract_no"] or "",
            }
            for r in PledgeRegistration.objects.values(
                "pk",
                "registration_no",
                "filing_id",
                "pledgor_id",
                "pledgee_id",
                "registered_on",
                "claim_amount",
                "performance_end",
                "status",
                "cancelled_on",
                "region_code",
                "filing__contract_no",
            )
        ),
    )
    # The park a registration counts for: the park the pledgor was a member of on the registration date.
    memberships = pl.DataFrame(
        list(ParkMembership.objects.values_list("enterprise_id", "park_id", "joined_on", "left_on")),
        schema={"pledgor_id": pl.Int64, "member_park_id": pl.Int64, "joined_on": pl.Date, "left_on": pl.Date},
        orient="row",
    )
    parks = (
        regs.select("registration_id", "pledgor_id", "registered_on")
        .join(memberships, on="pledgor_id")
        .filter(
            (pl.col("joined_on") <= pl.col("registered_on"))
            & (pl.col("left_on").is_null() | (pl.col("left_on") > pl.col("registered_on")))
        )
        .group_by("registration_id")
        .agg(pl.col("member_park_id").min())
    )
    return (
        regs.join(parks, on="registration_id", how="left")
        .with_columns(pl.col("member_park_id").alias("park_id"))
        .drop("member_park_id")
        .select(list(engine.SCHEMAS["registrations"]))
    )


def load_frames() -> engine.ScanFrames:
    """Every record the rules read, as frames (money in fen)."""
    from ipledge.compensation.choices import ClaimStatus, PartyRole, PaymentPurpose, PaymentStatus
    from ipledge.compensation.models import Claim, Payment
    from ipledge.lending.models import Loan, LoanCollateral
    from ipledge.valuation.models import Valuation

    unreturned: dict[int, tuple[int, datetime.date]] = {}
    for claim_id, amount, instructed_on in Payment.objects.filter(
        purpose=PaymentPurpose.TRUE_UP,
        status=PaymentStatus.INSTRUCTED,
        payer_role=PartyRole.BANK,
        claim__status=ClaimStatus.CLEARING,
    ).values_list("claim_id", "amount", "instructed_on"):
        fen, since = unreturned.get(claim_id, (0, instructed_on))
        unreturned[claim_id] = (fen + amount.fen, min(since, instructed_on))
    return engine.ScanFrames(
        registrations=_registrations(),
        pledged_rights=_rows(
            "pledged_rights",
            (
                {"registration_id": a, "ip_right_id": b, "is_active": c, "released_on": d}
                for a, b, c, d in PledgedRight.objects.values_list(
                    "registration_id", "ip_right_id", "is_active", "released_on"
                )
            ),
        ),
        rights=_rows(
            "rights",
            (
                dict(zip(engine.SCHEMAS["rights"], values, strict=True))
                for values in IPRight.objects.filter(
                    Q(pk__in=PledgedRight.objects.values("ip_right_id"))
                    | Q(pk__in=LoanCollateral.objects.values("ip_right_id"))
                ).values_list(
                    "pk",
                    "number",
                    "kind",
                    "patent_type",
                    "legal_status",
                    "term_end",
                    "annual_fee_paid_until",
                    "preserved",
                    "invalidation_pending",
                )
            ),
        ),
        owners=_rows(
            "owners",
            (
                {"ip_right_id": a, "enterprise_id": b, "holder_name": c}
                for a, b, c in IPRightOwner.objects.filter(
                    right_id__in=PledgedRight.objects.filter(is_active=True).values("ip_right_id")
                ).values_list("right_id", "enterprise_id", "holder_name")
            ),
        ),
        filing_items=_rows(
            "filing_items",
            (
                {"filing_id": a, "ip_right_id": b, "co_owner_consent": c}
                for a, b, c in FilingItem.objects.filter(filing__registration__isnull=False).values_list(
                    "filing_id", "ip_right_id", "co_owner_consent"
                )
            ),
        ),
        licences=_rows(
            "licences",
            (
                {
                    "licence_id": a,
                    "ip_right_id": b,
                    "record_no": c,
                    "licensee_name": d,
                    "recorded_on": e,
                    "pledgee_consent": g,
                }
                for a, b, c, d, e, g in LicenceContract.objects.values_list(
                    "pk", "ip_right_id", "record_no", "licensee_name", "recorded_on", "pledgee_consent"
                )
            ),
        ),
        legal_events=_rows(
            "legal_events",
            (
                {"ip_right_id": a, "code": b, "event_date": c}
                for a, b, c in LegalStatusEvent.objects.filter(code__in=engine.TRANSFER_CODES).values_list(
                    "ip_right_id", "code", "event_date"
                )
            ),
        ),
        loans=_rows(
            "loans",
            (
                {
                    "loan_id": r["pk"],
                    "reference": r["reference"],
                    "borrower_id": r["borrower_id"],
                    "bank_id": r["bank_id"],
                    "park_id": r["park_id"],
                    "region_code": r["region_code"],
                    "status": r["status"],
                    "principal_fen": _fen(r["principal"]),
                    "first_disbursed_on": r["first_disbursed_on"],
                    "maturity_date": r["maturity_date"],
                    "pledge_registration_id": r["pledge_registration_id"],
                    "contract_no": r["contract_no"],
                    "classification": r["classification"],
                    "days_past_due": r["days_past_due"],
                }
                for r in Loan.objects.values(
                    "pk",
                    "reference",
                    "borrower_id",
                    "bank_id",
                    "park_id",
                    "region_code",
                    "status",
                    "principal",
                    "first_disbursed_on",
                    "maturity_date",
                    "pledge_registration_id",
                    "contract_no",
                    "classification",
                    "days_past_due",
                )
            ),
        ),
        collateral=_rows(
            "collateral",
            (
                {"loan_id": a, "ip_right_id": b, "appraised_value_fen": _fen(c), "valuer_name": d}
                for a, b, c, d in LoanCollateral.objects.values_list(
                    "loan_id", "ip_right_id", "appraised_value", "valuer_name"
                )
            ),
        ),
        valuations=_rows(
            "valuations",
            (
                {"ip_right_id": a, "p50_fen": _fen(b), "pledge_rate": float(c), "valuation_date": d}
                for a, b, c, d in Valuation.objects.filter(
                    ip_right_id__in=LoanCollateral.objects.values("ip_right_id")
                ).values_list("ip_right_id", "p50", "pledge_rate", "valuation_date")
            ),
        ),
        enterprises=_rows(
            "enterprises",
            (
                {"enterprise_id": a, "name": b, "established_on": c, "employees": d, "region_code": e}
                for a, b, c, d, e in Enterprise.objects.filter(pk__in=Loan.objects.values("borrower_id")).values_list(
                    "pk", "name", "established_on", "employees", "region_code"
                )
            ),
        ),
        claims=_rows(
            "claims",
            (
                {
                    "claim_id": a,
                    "reference": b,
                    "loan_id": c,
                    "npl_on": d,
                    "status": e,
                    "unreturned_fen": unreturned.get(a, (0, None))[0],
                    "unreturned_since": unreturned.get(a, (0, None))[1],
                    "enrolled_on": enrolled_on,
                    "enrol_window_days": window,
                }
                for a, b, c, d, e, enrolled_on, window in Claim.objects.values_list(
                    "pk",
                    "reference",
                    "loan_id",
                    "npl_on",
                    "status",
                    "enrolment__enrolled_on",
                    "enrolment__scheme_version__enrol_window_days",
                )
            ),
        ),
        organisations=_rows(
            "organisations",
            (
                {"org_id": a, "name": b, "region_code": c or ""}
                for a, b, c in Organisation.objects.values_list("pk", "name", "region__code")
            ),
        ),
        parks=_rows(
            "parks",
            (
                {"park_id": a, "name": b, "region_code": c or ""}
                for a, b, c in Park.objects.values_list("pk", "name", "region__code")
            ),
        ),
    )


def _counts_template(rules: list[str]) -> dict[str, dict[str, int]]:
    return {rule: {"found": 0, "new": 0, "suppressed": 0, "cleared": 0} for rule in rules}


def _event(finding: Finding, kind: str, *, to_status: str = "", from_status: str = "", note: str = "") -> None:
    FindingEvent.objects.create(
        finding=finding, kind=kind, from_status=from_status, to_status=to_status, note=note, actor=None
    )


def _persist(
    scan: AnomalyScan, drafts: dict[str, list[engine.FindingDraft]], as_of: datetime.date
) -> dict[str, dict[str, int]]:
    counts = _counts_template(list(drafts))
    for rule, rule_drafts in drafts.items():
        found: set[str] = set()
        for draft in rule_drafts:
            found.add(draft.fingerprint)
            counts[rule]["found"] += 1
            active = (
                Finding.objects.select_for_update(of=("self",))
                .filter(rule=rule, fingerprint=draft.fingerprint, status__in=ACTIVE_FINDING_STATUSES)
                .first()
            )
            if active is not None:
                Finding.objects.filter(pk=active.pk).update(
                    last_seen_on=max(as_of, active.last_seen_on),
                    evidence=draft.evidence,
                    evidence_digest=draft.evidence_digest,
                    title=draft.title[:255],
                    severity=draft.severity,
                    updated_at=timezone.now(),
                )
                continue
            dismissed = (
                Finding.objects.filter(
                    rule=rule,
                    fingerprint=draft.fingerprint,
                    status__in=(FindingStatus.DISMISSED, FindingStatus.REPORTED, FindingStatus.CLEARED),
                )
                .order_by("-pk")
                .first()
            )
            # A decided finding (dismissed, or confirmed and reported in a bulletin) stays decided while its
            # evidence is the same; a cleared one that comes back is simply raised again.
            decided = dismissed is not None and dismissed.status in (FindingStatus.DISMISSED, FindingStatus.REPORTED)
            if decided and dismissed is not None and dismissed.evidence_digest == draft.evidence_digest:
                counts[rule]["suppressed"] += 1
                continue
            finding = Finding.objects.create(
                rule=rule,
                severity=draft.severity,
                fingerprint=draft.fingerprint,
                evidence_digest=draft.evidence_digest,
                title=draft.title[:255],
                summary=draft.summary,
                evidence=draft.evidence,
                subject_type=draft.subject_type[:64],
                subject_id=draft.subject_id[:64],
                region_code=draft.region_code[:6],
                park_id=draft.park_id,
                enterprise_id=draft.enterprise_id,
                institution_id=draft.institution_id,
                scan=scan,
                first_seen_on=as_of,
                last_seen_on=as_of,
            )
            counts[rule]["new"] += 1
            _event(finding, FindingEventKind.RAISED, to_status=FindingStatus.OPEN)
            if decided and dismissed is not None:
                _event(
                    finding,
                    FindingEventKind.REOPENED,
                    to_status=FindingStatus.OPEN,
                    note=f"证据已变化，前次线索 #{dismissed.pk} {dismissed.get_status_display()}（{dismissed.decision_note}）",
                )
        gone = Finding.objects.filter(rule=rule, status=FindingStatus.OPEN).exclude(fingerprint__in=found)
        for finding in gone.select_for_update(of=("self",)):
            Finding.objects.filter(pk=finding.pk, version=finding.version).update(
                status=FindingStatus.CLEARED, version=finding.version + 1, updated_at=timezone.now()
            )
            _event(finding, FindingEventKind.CLEARED, from_status=FindingStatus.OPEN, to_status=FindingStatus.CLEARED)
            counts[rule]["cleared"] += 1
    return counts


def scan_run(
    *,
    as_of: datetime.date,
    acting_user: User | None = None,
    rules: list[str] | None = None,
    frames: engine.ScanFrames | None = None,
) -> AnomalyScan:
    """Run the rules (all by default) over the data as of `as_of` and reconcile the findings; the scan row keeps
    per-rule counts (found, new, suppressed by a dismissal, cleared). A failing scan is kept as FAILED with its error
    and changes no finding."""
    names = list(rules or engine.RULES)
    unknown = [name for name in names if name not in AnomalyRule.values]
    if unknown:
        from django.core.exceptions import ValidationError

        raise ValidationError({"rules": f"未知规则：{'、'.join(unknown)}"})
    started_by = acting_user if acting_user is not None and acting_user.pk else None
    scan = AnomalyScan.objects.create(as_of=as_of, rules=names, started_by=started_by)
    try:
        drafts = engine.run_rules(frames or load_frames(), as_of=as_of, rules=names)
        with transaction.atomic():
            counts = _persist(scan, drafts, as_of)
            AnomalyScan.objects.filter(pk=scan.pk).update(
                status=ScanStatus.FINISHED, counts=counts, finished_at=timezone.now()
            )
            record_event(
                acting_user=acting_user,
                action="anomaly_scan.run",
                instance=scan,
                new={"as_of": as_of.isoformat(), "counts": {k: v for k, v in counts.items() if any(v.values())}},
            )
    except Exception as exc:
        AnomalyScan.objects.filter(pk=scan.pk).update(
            status=ScanStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    scan.refresh_from_db()
    return scan
