"""Tables of the core pages, and the readable form of an audit event's changes (shared with history panels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_tables2 as tables
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .forms import ACTION_LABELS
from .models import ApiCall, ApiKey, AuditEvent, User

MAX_CHANGE_ROWS = 12
# Bookkeeping columns that say nothing to a reader of the history.
HIDDEN_CHANGE_FIELDS = frozenset({"id", "created_at", "updated_at", "tree_path", "key_hash", "region_code"})

# Where an audited object can be looked at in the UI.
DETAIL_URLS = {
    "registry.park": "registry:park_detail",
    "registry.enterprise": "registry:enterprise_detail",
    "registry.ipright": "registry:ipright_detail",
}


@dataclass(frozen=True)
class ChangeRow:
    label: str
    old: str
    new: str


def _model_for(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _display(field: models.Field | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if getattr(field, "choices", None):
        assert field is not None
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _related_name(field: Any, value: Any, cache: dict[tuple[Any, Any], str]) -> str | None:
    """The name of the object a foreign-key id points at (the same name the object's own page shows)."""
    is_relation = getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False)
    if value in (None, "") or not is_relation:
        return None
    key = (field.related_model, value)
    if key not in cache:
        try:
            related = field.related_model._default_manager.filter(pk=value).first()
        except (ValueError, TypeError):
            related = None
        cache[key] = str(related) if related is not None else f"#{value}"
    return cache[key]


def is_creation(event: AuditEvent) -> bool:
    fields = (event.changes or {}).get("fields") or {}
    return bool(fields) and all((change or {}).get("old") is None for change in fields.values())


def change_rows(event: AuditEvent, cache: dict[tuple[Any, Any], str] | None = None) -> list[ChangeRow]:
    """The event's field changes as (label, old, new) in the object's own labels and choice names."""
    fields = (event.changes or {}).get("fields") or {}
    model = _model_for(event.object_type)
    cache = {} if cache is None else cache
    rows = []
    for name, change in fields.items():
        field: Any = None
        label = name
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            if field is not None and getattr(field, "concrete", False):
                label = str(field.verbose_name)
            elif field is not None and field.related_model is not None:  # a reverse relation, e.g. owners
                field, label = None, str(field.related_model._meta.verbose_name)
        if name in HIDDEN_CHANGE_FIELDS:
            continue
        old, new = (change or {}).get("old"), (change or {}).get("new")
        old_text = _related_name(field, old, cache) or _display(field, old)
        new_text = _related_name(field, new, cache) or _display(field, new)
        if old_text != new_text:
            rows.append(ChangeRow(label=label, old=old_text, new=new_text))
    return rows


def object_type_label(label: str) -> str:
    model = _model_for(label)
    return str(model._meta.verbose_name) if model is not None else label


class AuditTable(tables.Table):
    occurred_at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("操作人"))
    organisation = tables.Column(verbose_name=_("操作机构"), order_by=("organisation__name",))
    action = tables.Column(verbose_name=_("操作"))
    object_type = tables.Column(verbose_name=_("对象类型"))
    object_repr = tables.Column(verbose_name=_("对象"))
    changes = tables.Column(verbose_name=_("变更内容"), orderable=False, empty_values=())

    class Meta:
        model = AuditEvent
        fields = ("occurred_at", "actor_name", "organisation", "action", "object_type", "object_repr", "changes")
        attrs = {"class": "table table-sm table-hover align-middle audit-table"}
        empty_text = _("没有符合条件的审计事件。")

    def render_object_type(self, value: str) -> str:
        return object_type_label(value)

    def render_object_repr(self, value: str, record: AuditEvent) -> str:
        url_name = DETAIL_URLS.get(record.object_type)
        if url_name and record.object_id:
            try:
                return format_html('<a href="{}">{}</a>', reverse(url_name, args=[record.object_id]), value)
            except NoReverseMatch:
                pass
        return value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._names: dict[tuple[Any, Any], str] = {}

    def render_changes(self, record: AuditEvent) -> str:
        rows = change_rows(record, self._names)
        if not rows:
            return "—"
        shown = rows[:MAX_CHANGE_ROWS]
        if is_creation(record):
            html = format_html_join(
                "", '<li><span class="text-body-secondary">{}</span>：{}</li>', ((r.label, r.new) for r in shown)
            )
        else:
            html = format_html_join(
                "",
                '<li><span class="text-body-secondary">{}</span>：{} <i class="bi bi-arrow-right"></i> {}</li>',
                ((r.label, r.old, r.new) for r in shown),
            )
        more = (
            format_html('<li class="text-body-secondary">… +{}</li>', len(rows) - len(shown))
            if len(rows) > len(shown)
            else ""
        )
        return format_html('<ul class="list-unstyled small mb-0 change-list">{}{}</ul>', html, more)


