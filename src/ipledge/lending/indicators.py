"""Load the indicator frames (统计指标数据) a user may see, label the engine's tables and write them to .xlsx.

`lending_frames` reads through `restrict(user, "view")` (user None = unrestricted, for jobs and the benchmark)
straight into Polars: no model instances, money as integer fen columns (the raw column, not `Money`). On PostgreSQL
each frame's query is streamed with COPY and the frames are read in parallel, one connection each; with `since`
(what the dashboards and API pass: the period start) repayments before it arrive summed per loan, so the national
load ships a third of the transaction rows. The definitions live in `ipledge.lending.engine.indicators`; this
module only feeds and presents them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import polars as pl
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection
from django.db.models import BigIntegerField, Expression, ExpressionWrapper, F, Min, Model, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ipledge.core import exports
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, Region, User
from ipledge.core.scoping import Action, scope_for
from ipledge.registration.models import PledgedRight, PledgeRegistration
from ipledge.registry.choices import IPKind, SizeClass
from ipledge.registry.models import Enterprise, Park, ParkMembership

from .choices import LoanStatus, TransactionKind
from .engine.indicators import GRANULARITIES, SCHEMAS, SLICES, LendingFrames, buckets, conform, indicator_set
from .models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    Loan,
    LoanCollateral,
    LoanTransaction,
)

__all__ = [
    "LendingFrames",
    "compute_indicators",
    "indicator_set",
    "label_tables",
    "lending_frames",
    "may_view_indicators",
    "period_errors",
    "table_rows",
    "tables_workbook",
]

# Who reads the indicator dashboards and API: banks (their tree), IP offices, regulators and NDRC (their region),
# park administrations (their parks). The figures themselves come restricted; this only decides who is shown them.
VIEWER_KINDS = frozenset(
    {
        OrganisationKind.BANK,
        OrganisationKind.IP_OFFICE,
        OrganisationKind.FINANCIAL_REGULATOR,
        OrganisationKind.DEVELOPMENT_REFORM,
        OrganisationKind.PARK_ADMIN,
    }
)
MAX_BUCKETS = 60
# Stream the big frames with COPY on PostgreSQL (tests switch it off to compare with the `.values_list` path).
USE_COPY = True
# Frames read at once on PostgreSQL, each over its own connection (two cores: the server's work and the parsing
# overlap; more threads only queue on the GIL).
LOAD_THREADS = 3
EARLIEST = dt.date(2000, 1, 1)

# Loans that have had money lent: the rest carry no figure.
LENT_STATUSES = (
    LoanStatus.ACTIVE,
    LoanStatus.DEFAULTED,
    LoanStatus.CLOSED,
    LoanStatus.WRITTEN_OFF,
    LoanStatus.CLOSED_BY_RENEWAL,
)


def _fen(field: str) -> ExpressionWrapper:
    """The integer fen stored in a MoneyField, without converting each value to `Money`."""
    return ExpressionWrapper(F(field), output_field=BigIntegerField())


def _visible(model: type[Model], user: User | None) -> QuerySet[Any]:
    manager = model._default_manager
    return manager.all() if user is None else manager.restrict(user, "view")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Read:
    """One frame's query, compiled in the calling thread; `_read_all` decides where it runs."""

    values: QuerySet[Any]
    schema: dict[str, Any]


def _read(
    name: str, qs: QuerySet[Any], columns: Mapping[str, str | Expression], *, group_by: str | None = None
) -> _Read:
    """The query for frame `name` (or a subset of its columns); `columns` maps each frame column to a field path or
    expression, and with `group_by` the expressions are aggregates over the rows sharing that field.

    Every column is selected under an alias (`c_<column>`), so the SQL names its own columns.
    """
    aliases = {f"c_{col}": F(expr) if isinstance(expr, str) else expr for col, expr in columns.items()}
    base = qs.order_by()
    if group_by is not None:
        base = base.values(group_by)
    values = base.annotate(**aliases).values_list(*aliases)
    return _Read(values=values, schema={col: SCHEMAS[name][col] for col in columns})


