"""Credit-record services (信用记录): import a file of one record kind, match its subjects to enterprises, and the
review of uncertain matches (人工复核).

Who: credit data is collected by the IP offices. An office's operators and administrators import for their own
office or one below it (the platform operator for any office; the server's command line runs without a user);
they review the matches of records imported in their own tree (`CreditRecord.scope_q`, action "change").

Import (`credit_import`): the whole file is read and checked first (`screening.importing`); a file with any bad row
is kept as a REJECTED `CreditImport` with its row errors and writes no record. A good file is upserted on
(kind, source_key): new rows are created; rows identical to the stored record are counted as unchanged; rows that
differ (e.g. a removal date now given: the record was repaired or removed from the list) update the stored record,
which keeps the batch that first brought it (the office that owns its review). Everything is written in bulk
(`bulk_create` / `bulk_update` with row history), so the number of queries does not grow with the rows; one audit
event records the import, its counts and the changes made to existing records.

Matching: a record with a USCC is matched on the USCC alone (an enterprise with the same name but another USCC is
another legal person); a USCC no enterprise has yet leaves the record unmatched until `records_rematch` runs after
new enterprises are registered. A record with only a name goes through `engine.names.match_names` against every
enterprise (one query loads their names): exact or confident fuzzy matches count at once, uncertain ones wait in
the review queue as `pending` with their top candidates, the rest stay `unmatched`. A record matched to an
enterprise takes the enterprise's region; an unmatched one with a USCC takes the region coded in the USCC.

Review: `record_match_confirm` ties a pending or unmatched record to an enterprise the reviewer can see (never to
one whose USCC differs from the record's); `record_match_reject` unties a name-based match or dismisses a pending
one. A record a person rejected is never matched again to the enterprises it was rejected for. Each decision has
its own audit event.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ipledge.core.audit import audited_update, record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise

from .. import importing
from ..choices import MATCHED_STATUSES, ImportStatus, MatchStatus, RecordKind
from ..engine import names
from ..models import CreditImport, CreditRecord

# The fields a file sets on a record; a re-imported row that leaves them all as they are is "unchanged".
DATA_FIELDS = (
    "subject_name",
    "subject_uscc",
    "reference",
    "authority",
    "category",
    "listed_on",
    "removed_on",
    "expires_on",
    "tax_rating",
    "rating_year",
    "raw",
)
MATCH_FIELDS = ("enterprise", "match_status", "match_score", "candidates", "region_code")
_SUBJECT = ("subject_name", "subject_uscc")
_ENGINE_STATUS = {
    names.EXACT: MatchStatus.EXACT_NAME,
    names.FUZZY: MatchStatus.FUZZY,
    names.REVIEW: MatchStatus.PENDING,
    names.UNMATCHED: MatchStatus.UNMATCHED,
}
# Rows per IN (...) lookup and per bulk statement: well under SQLite's variable limit and PostgreSQL's comfort.
CHUNK = 2_000
WRITE_BATCH = 500
# How many changed records the import's audit event lists one by one (each record's row history has them all).
AUDITED_CHANGES = 500


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _error(field_name: str, message: str, code: str) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code)})


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Outcome:
    status: str
    enterprise_id: int | None = None
    score: Decimal | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    region_code: str = ""

    def differs_from(self, record: CreditRecord) -> bool:
        return (
            record.match_status != self.status
            or record.enterprise_id != self.enterprise_id
            or record.match_score != self.score
            or record.candidates != self.candidates
            or record.region_code != self.region_code
        )

    def apply(self, record: CreditRecord) -> None:
        record.match_status = self.status
        record.enterprise_id = self.enterprise_id
        record.match_score = self.score
        record.candidates = self.candidates
        record.region_code = self.region_code


@dataclass(frozen=True)
class Subject:
    """What matching needs to know of one record: its USCC or name, and enterprises a person ruled out."""

    name: str
    uscc: str
    excluded: frozenset[int] = frozenset()


def _uscc_region(uscc: str) -> str:
    return uscc[2:8] if len(uscc) == 18 else ""


def _score(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def match_subjects(subjects: Sequence[Subject]) -> list[Outcome]:
    """The match of each subject, in order: by USCC when it has one, else by name (see the module docstring).

    Queries: one per `CHUNK` USCCs, plus one for every enterprise's name when any subject has only a name."""
    usccs = sorted({s.uscc for s in subjects if s.uscc})
    by_uscc: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(usccs):
        by_uscc.update(
            (uscc, (pk, region))
            for uscc, pk, region in Enterprise.objects.filter(uscc__in=chunk).values_list("uscc", "pk", "region_code")
        )
    outcomes: list[Outcome | None] = [None] * len(subjects)
    by_name: list[int] = []
    for i, subject in enumerate(subjects):
        if not subject.uscc:
            by_name.append(i)
            continue
        found = by_uscc.get(subject.uscc)
        if found is None or found[0] in subject.excluded:
            outcomes[i] = Outcome(MatchStatus.UNMATCHED, region_code=_uscc_region(subject.uscc))
        else:
            outcomes[i] = Outcome(MatchStatus.USCC, enterprise_id=found[0], region_code=found[1])
    if by_name:
        enterprises = list(Enterprise.objects.order_by().values_list("pk", "name", "region_code"))
        regions = {pk: region for pk, _name, region in enterprises}
        results = names.match_names(
            [subjects[i].name for i in by_name],
            [(pk, name) for pk, name, _region in enterprises],
            exclude=[subjects[i].excluded for i in by_name],
        )
        for i, result in zip(by_name, results, strict=True):
            enterprise_id = result.enterprise_id
            outcomes[i] = Outcome(
                _ENGINE_STATUS[result.status],
                enterprise_id=enterprise_id,
                score=_score(result.score),
                candidates=[{"id": c.id, "name": c.name, "score": c.score} for c in result.candidates],
                region_code=regions.get(enterprise_id, "") if enterprise_id is not None else "",
            )
    return [o if o is not None else Outcome(MatchStatus.UNMATCHED) for o in outcomes]