class ApiKeyTable(tables.Table):
    name = tables.Column(verbose_name=_("名称"))
    prefix = tables.Column(verbose_name=_("前缀"))
    role = tables.Column(verbose_name=_("权限角色"))
    actions = tables.Column(verbose_name=_("允许的操作"), orderable=False)
    rate_limit_per_minute = tables.Column(verbose_name=_("每分钟上限"))
    created_by = tables.Column(verbose_name=_("创建人"))
    created_at = tables.DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")
    expires_at = tables.DateTimeColumn(verbose_name=_("过期时间"), format="Y-m-d H:i")
    last_used_at = tables.DateTimeColumn(verbose_name=_("最近使用"), format="Y-m-d H:i")
    status = tables.TemplateColumn(
        template_name="core/partials/api_key_actions.html", verbose_name=_("状态"), orderable=False, empty_values=()
    )

    class Meta:
        model = ApiKey
        fields = (
            "name",
            "prefix",
            "role",
            "actions",
            "rate_limit_per_minute",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "status",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("还没有 API 密钥。")

    def render_prefix(self, value: str) -> str:
        return format_html("<code>ipk_{}_…</code>", value)

    def render_actions(self, value: list[str]) -> str:
        labels = {str(k): str(v) for k, v in ACTION_LABELS.items()}
        return "、".join(labels.get(a, a) for a in value) or "—"


class ApiCallTable(tables.Table):
    occurred_at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    api_key = tables.Column(verbose_name=_("API 密钥"), order_by=("api_key__name",))
    user = tables.Column(verbose_name=_("用户"), order_by=("user__username",))
    method = tables.Column(verbose_name=_("方法"))
    path = tables.Column(verbose_name=_("路径"))
    status_code = tables.Column(verbose_name=_("状态码"))
    duration_ms = tables.Column(verbose_name=_("耗时（毫秒）"))
    client_ip = tables.Column(verbose_name=_("来源地址"))
    request_id = tables.Column(verbose_name=_("请求编号"), orderable=False)

    class Meta:
        model = ApiCall
        fields = (
            "occurred_at",
            "api_key",
            "user",
            "method",
            "path",
            "status_code",
            "duration_ms",
            "client_ip",
            "request_id",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("没有符合条件的 API 调用。")

    def render_path(self, value: str) -> str:
        return format_html('<code class="text-break">{}</code>', value)

    def render_status_code(self, value: int) -> str:
        colour = "success" if value < 400 else ("warning" if value < 500 else "danger")
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, value)

    def render_request_id(self, value: str) -> str:
        return format_html('<code class="small">{}</code>', value[:12])


class UserTable(tables.Table):
    username = tables.Column(verbose_name=_("用户名"))
    display_name = tables.Column(verbose_name=_("姓名"))
    organisation = tables.Column(verbose_name=_("所属机构"), order_by=("organisation__name",))
    role = tables.Column(verbose_name=_("角色"))
    is_active = tables.BooleanColumn(verbose_name=_("启用"))
    last_login = tables.DateTimeColumn(verbose_name=_("最近登录"), format="Y-m-d H:i")

    class Meta:
        model = User
        fields = ("username", "display_name", "organisation", "role", "is_active", "last_login")
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("没有用户。")
