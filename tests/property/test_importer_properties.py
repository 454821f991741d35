"""Property tests of the file importers: the registry import (enterprises, IP rights), the credit-record import
(screening), the product template import (market) and the bulk pledge filing (registration).

For each: arbitrary bytes, and well-formed tables whose cells are arbitrary text, never raise anything but the
importer's documented refusals (a result with errors; `ValidationError`/`PermissionDenied` from the service), and a
file with a bad row writes nothing at all (no domain row, no audit event; the credit import keeps only its REJECTED
batch and its audit event, by design)."""

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.market.importing import TEMPLATE_COLUMNS
from ipledge.market.models import Product
from ipledge.market.services.products import product_import
from ipledge.registration.bulk import BULK_COLUMNS, bulk_file
from ipledge.registration.models import PledgeFiling
from ipledge.registry.importing import COLUMNS, import_registry_file
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, ParkMembership
from ipledge.screening.choices import ImportStatus, RecordKind
from ipledge.screening.importing import fields_of
from ipledge.screening.models import CreditImport, CreditRecord
from ipledge.screening.services.records import credit_import

pytestmark = pytest.mark.django_db

EXAMPLES = 25
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
WATCHED = (Enterprise, ParkMembership, IPRight, IPRightOwner, CreditRecord, Product, PledgeFiling)

cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "是", "否", "2021-06-08", "2021/6/8", "0", "-1", "1e9", "500万", "=1+1", "@x", "\x00", "N/A"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)
# A row no importer can accept: every identifier, date, number and choice column is unreadable.
BAD_ROW_CELL = "不是有效值¿"


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    from tests.world import build_world

    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db):  # type: ignore[no-untyped-def]
    return _module_world


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in row])  # openpyxl refuses control characters itself
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def tables(width: int) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(cell, min_size=width, max_size=width), max_size=4)


arbitrary_bytes = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),  # looks like a zip (xlsx) at first sight
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.text(max_size=200).map(lambda t: t.encode("gb18030", errors="replace")),
)
file_names = st.sampled_from(["data.csv", "data.xlsx", "data.json", "data.txt", "../../etc/passwd", ""])


class Snapshot:
    """Row counts of every model an importer writes, and the audit trail's length, before a call."""

    def __init__(self) -> None:
        self.counts = self._take()
        self.audit = AuditEvent.objects.count()

    @staticmethod
    def _take() -> dict[str, int]:
        return {model.__name__: model._default_manager.count() for model in WATCHED}

    def assert_nothing_written(self, *, audit_allowance: int = 0) -> None:
        assert self._take() == self.counts
        assert AuditEvent.objects.count() <= self.audit + audit_allowance


def _in_savepoint(call: Callable[[], None]) -> None:
    """Each example starts from the same world: undo whatever the call wrote."""
    with transaction.atomic():
        call()
        transaction.set_rollback(True)


def _ensure_bad(rows: list[list[str]], width: int) -> list[list[str]]:
    return [*rows, [BAD_ROW_CELL] * width]


# ---------------------------------------------------------------------------- registry


def _registry(world, kind: str, file_name: str, content: bytes) -> Any:  # type: ignore[no-untyped-def]
    user = world.user("park1", Role.OPERATOR)
    park = world.parks["p1"] if kind == "enterprises" else None
    return import_registry_file(kind=kind, filename=file_name, content=content, acting_user=user, park=park)


@pytest.mark.parametrize("kind", ["enterprises", "ip_rights"])
@BOUNDED
@given(rows=tables(12), xlsx=st.booleans())
def test_registry_import_with_a_bad_row_writes_nothing(world, kind: str, rows: list[list[str]], xlsx: bool) -> None:  # type: ignore[no-untyped-def]
    header = [c.label for c in COLUMNS[kind]]
    body = [r[: len(header)] + [""] * (len(header) - len(r)) for r in _ensure_bad(rows, len(header))]
    content = _xlsx(header, body) if xlsx else _csv(header, body)

    def call() -> None:
        before = Snapshot()
        result = _registry(world, kind, "data.xlsx" if xlsx else "data.csv", content)
        assert result.errors and not result.ok
        assert all(e.rule and e.message for e in result.errors)
        before.assert_nothing_written()

    _in_savepoint(call)


@pytest.mark.parametrize("kind", ["enterprises", "ip_rights"])
@BOUNDED
@given(content=arbitrary_bytes, file_name=file_names)
def test_registry_import_of_arbitrary_bytes_is_refused_in_the_result(
    world, kind: str, content: bytes, file_name: str
) -> None:  # type: ignore[no-untyped-def]
    def call() -> None:
        before = Snapshot()
        result = _registry(world, kind, file_name, content)
        if not result.ok:
            before.assert_nothing_written()

    _in_savepoint(call)


# ---------------------------------------------------------------------------- screening


def _credit(world, kind: str, file_name: str, content: bytes) -> CreditImport:  # type: ignore[no-untyped-def]
    return credit_import(
        organisation=world.orgs["ipo_bj"],
        kind=kind,
        file_name=file_name,
        content=content,
        acting_user=world.user("ipo_bj", Role.OPERATOR),
    )