def _excluded(record: CreditRecord) -> frozenset[int]:
    """Enterprises a person rejected for this record (kept in its candidates when the record was dismissed)."""
    if record.reviewed_at is None or record.match_status != MatchStatus.UNMATCHED:
        return frozenset()
    return frozenset(int(c["id"]) for c in record.candidates or () if isinstance(c, dict) and "id" in c)


# --------------------------------------------------------------------------------------------------- import


def may_import(user: User | None, organisation: Organisation | None = None) -> bool:
    """Operators and administrators of an IP office, for their office and those below it; the platform operator."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    if scope.is_platform:
        return True
    if scope.kind != OrganisationKind.IP_OFFICE:
        return False
    return organisation is None or organisation.tree_path.startswith(scope.org_tree_path)


def _check_import(organisation: Organisation, kind: str, acting_user: User | None) -> None:
    if acting_user is not None and not may_import(acting_user, organisation):
        raise PermissionDenied("只有知识产权局的经办人员可以为本机构或下级机构导入信用记录。")
    if organisation.kind != OrganisationKind.IP_OFFICE:
        raise _error("organisation", "信用记录须由知识产权管理部门导入。", "not_ip_office")
    if kind not in RecordKind.values:
        raise _error("kind", "记录类型无效。", "invalid_choice")


@dataclass
class _Plan:
    new: list[CreditRecord] = field(default_factory=list)
    changed: list[tuple[CreditRecord, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    unchanged: list[CreditRecord] = field(default_factory=list)


def _existing(kind: str, keys: Sequence[str]) -> dict[str, CreditRecord]:
    found: dict[str, CreditRecord] = {}
    for chunk in _chunks(keys):
        found.update((r.source_key, r) for r in CreditRecord.objects.filter(kind=kind, source_key__in=chunk))
    return found


def _plan(kind: str, parsed: Sequence[importing.ParsedRecord]) -> _Plan:
    existing = _existing(kind, [p.source_key for p in parsed])
    plan = _Plan()
    to_match: list[tuple[CreditRecord, Subject]] = []
    for row in parsed:
        values = {name: getattr(row, name) for name in DATA_FIELDS}
        stored = existing.get(row.source_key)
        if stored is None:
            record = CreditRecord(kind=kind, source_key=row.source_key, **values)
            plan.new.append(record)
            to_match.append((record, Subject(row.subject_name, row.subject_uscc)))
            continue
        changes = {n: (getattr(stored, n), v) for n, v in values.items() if getattr(stored, n) != v}
        if not changes:
            plan.unchanged.append(stored)
            continue
        for name, (_old, new) in changes.items():
            setattr(stored, name, new)
        plan.changed.append((stored, changes))
        if any(n in changes for n in _SUBJECT):
            # A confirmation was about the old name or USCC; the new subject is matched afresh.
            stored.reviewed_by = None
            stored.reviewed_at = None
            to_match.append((stored, Subject(row.subject_name, row.subject_uscc)))
    for (record, _subject), outcome in zip(to_match, match_subjects([s for _r, s in to_match]), strict=True):
        outcome.apply(record)
    return plan


def _counts(plan: _Plan) -> dict[str, int]:
    statuses = [r.match_status for r in (*plan.new, *(r for r, _c in plan.changed), *plan.unchanged)]
    return {
        "rows_total": len(statuses),
        "rows_matched": sum(1 for s in statuses if s in MATCHED_STATUSES),
        "rows_review": sum(1 for s in statuses if s == MatchStatus.PENDING),
        "rows_unmatched": sum(1 for s in statuses if s == MatchStatus.UNMATCHED),
        "rows_unchanged": len(plan.unchanged),
        "rows_updated": len(plan.changed),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def credit_import(
    *, organisation: Organisation, kind: str, file_name: str, content: bytes, acting_user: User | None
) -> CreditImport:
    """Import one file of credit records of `kind` for `organisation` (an IP office). Returns the import: COMMITTED
    with its counts, or REJECTED with `errors` (row, field, rule, message, message_en) and no record written.

    `acting_user` None is the server's command line (the platform operator)."""
    _check_import(organisation, kind, acting_user)
    file_name = (file_name or "upload").rsplit("/", 1)[-1][:255]
    result = importing.parse_records(kind, file_name, content, today=business_date())
    batch = CreditImport(
        organisation=organisation,
        kind=kind,
        file_name=file_name,
        file_format=result.file_format,
        sha256=hashlib.sha256(content).hexdigest(),
        imported_by=_actor(acting_user),
    )
    if not result.ok:
        batch.status = ImportStatus.REJECTED
        batch.rows_total = result.rows_total
        batch.errors = [e.as_dict() for e in result.errors]
        batch.save()
        record_event(
            acting_user=acting_user,
            action="credit_import.reject",
            instance=batch,
            extra={"kind": kind, "file_name": file_name, "rows": result.rows_total, "errors": len(result.errors)},
        )
        return batch
    plan = _plan(kind, result.records)
    batch.status = ImportStatus.COMMITTED
    for name, value in _counts(plan).items():
        setattr(batch, name, value)
    batch.save()
    for record in plan.new:
        record.batch = batch
    user = _actor(acting_user)
    if plan.new:
        bulk_create_with_history(plan.new, CreditRecord, batch_size=WRITE_BATCH, default_user=user)
    if plan.changed:
        now = timezone.now()
        changed = [r for r, _c in plan.changed]
        for record in changed:
            record.updated_at = now
        bulk_update_with_history(
            changed,
            CreditRecord,
            fields=[*DATA_FIELDS, *MATCH_FIELDS, "reviewed_by", "reviewed_at", "updated_at"],
            batch_size=WRITE_BATCH,
            default_user=user,
            default_change_reason=f"credit_import {batch.pk}",
        )
    record_event(
        acting_user=acting_user,
        action="credit_import.commit",
        instance=batch,
        extra={
            "kind": kind,
            "file_name": file_name,
            "sha256": batch.sha256,
            "created": len(plan.new),
            "updated": len(plan.changed),
            "unchanged": len(plan.unchanged),
            "matched": batch.rows_matched,
            "review": batch.rows_review,
            "unmatched": batch.rows_unmatched,
            "changes": [
                {
                    "record": record.pk,
                    "source_key": record.source_key,
                    "fields": {n: [_jsonable(old), _jsonable(new)] for n, (old, new) in changes.items() if n != "raw"},
                }
                for record, changes in plan.changed[:AUDITED_CHANGES]
            ],
        },
    )
    return batch