def _run(read: _Read) -> pl.DataFrame:
    """Rows of the query as a frame. On PostgreSQL the restricted query is streamed out with COPY … TO STDOUT (CSV)
    and parsed by Polars, which is what keeps the national load within seconds; on SQLite (or with `USE_COPY` off)
    the raw cursor rows of the same query go into the frame; any other backend takes the `.values_list` tuples.
    """
    if connection.vendor not in ("postgresql", "sqlite"):
        return pl.DataFrame(list(read.values), schema=read.schema, orient="row")
    try:
        sql, params = read.values.query.sql_with_params()
    except EmptyResultSet:  # restrict() gave .none(): nothing to read
        return pl.DataFrame(schema=read.schema)
    if connection.vendor == "sqlite" or not USE_COPY:
        return _cursor_frame(sql, params, read.schema)
    return _copy_frame(sql, params, read.schema)


def _read_all(reads: Mapping[str, _Read | Callable[[], pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """Run the reads, on PostgreSQL in parallel over their own connections (outside a transaction only: a thread
    could not see the caller's uncommitted rows), so the server's work and the parsing overlap."""
    if connection.vendor != "postgresql" or not USE_COPY or connection.in_atomic_block:
        return {name: _run(read) if isinstance(read, _Read) else read() for name, read in reads.items()}
    with ThreadPoolExecutor(max_workers=LOAD_THREADS, thread_name_prefix="lending-frames") as pool:
        futures = {name: pool.submit(_run_in_thread, read) for name, read in reads.items()}
        return {name: future.result() for name, future in futures.items()}


def _run_in_thread(read: _Read | Callable[[], pl.DataFrame]) -> pl.DataFrame:
    try:
        return _run(read) if isinstance(read, _Read) else read()
    finally:
        connection.close()  # this thread's own connection: the pool's threads end with the load


def _cursor_frame(sql: str, params: Any, schema: Mapping[str, Any]) -> pl.DataFrame:
    """Rows from the raw cursor: the driver's own converters give dates and booleans, and Django's per-row
    iterator machinery is skipped."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0].removeprefix("c_") for column in cursor.description]
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema={n: schema[n] for n in names}, orient="row").select(list(schema))


def _copy_frame(sql: str, params: Any, schema: Mapping[str, Any]) -> pl.DataFrame:
    from psycopg import ClientCursor

    with connection.cursor() as cursor:
        conn = cursor.cursor.connection
        statement = ClientCursor(conn).mogrify(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", params)
        with connection.wrap_database_errors:  # libpq's errors as Django's, as `cursor.execute` would raise them
            data = _copy_out(conn.pgconn, statement)
    # Booleans arrive as t/f; everything else parses under its own type.
    overrides = {f"c_{col}": pl.String if dtype == pl.Boolean else dtype for col, dtype in schema.items()}
    raw = pl.read_csv(data, schema_overrides=overrides)
    return raw.select(
        (pl.col(f"c_{col}") == "t" if dtype == pl.Boolean else pl.col(f"c_{col}")).alias(col)
        for col, dtype in schema.items()
    )


def _copy_out(pgconn: Any, statement: str) -> bytes:
    """The output of a COPY … TO STDOUT, read straight from libpq: psycopg's `Copy` iterator takes a generator
    round trip per row, which at millions of rows costs more than the server's own work."""
    from psycopg import errors as psycopg_errors
    from psycopg import pq

    result = pgconn.exec_(statement.encode())
    if result.status != pq.ExecStatus.COPY_OUT:
        raise psycopg_errors.error_from_result(result)
    data = bytearray()
    get = pgconn.get_copy_data
    while (received := get(0))[0] > 0:
        data += received[1]
    final = pgconn.get_result()
    while pgconn.get_result() is not None:  # drain, so the connection is ready for the next statement
        pass
    if received[0] == -2 or final is None or final.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg_errors.error_from_result(final) if final is not None else DatabaseError("COPY failed")
    return bytes(data)


def lending_frames(*, user: User | None, as_of: dt.date, since: dt.date | None = None) -> LendingFrames:
    """Everything the indicators read, limited to what `user` may view (None: everything).

    With `since`, repayments dated before it come summed per loan (`LendingFrames.summed_before`): the frames then
    serve periods starting on or after `since` only, and hold about a third of the national transaction rows.
    """
    loans_qs = _visible(Loan, user).filter(status__in=LENT_STATUSES)
    loan_ids = loans_qs.values("pk")
    if user is not None:
        tx_qs = LoanTransaction.objects.filter(loan__in=loan_ids)
        collateral_qs = LoanCollateral.objects.filter(loan__in=loan_ids)
        reports_qs = ImplementationReport.objects.filter(collateral__loan__in=loan_ids)
        changes_qs = ClassificationChange.objects.filter(loan__in=loan_ids)
    else:
        tx_qs = LoanTransaction.objects.all()
        collateral_qs = LoanCollateral.objects.all()
        reports_qs = ImplementationReport.objects.all()
        changes_qs = ClassificationChange.objects.all()
    reads: dict[str, _Read | Callable[[], pl.DataFrame]] = {
        **_transaction_reads(tx_qs.filter(reversed_at__isnull=True, value_date__lte=as_of), since),
        "loans": _read(
            "loans",
            loans_qs,
            {
                "loan_id": "pk",
                "borrower_id": "borrower_id",
                "bank_id": "bank_id",
                "park_id": "park_id",
                "region_code": "region_code",
                "principal_fen": _fen("principal"),
                "is_ip_pledge": "is_ip_pledge",
                "classification": "classification",
                "closed_on": "closed_on",
                "written_off_on": "written_off_on",
                "renewal_of_id": "renewal_of_id",
            },
        ),
        # Tree paths and size classes looked up apart rather than joined to 300,000 loans in the database (half
        # the loans query's time); organisations are a few thousand rows, and their paths are not restricted.
        "banks": _read("loans", Organisation.objects.all(), {"bank_id": "pk", "bank_path": "tree_path"}),
        "borrowers": _read(
            "loans",
            _borrowers(loans_qs, user),
            {"borrower_id": "pk", "size_class": "size_class"},
        ),
        "implementation_reports": _read(
            "implementation_reports",
            reports_qs,
            {"collateral_id": "collateral_id", "reported_on": "reported_on", "status": "status", "seq": "pk"},
        ),
        "collateral": _read(
            "collateral",
            collateral_qs,
            {
                "collateral_id": "pk",
                "loan_id": "loan_id",
                "ip_right_id": "ip_right_id",
                "ip_kind": "ip_right__kind",
                "appraised_value_fen": _fen("appraised_value"),
            },
        ),
        "classification_changes": _read(
            "classification_changes",
            changes_qs,
            {
                "loan_id": "loan_id",
                "business_day": "business_day",
                "from_class": "from_class",
                "to_class": "to_class",
                "seq": "pk",
            },
        ),
        "credit_plans": _read(
            "credit_plans",
            _visible(CreditPlan, user),
            {
                "bank_id": "bank_id",
                "bank_path": "bank__tree_path",
                "year": "year",
                "planned_amount_fen": _fen("planned_amount"),
                "planned_clients": "planned_clients",
            },
        ),
        "registrations": partial(_registrations, user),
    }
    loaded = _read_all(reads)
    transactions = _transactions_frame(loaded, since)
    loans = loaded["loans"].join(loaded["banks"], on="bank_id", how="left")
    loans = loans.join(loaded["borrowers"], on="borrower_id", how="left")
    if user is not None:
        loans = loans.join(_first_financing(loans_qs), on="borrower_id", how="left")
    return LendingFrames(
        loans=conform("loans", loans),
        transactions=conform("transactions", transactions),
        collateral=conform("collateral", loaded["collateral"]),
        implementation_reports=conform("implementation_reports", loaded["implementation_reports"]),
        classification_changes=conform("classification_changes", loaded["classification_changes"]),
        registrations=loaded["registrations"],
        credit_plans=conform("credit_plans", loaded["credit_plans"]),
        npl_reports=_npl_reports(user),
        as_of=as_of,
        summed_before=since,
    )


def _borrowers(loans_qs: QuerySet[Any], user: User | None) -> QuerySet[Any]:
    every = Enterprise.objects.all()
    return every if user is None else every.filter(pk__in=loans_qs.values("borrower_id"))


def _transaction_reads(tx_qs: QuerySet[Any], since: dt.date | None) -> dict[str, _Read]:
    """The transaction rows, or with `since` three reads the covering index of migration 0003 serves apart:
    repayments from `since` on, every other kind, and repayments before `since` summed per loan in the database
    (only each loan's opening balance needs them) instead of shipping every past instalment."""
    columns: dict[str, str | Expression] = {
        "loan_id": "loan_id",
        "kind": "kind",
        "value_date": "value_date",
        "amount_fen": _fen("amount"),
        "principal_fen": _fen("principal_part"),
    }
    if since is None:
        return {"transactions": _read("transactions", tx_qs, columns)}
    others = [kind for kind in TransactionKind.values if kind != TransactionKind.REPAYMENT]
    repayments = tx_qs.filter(kind=TransactionKind.REPAYMENT)
    # A repayment moves principal by its principal part only: its kind and amount need not travel.
    repaid: dict[str, str | Expression] = {
        "loan_id": "loan_id",
        "value_date": "value_date",
        "principal_fen": _fen("principal_part"),
    }
    return {
        "repaid_since": _read("transactions", repayments.filter(value_date__gte=since), repaid),
        "repaid_before": _read(
            "transactions",
            repayments.filter(value_date__lt=since),
            # PostgreSQL sums bigint as numeric: cast back, so no row arrives as a Decimal.
            {"loan_id": "loan_id", "principal_fen": Cast(Sum(_fen("principal_part")), BigIntegerField())},
            group_by="loan_id",
        ),
        "transactions": _read("transactions", tx_qs.filter(kind__in=others), columns),
    }


def _transactions_frame(loaded: Mapping[str, pl.DataFrame], since: dt.date | None) -> pl.DataFrame:
    """The transactions frame from `_transaction_reads`; repayments read with `since` carry no amount (null)."""
    if since is None:
        return loaded["transactions"]
    repayment = pl.lit(TransactionKind.REPAYMENT.value)
    before = loaded["repaid_before"].with_columns(value_date=pl.lit(since - dt.timedelta(days=1)))
    repaid = [frame.with_columns(kind=repayment) for frame in (loaded["repaid_since"], before)]
    return pl.concat([loaded["transactions"], *repaid], how="diagonal_relaxed")


def may_view_indicators(user: Any) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(Action.VIEW):
        return False
    return scope.is_platform or scope.kind in VIEWER_KINDS


def default_slice(user: Any) -> str:
    """The slice a viewer most likely wants first: its branches, its parks, or the regions below it."""
    scope = scope_for(user)
    kind = scope.kind if scope else None
    if kind == OrganisationKind.BANK:
        return "bank"
    if kind == OrganisationKind.PARK_ADMIN:
        return "park"
    if scope is not None and scope.admin_level == AdminLevel.PROVINCIAL:
        return "city"
    return "province"


def period_errors(
    period_start: dt.date, period_end: dt.date, granularity: str, slice_key: str
) -> list[tuple[str, str, str, str]]:
    """What is wrong with a request for indicators: (field, rule, message zh-hans, message en) per problem."""
    errors: list[tuple[str, str, str, str]] = []
    if slice_key not in SLICES:
        errors.append(("slice", "invalid_choice", "不支持的统计维度。", f"slice must be one of {', '.join(SLICES)}."))
    if granularity not in GRANULARITIES:
        errors.append(
            ("granularity", "invalid_choice", "不支持的期间粒度。", "granularity must be month, quarter or year.")
        )
    if period_start < EARLIEST:
        errors.append(
            ("period_start", "too_early", "起始日不能早于2000-01-01。", "period_start must be 2000-01-01 or later.")
        )
    if period_end < period_start:
        errors.append(
            ("period_end", "end_before_start", "截止日不能早于起始日。", "period_end must not be before period_start.")
        )
    elif granularity in GRANULARITIES and buckets(period_start, period_end, granularity).height > MAX_BUCKETS:
        errors.append(
            (
                "granularity",
                "too_many_periods",
                f"期间过长：按所选粒度超过{MAX_BUCKETS}期，请缩短期间或改用更粗的粒度。",
                f"More than {MAX_BUCKETS} periods at this granularity: shorten the period or choose a coarser one.",
            )
        )
    return errors


def compute_indicators(
    user: User, *, period_start: dt.date, period_end: dt.date, slice_key: str, granularity: str
) -> dict[str, pl.DataFrame]:
    """The labelled indicator tables the user may see, for one slice (the summary and series tables always)."""
    frames = lending_frames(user=user, as_of=business_date(), since=period_start)
    tables = indicator_set(
        frames, period_start=period_start, period_end=period_end, slices=[slice_key], granularity=granularity
    )
    return label_tables(tables)


def _first_financing(loans_qs: QuerySet[Any]) -> pl.DataFrame:
    """Each visible borrower's first IP-backed disbursement anywhere on the platform (T2 counts first financing,
    which a bank that sees only its own loans could not tell otherwise)."""
    rows = (
        LoanTransaction.objects.filter(
            kind=TransactionKind.DISBURSEMENT,
            reversed_at__isnull=True,
            loan__is_ip_pledge=True,
            loan__borrower_id__in=loans_qs.values("borrower_id"),
        )
        .order_by()
        .values_list("loan__borrower_id")
        .annotate(first=Min("value_date"))
    )
    return pl.DataFrame(list(rows), schema={"borrower_id": pl.Int64, "first_financed_on": pl.Date}, orient="row")


def _registrations(user: User | None) -> pl.DataFrame:
    regs_qs = _visible(PledgeRegistration, user)
    regs = _run(
        _read(
            "registrations",
            regs_qs,
            {
                "registration_id": "pk",
                "registered_on": "registered_on",
                "claim_amount_fen": _fen("claim_amount"),
                "pledgor_id": "pledgor_id",
                "pledgee_id": "pledgee_id",
                "pledgee_path": "pledgee__tree_path",
                "region_code": "region_code",
                "size_class": "pledgor__size_class",
            },
        )
    )
    rights_qs = PledgedRight.objects.all() if user is None else PledgedRight.objects.filter(registration__in=regs_qs)
    kinds = pl.DataFrame(
        list(rights_qs.order_by().values_list("registration_id", "pk", "ip_right__kind")),
        schema={"registration_id": pl.Int64, "pk": pl.Int64, "ip_kind": pl.String},
        orient="row",
    )
    first_kind = kinds.sort("pk").group_by("registration_id").agg(pl.col("ip_kind").first())
    # Only pledgors' parks join: without the filter every membership on the platform would be read.
    members = ParkMembership.objects.filter(left_on__isnull=True, enterprise_id__in=regs_qs.values("pledgor_id"))
    parks = pl.DataFrame(
        list(members.order_by().values_list("enterprise_id", "park_id")),
        schema={"pledgor_id": pl.Int64, "park_id": pl.Int64},
        orient="row",
    )
    # An enterprise in several parks counts in the first (lowest id) of them.
    first_park = parks.group_by("pledgor_id").agg(pl.col("park_id").min())
    regs = regs.join(first_kind, on="registration_id", how="left").join(first_park, on="pledgor_id", how="left")
    return conform("registrations", regs)


def _npl_reports(user: User | None) -> pl.DataFrame:
    rows = _visible(BankNplReport, user).order_by().values_list("bank_id", "bank__tree_path", "as_of", "npl_ratio")
    return pl.DataFrame(
        [(bank, path, day, int(Decimal(ratio) * 1_000_000)) for bank, path, day, ratio in rows],
        schema=SCHEMAS["npl_reports"],
        orient="row",
    )


# ---------------------------------------------------------------------------
# Presentation: names for the keys, JSON rows, the workbook
# ---------------------------------------------------------------------------

TABLE_TITLES: dict[str, Any] = {
    "lending_summary": gettext_lazy("贷款口径·汇总"),
    "lending_series": gettext_lazy("贷款口径·按期间"),
    "npl_vs_bank": gettext_lazy("不良率与全行对比"),
    "credit_plan": gettext_lazy("单列信贷计划完成情况"),
    "t2_first_financing": gettext_lazy("首次知识产权融资企业"),
    "t3_implementation": gettext_lazy("质押专利实施率"),
    "registration_summary": gettext_lazy("登记口径·汇总"),
    "registration_series": gettext_lazy("登记口径·按期间"),
    "puhui_thresholds": gettext_lazy("普惠标准"),
}
SLICE_TITLES: dict[str, Any] = {
    "bank": gettext_lazy("经办银行"),
    "head_office": gettext_lazy("银行总行"),
    "park": gettext_lazy("园区"),
    "province": gettext_lazy("省份"),
    "city": gettext_lazy("城市"),
    "ip_kind": gettext_lazy("知识产权类型"),
    "size_class": gettext_lazy("企业规模"),
}
COLUMN_TITLES: dict[str, Any] = {
    "new_amount_fen": gettext_lazy("新增贷款金额"),
    "new_loans": gettext_lazy("新增贷款笔数"),
    "borrowers": gettext_lazy("累放贷款户数"),
    "balance_fen": gettext_lazy("贷款余额"),
    "loans_with_balance": gettext_lazy("有余额贷款笔数"),
    "clients_with_balance": gettext_lazy("有余额客户数"),
    "npl_balance_fen": gettext_lazy("不良贷款余额"),
    "npl_ratio": gettext_lazy("不良率"),
    "pledge_principal_fen": gettext_lazy("质押率·贷款金额"),
    "pledge_appraised_fen": gettext_lazy("质押率·评估价值"),
    "pledge_loans_valued": gettext_lazy("质押率·计入笔数"),
    "pledge_loans_unvalued": gettext_lazy("质押率·缺评估值笔数"),
    "pledge_rate": gettext_lazy("质押率"),
    "puhui_loans": gettext_lazy("普惠贷款笔数"),
    "puhui_amount_fen": gettext_lazy("普惠贷款金额"),
    "puhui_share_loans": gettext_lazy("普惠占比（笔数）"),
    "puhui_share_amount": gettext_lazy("普惠占比（金额）"),
    "first_financed": gettext_lazy("首次融资企业数"),
    "bucket": gettext_lazy("期间起"),
    "bucket_end": gettext_lazy("期间止"),
    "bank_npl_as_of": gettext_lazy("全行不良率统计日"),
    "bank_npl_ratio": gettext_lazy("全行不良率"),
    "tolerance_ratio": gettext_lazy("容忍上限"),
    "excess_pp": gettext_lazy("高出（百分点）"),
    "within_tolerance": gettext_lazy("在容忍度内"),
    "bank_id": gettext_lazy("银行"),
    "year": gettext_lazy("年度"),
    "planned_amount_fen": gettext_lazy("计划投放金额"),
    "planned_clients": gettext_lazy("计划服务户数"),
    "through": gettext_lazy("统计截至"),
    "disbursed_fen": gettext_lazy("已投放金额"),
    "clients": gettext_lazy("已服务户数"),
    "amount_fulfilment": gettext_lazy("金额完成率"),
    "clients_fulfilment": gettext_lazy("户数完成率"),
    "enterprises": gettext_lazy("企业数"),
    "day": gettext_lazy("统计日"),
    "patents": gettext_lazy("质押专利数"),
    "with_report": gettext_lazy("有实施报告"),
    "implemented": gettext_lazy("已实施"),
    "implementation_rate": gettext_lazy("实施率"),
    "registered_amount_fen": gettext_lazy("质押登记金额"),
    "projects": gettext_lazy("质押项目数"),
    "projects_without_amount": gettext_lazy("未载明金额项目数"),
    "puhui_projects": gettext_lazy("普惠项目数"),
    "puhui_share": gettext_lazy("普惠占比"),
    "since": gettext_lazy("起始日"),
    "until": gettext_lazy("截止日"),
    "below_fen": gettext_lazy("单笔金额低于"),
    "name": gettext_lazy("名称"),
    **SLICE_TITLES,
}
# Columns holding names of organisations, parks, regions or choices, keyed by the id/code column they label.
LABELLED = ("bank", "head_office", "park", "province", "city", "ip_kind", "size_class", "bank_id")


def table_title(name: str) -> str:
    for prefix, basis in (("lending_by_", _("贷款口径")), ("registration_by_", _("登记口径"))):
        if name.startswith(prefix):
            return _("%(basis)s·按%(slice)s") % {"basis": basis, "slice": SLICE_TITLES.get(name[len(prefix) :], name)}
    return str(TABLE_TITLES.get(name, name))


def _names(key: str, values: Iterable[Any]) -> dict[Any, str]:
    wanted = [v for v in values if v is not None]
    if key in ("bank", "head_office", "bank_id"):
        return {pk: name for pk, name in Organisation.objects.filter(pk__in=wanted).values_list("pk", "name")}
    if key == "park":
        return {pk: name for pk, name in Park.objects.filter(pk__in=wanted).values_list("pk", "name")}
    if key in ("province", "city"):
        return {code: name for code, name in Region.objects.filter(code__in=wanted).values_list("code", "name")}
    if key == "ip_kind":
        return {value: str(label) for value, label in IPKind.choices}
    if key == "size_class":
        return {value: str(label) for value, label in SizeClass.choices}
    return {}


def label_tables(tables: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The tables with a `name` column after the slice key (names of banks, parks and regions are not restricted:
    only keys present in the already-restricted figures are looked up)."""
    labelled: dict[str, pl.DataFrame] = {}
    for name, table in tables.items():
        key = next((c for c in table.columns if c in LABELLED), None)
        if key is None:
            labelled[name] = table
            continue
        names = _names(key, table.get_column(key).unique().to_list())
        blank = _("（未划型）") if key in ("size_class", "ip_kind") else _("（无）")
        label = pl.col(key).replace_strict(names, default=None, return_dtype=pl.String).fill_null(blank)
        position = table.columns.index(key) + 1
        labelled[name] = table.insert_column(position, table.select(label.alias("name")).to_series())
    return labelled


def table_rows(table: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ISO strings, money as integer fen, ratios as floats (rounded to 6 places)."""
    cast = [
        pl.col(c).dt.to_string("%Y-%m-%d")
        if dtype == pl.Date
        else pl.col(c).round(6)
        if dtype.is_float()
        else pl.col(c)
        for c, dtype in table.schema.items()
    ]
    return table.select(cast).to_dicts()


def tables_workbook(tables: Mapping[str, pl.DataFrame], *, subtitle: str) -> bytes:
    """One sheet per table; money in yuan (fen ÷ 100) formatted #,##0.00, ratios as percentages."""
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    percent = book.add_format({"num_format": "0.00%"})
    decimal2 = book.add_format({"num_format": "0.00"})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    used: set[str] = set()
    for name, table in tables.items():
        title = _sheet_name(table_title(name), used)
        sheet = book.add_worksheet(title)
        sheet.write_string(0, 0, f"{table_title(name)}　{subtitle}")
        for col, column in enumerate(table.columns):
            heading = str(COLUMN_TITLES.get(column, column))
            sheet.write_string(1, col, heading + _("（元）") if column.endswith("_fen") else heading, head)
            sheet.set_column(col, col, 16)
        for r, row in enumerate(table.iter_rows(), start=2):
            for col, (column, value) in enumerate(zip(table.columns, row, strict=True)):
                _write_cell(
                    sheet, r, col, column, value, money=money, percent=percent, decimal2=decimal2, date=date_fmt
                )
        sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()


def _write_cell(sheet: Any, row: int, col: int, column: str, value: Any, **fmt: Any) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_string(row, col, _("是") if value else _("否"))
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt["date"])
    elif column.endswith("_fen"):
        sheet.write_number(row, col, value / 100, fmt["money"])  # display only: the figures stay fen
    elif isinstance(value, float):
        sheet.write_number(row, col, value, fmt["decimal2"] if column == "excess_pp" else fmt["percent"])
    elif isinstance(value, int):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


def _sheet_name(title: str, used: set[str]) -> str:
    # Excel: at most 31 characters, no []:*?/\ and unique within the book.
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31]
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}~{n}"
        n += 1
    used.add(name)
    return name