def _assert_rejected_cleanly(batch: CreditImport, before: Snapshot) -> None:
    assert batch.status == ImportStatus.REJECTED
    assert batch.errors and all(e["rule"] and e["message"] and e["message_en"] for e in batch.errors)
    assert CreditRecord.objects.filter(batch=batch).count() == 0
    before.assert_nothing_written(audit_allowance=1)  # the rejection itself is recorded


@pytest.mark.parametrize("kind", RecordKind.values)
@BOUNDED
@given(rows=tables(10), xlsx=st.booleans())
def test_credit_import_with_a_bad_row_writes_no_record(world, kind: str, rows: list[list[str]], xlsx: bool) -> None:  # type: ignore[no-untyped-def]
    header = [spec.label for spec in fields_of(kind)]
    body = [r[: len(header)] + [""] * (len(header) - len(r)) for r in _ensure_bad(rows, len(header))]
    content = _xlsx(header, body) if xlsx else _csv(header, body)

    def call() -> None:
        before = Snapshot()
        _assert_rejected_cleanly(_credit(world, kind, "data.xlsx" if xlsx else "data.csv", content), before)

    _in_savepoint(call)


@BOUNDED
@given(content=arbitrary_bytes, file_name=file_names, kind=st.sampled_from(RecordKind.values))
def test_credit_import_of_arbitrary_bytes_is_refused_in_the_batch(
    world, content: bytes, file_name: str, kind: str
) -> None:  # type: ignore[no-untyped-def]
    def call() -> None:
        before = Snapshot()
        batch = _credit(world, kind, file_name, content)
        if batch.status == ImportStatus.REJECTED:
            _assert_rejected_cleanly(batch, before)

    _in_savepoint(call)


# ---------------------------------------------------------------------------- market


def _products(world, file_name: str, content: bytes) -> Any:  # type: ignore[no-untyped-def]
    return product_import(
        bank=world.orgs["bank1"], file_name=file_name, content=content, acting_user=world.user("bank1", Role.ADMIN)
    )


@BOUNDED
@given(rows=tables(len(TEMPLATE_COLUMNS)), xlsx=st.booleans())
def test_product_import_with_a_bad_row_writes_nothing(world, rows: list[list[str]], xlsx: bool) -> None:  # type: ignore[no-untyped-def]
    header = [c.header for c in TEMPLATE_COLUMNS]
    content = (_xlsx if xlsx else _csv)(header, _ensure_bad(rows, len(header)))

    def call() -> None:
        before = Snapshot()
        result = _products(world, "products.xlsx" if xlsx else "products.csv", content)
        assert result.rejected and not result.products
        before.assert_nothing_written()

    _in_savepoint(call)


@BOUNDED
@given(content=arbitrary_bytes, file_name=file_names)
def test_product_import_of_arbitrary_bytes_is_refused_in_the_result(world, content: bytes, file_name: str) -> None:  # type: ignore[no-untyped-def]
    def call() -> None:
        before = Snapshot()
        try:
            result = _products(world, file_name, content)
        except ValidationError:
            before.assert_nothing_written()
            return
        if result.rejected:
            before.assert_nothing_written()

    _in_savepoint(call)


# ---------------------------------------------------------------------------- registration


def _bulk(world, file_name: str, content: bytes) -> Any:  # type: ignore[no-untyped-def]
    return bulk_file(filename=file_name, content=content, acting_user=world.user("bank1_sub", Role.OPERATOR))


@BOUNDED
@given(rows=tables(len(BULK_COLUMNS)), xlsx=st.booleans())
def test_bulk_filing_with_a_bad_row_writes_nothing(world, rows: list[list[str]], xlsx: bool) -> None:  # type: ignore[no-untyped-def]
    header = [c.label for c in BULK_COLUMNS]
    content = (_xlsx if xlsx else _csv)(header, _ensure_bad(rows, len(header)))

    def call() -> None:
        before = Snapshot()
        result = _bulk(world, "bulk.xlsx" if xlsx else "bulk.csv", content)
        assert result.errors and not result.filing_ids and result.created == 0
        before.assert_nothing_written()

    _in_savepoint(call)


@BOUNDED
@given(content=arbitrary_bytes, file_name=file_names)
def test_bulk_filing_of_arbitrary_bytes_is_refused_in_the_result(world, content: bytes, file_name: str) -> None:  # type: ignore[no-untyped-def]
    def call() -> None:
        before = Snapshot()
        result = _bulk(world, file_name, content)
        if result.errors:
            assert not result.filing_ids
            before.assert_nothing_written()

    _in_savepoint(call)


def test_a_user_who_may_not_import_gets_permission_denied_not_a_crash(world) -> None:  # type: ignore[no-untyped-def]
    viewer = world.user("park1", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        import_registry_file(
            kind="enterprises", filename="x.csv", content=b"a", acting_user=viewer, park=world.parks["p1"]
        )
    with pytest.raises(PermissionDenied):
        bulk_file(filename="x.csv", content=b"a", acting_user=world.user("ent1", Role.OPERATOR))