# --------------------------------------------------------------------------------------------------- review


def may_review(user: Any) -> bool:
    """Whether the user may review any record at all (an IP office's operators and administrators)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.CHANGE):
        return False
    return scope.is_platform or CreditRecord.scope_q(scope, Action.CHANGE) is not None


def _require_reviewer(record: CreditRecord, user: User) -> None:
    if not CreditRecord.objects.restrict(user, Action.CHANGE).filter(pk=record.pk).exists():
        raise PermissionDenied("只有导入该记录的知识产权局（或其上级）的经办人员可以复核匹配。")


def _score_of(record: CreditRecord, enterprise_id: int) -> Decimal | None:
    for candidate in record.candidates or ():
        if isinstance(candidate, dict) and candidate.get("id") == enterprise_id:
            return _score(float(candidate.get("score") or 0))
    return None


@transaction.atomic
def record_match_confirm(*, record: CreditRecord, enterprise: Enterprise, acting_user: User) -> CreditRecord:
    """A reviewer ties a pending (or unmatched) record to an enterprise: one of its candidates or any enterprise the
    reviewer can see."""
    _require_reviewer(record, acting_user)
    if not Enterprise.objects.restrict(acting_user, Action.VIEW).filter(pk=enterprise.pk).exists():
        raise _error("enterprise", "企业不存在或不在您的权限范围内。", "not_found")
    record = CreditRecord.objects.select_for_update().get(pk=record.pk)
    if record.match_status not in (MatchStatus.PENDING, MatchStatus.UNMATCHED):
        raise _error(
            "match_status",
            f"该记录当前为“{record.get_match_status_display()}”，只有待复核或未匹配的记录可以确认匹配。",
            "invalid_state",
        )
    if record.subject_uscc and record.subject_uscc != enterprise.uscc:
        raise _error(
            "enterprise",
            "该记录载明的统一社会信用代码与所选企业不同，不能匹配到该企业。",
            "uscc_mismatch",
        )
    return audited_update(
        instance=record,
        data={
            "enterprise": enterprise,
            "match_status": MatchStatus.CONFIRMED,
            "match_score": _score_of(record, enterprise.pk),
            "region_code": enterprise.region_code,
            "reviewed_by": _actor(acting_user),
            "reviewed_at": timezone.now(),
        },
        acting_user=acting_user,
        action="credit_record.confirm_match",
    )


REJECTABLE = (MatchStatus.PENDING, MatchStatus.FUZZY, MatchStatus.EXACT_NAME, MatchStatus.CONFIRMED)


@transaction.atomic
def record_match_reject(*, record: CreditRecord, acting_user: User) -> CreditRecord:
    """A reviewer dismisses the candidates of a pending record, or unties a name-based match: the record becomes
    unmatched and is never matched again to those enterprises."""
    _require_reviewer(record, acting_user)
    record = CreditRecord.objects.select_for_update(of=("self",)).select_related("enterprise").get(pk=record.pk)
    if record.match_status == MatchStatus.USCC:
        raise _error(
            "match_status",
            "按统一社会信用代码匹配的记录不能驳回；如代码有误，请更正企业登记或信用记录来源。",
            "uscc_match",
        )
    if record.match_status not in REJECTABLE:
        raise _error("match_status", "该记录未匹配任何企业，无需驳回。", "invalid_state")
    candidates = list(record.candidates or [])
    if record.enterprise is not None and all(c.get("id") != record.enterprise_id for c in candidates):
        candidates.append(
            {"id": record.enterprise_id, "name": record.enterprise.name, "score": float(record.match_score or 0)}
        )
    return audited_update(
        instance=record,
        data={
            "enterprise": None,
            "match_status": MatchStatus.UNMATCHED,
            "match_score": None,
            "candidates": candidates,
            "region_code": _uscc_region(record.subject_uscc),
            "reviewed_by": _actor(acting_user),
            "reviewed_at": timezone.now(),
        },
        acting_user=acting_user,
        action="credit_record.reject_match",
    )


@transaction.atomic
def records_rematch(*, acting_user: User | None = None) -> dict[str, int]:
    """Match pending and unmatched records again (after enterprises were registered or corrected): the records the
    user may review, or all of them when run by the system (`acting_user` None). Returns the counts."""
    if acting_user is None:
        records = CreditRecord.objects.all()
    else:
        if not may_review(acting_user):
            raise PermissionDenied("只有知识产权局的经办人员可以重新匹配信用记录。")
        records = CreditRecord.objects.restrict(acting_user, Action.CHANGE)
    rows = list(records.filter(match_status__in=[MatchStatus.PENDING, MatchStatus.UNMATCHED]).order_by("pk"))
    outcomes = match_subjects([Subject(r.subject_name, r.subject_uscc, _excluded(r)) for r in rows])
    changed: list[CreditRecord] = []
    for record, outcome in zip(rows, outcomes, strict=True):
        if outcome.status == MatchStatus.UNMATCHED and record.match_status == MatchStatus.UNMATCHED:
            continue  # keep the dismissed candidates of a rejected record: they are what rules enterprises out
        if outcome.differs_from(record):
            outcome.apply(record)
            record.updated_at = timezone.now()
            changed.append(record)
    if changed:
        bulk_update_with_history(
            changed,
            CreditRecord,
            fields=[*MATCH_FIELDS, "updated_at"],
            batch_size=WRITE_BATCH,
            default_user=_actor(acting_user),
            default_change_reason="credit_record rematch",
        )
    counts = {
        "checked": len(rows),
        "changed": len(changed),
        "matched": sum(1 for r in changed if r.match_status in MATCHED_STATUSES),
        "pending": sum(1 for r in changed if r.match_status == MatchStatus.PENDING),
        "unmatched": sum(1 for r in rows if r.match_status == MatchStatus.UNMATCHED),
    }
    if not changed:
        return counts  # nothing written, nothing to audit
    record_event(
        acting_user=acting_user,
        action="credit_record.rematch",
        object_type=CreditRecord._meta.label_lower,
        object_repr=f"{counts['checked']} × {CreditRecord._meta.verbose_name}",
        extra={**counts, "records": [r.pk for r in changed[:AUDITED_CHANGES]]},
    )
    return counts
