"""Forms of the core pages (API keys, users, audit filters) and the Bootstrap styling every form shares."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import Role
from .models import ApiKey, Organisation
from .scoping import ROLE_ACTIONS, Action


def _add_class(widget: forms.Widget, css: str) -> None:
    classes = widget.attrs.get("class", "").split()
    if css not in classes:
        classes.append(css)
    widget.attrs["class"] = " ".join(classes)


def style_fields(fields: dict[str, forms.Field]) -> None:
    """Give every widget its Bootstrap 5 class."""
    for field in fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            _add_class(widget, "form-check-input")
        elif isinstance(widget, forms.Select | forms.NullBooleanSelect) and not isinstance(
            widget, forms.SelectMultiple
        ):
            _add_class(widget, "form-select")
        elif isinstance(widget, forms.HiddenInput):
            continue
        else:
            _add_class(widget, "form-control")


class BootstrapMixin:
    """Bootstrap classes on widgets, and `is-invalid` on every field that gets an error (also added by a view)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        style_fields(self.fields)

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        names = [field] if field else []
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        elif isinstance(error, dict):
            names = list(error)
        for name in names:
            if name in self.fields:
                _add_class(self.fields[name].widget, "is-invalid")


def attach_errors(form: forms.BaseForm, exc: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form: each message next to its field, unknown fields on top.

    `field_map` renames service/model field names to form fields (e.g. "owners" → "owner_share").
    """
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        target = field_map.get(name, name)
        if target in form.fields:
            form.add_error(target, errors)
        elif name == NON_FIELD_ERRORS:
            form.add_error(None, errors)
        else:
            label = _field_label(form, name)
            form.add_error(None, [ValidationError(f"{label}：{m}") for e in errors for m in e.messages])


def _field_label(form: forms.BaseForm, name: str) -> str:
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is not None:
        try:
            return str(model._meta.get_field(name).verbose_name)
        except Exception:  # noqa: BLE001 - any lookup failure falls back to the raw name
            return name
    return name


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


ACTION_LABELS = {
    Action.VIEW: _("查看"),
    Action.ADD: _("新建"),
    Action.CHANGE: _("修改"),
    Action.DELETE: _("删除"),
    Action.APPROVE: _("审批"),
}


DEFAULT_RATE_LIMIT = 600


class ApiKeyForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=64, help_text=_("用于识别调用方，如“信易贷对接”。"))
    role = forms.ChoiceField(label=_("权限角色"), choices=Role.choices, initial=Role.VIEWER)
    actions = forms.MultipleChoiceField(
        label=_("允许的操作"),
        required=False,
        choices=[(a.value, ACTION_LABELS[a]) for a in Action],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=_("只能选择该角色可执行的操作；不选则为该角色的全部操作。"),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("每分钟请求上限"),
        required=False,
        min_value=1,
        max_value=100_000,
        initial=DEFAULT_RATE_LIMIT,
        help_text=_("超过后返回 429，需等到下一分钟；留空为 600。"),
    )
    expires_on = forms.DateField(
        label=_("过期日期"), required=False, widget=DateInput(), help_text=_("留空表示不过期；过期日当天结束时失效。")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actions"].widget.attrs["class"] = "form-check-input"
        # The page's script greys out the actions the chosen role cannot take; the service decides either way.
        role_actions = {role: " ".join(sorted(a.value for a in acts)) for role, acts in ROLE_ACTIONS.items()}
        self.fields["role"].widget.attrs.update({f"data-actions-{r}": v for r, v in role_actions.items()})
        self.fields["role"].widget.attrs["data-role-actions"] = "id_actions"

    def clean_actions(self) -> list[str] | None:
        return self.cleaned_data.get("actions") or None

    def clean_rate_limit_per_minute(self) -> int:
        value = self.cleaned_data.get("rate_limit_per_minute")
        return DEFAULT_RATE_LIMIT if value is None else int(value)

    def clean_expires_on(self) -> datetime.date | None:
        value = self.cleaned_data.get("expires_on")
        if value is not None and value < timezone.localdate():
            raise ValidationError(_("过期日期不能早于今天。"), code="future")
        return value

    def expires_at(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
        return timezone.make_aware(end, timezone.get_current_timezone())


class UserCreateForm(BootstrapMixin, forms.Form):
    username = forms.RegexField(
        label=_("用户名"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=_("字母、数字和 @/./+/-/_，登录时使用。"),
        error_messages={"invalid": _("用户名只能包含字母、数字和 @/./+/-/_。")},
    )
    display_name = forms.CharField(label=_("姓名"), max_length=64, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    organisation: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=_("所属机构"), queryset=Organisation.objects.none()
    )
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices, initial=Role.OPERATOR)
    password = forms.CharField(
        label=_("初始密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
        help_text=_("留空则自动生成一个随机密码，创建后显示一次。"),
    )

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organisations
        if organisations.count() == 1:
            field.initial = organisations.first()

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password)
        return password


def audit_object_type_choices() -> list[tuple[str, Any]]:
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("core", "registry") and not m.__name__.startswith("Historical")
    ]
    return [("", _("全部")), *((m._meta.label_lower, str(m._meta.verbose_name)) for m in models)]


class ApiCallFilterForm(BootstrapMixin, forms.Form):
    key = forms.ModelChoiceField(label=_("API 密钥"), required=False, queryset=ApiKey.objects.none())
    status_code = forms.IntegerField(label=_("状态码"), required=False, min_value=100, max_value=599)
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("截止日期"), required=False, widget=DateInput())

    def __init__(self, *args: Any, keys: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["key"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = keys

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", ValidationError(_("截止日期不能早于起始日期。"), code="date_order"))
        return data

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        key = data.pop("key", None)
        data["key_id"] = key.pk if key is not None else None
        return {k: v for k, v in data.items() if v not in (None, "")}


class AuditFilterForm(BootstrapMixin, forms.Form):
    action = forms.CharField(label=_("操作"), required=False, help_text=_("前缀匹配，如 enterprise."))
    object_type = forms.ChoiceField(label=_("对象类型"), required=False, choices=())
    actor = forms.CharField(label=_("操作人"), required=False)
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("截止日期"), required=False, widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["object_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = audit_object_type_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", ValidationError(_("截止日期不能早于起始日期。"), code="date_order"))
        return data
