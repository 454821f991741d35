"""我的账户 (password, two-factor, sessions), the login's second step, and account security for admins.

Thin views over the services in `ipledge.core.security`; an admin reaches only users of their own organisation
tree (`User.objects.restrict(user, "change")`), anything else answers 404.
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tables2 import RequestConfig

from .context_processors import is_admin
from .forms import BootstrapMixin, attach_errors
from .models import User
from .scoping import Action
from .security import (
    confirmed_device,
    locked_usernames,
    login_lockout_clear,
    otp_disable,
    otp_enrol_confirm,
    otp_enrol_start,
    otp_login_verify,
    otp_offered,
    otp_required,
    otp_reset,
    pending_device,
    qr_data_uri,
    secret_text,
    user_password_change,
    user_sessions_end_all,
)
from .selectors import scoped_get
from .views import PER_PAGE, AuthenticatedRequest

# Forms


class TokenForm(BootstrapMixin, forms.Form):
    token = forms.CharField(
        label=gettext_lazy("验证码"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*", "maxlength": "6"}
        ),
        help_text=gettext_lazy("验证器应用（如 Microsoft Authenticator、Google 身份验证器）显示的 6 位数字。"),
    )


class PasswordChangeForm(BootstrapMixin, forms.Form):
    old_password = forms.CharField(
        label=gettext_lazy("原密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=gettext_lazy("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=gettext_lazy("确认新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth.password_validation import password_validators_help_texts

        self.fields["new_password1"].help_text = " ".join(str(t) for t in password_validators_help_texts())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password1") and data.get("new_password2") and data["new_password1"] != data["new_password2"]:
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return data


# 我的账户


def _account_context(request: AuthenticatedRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    device = confirmed_device(user)
    pending = pending_device(user) if device is None else None
    context: dict[str, Any] = {
        "account": user,
        "otp_offered": otp_offered(user) or device is not None,
        "otp_device": device,
        "otp_pending": pending,
        "token_form": TokenForm(),
    }
    if pending is not None:
        context["qr_uri"] = qr_data_uri(pending)
        context["secret"] = secret_text(pending)
    context.update(extra)
    return context


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def account(request: AuthenticatedRequest) -> HttpResponse:
    return _no_store(render(request, "core/account/account.html", _account_context(request)))


def account_password(request: AuthenticatedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                acting_user=request.user,
                request=request,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("密码已修改，其他设备上的登录已失效。"))
            return redirect("account")
    return render(request, "core/account/password.html", {"form": form})


@require_POST
def account_otp_start(request: AuthenticatedRequest) -> HttpResponse:
    try:
        otp_enrol_start(user=request.user, acting_user=request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("account")


@require_POST
def account_otp_confirm(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            otp_enrol_confirm(
                user=request.user, token=form.cleaned_data["token"], acting_user=request.user, request=request
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("双因素认证已启用：以后登录时需输入验证器应用中的验证码。"))
            return redirect("account")
    return _no_store(render(request, "core/account/account.html", _account_context(request, token_form=form)))


@require_POST
def account_otp_disable(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            otp_disable(user=request.user, token=form.cleaned_data["token"], acting_user=request.user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("双因素认证已停用。"))
            return redirect("account")
    context = _account_context(request, disable_form=form)
    return _no_store(render(request, "core/account/account.html", context))


@require_POST
def account_sessions_end(request: AuthenticatedRequest) -> HttpResponse:
    user_sessions_end_all(user=request.user, acting_user=request.user, request=request)
    messages.success(request, _("已退出所有其他设备上的登录，本设备保持登录。"))
    return redirect("account")


# The login's second step


def login_verify(request: AuthenticatedRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if not otp_required(request.user):
        return redirect(next_url or "dashboard")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            otp_login_verify(request=request, token=form.cleaned_data["token"])
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return redirect(next_url or "dashboard")
    return _no_store(render(request, "core/account/verify.html", {"form": form, "next": next_url, "nav": None}))


# Account security for admins


class UserSecurityTable(tables.Table):
    username = tables.Column(verbose_name=gettext_lazy("用户名"))
    display_name = tables.Column(verbose_name=gettext_lazy("姓名"))
    organisation = tables.Column(verbose_name=gettext_lazy("所属机构"), order_by=("organisation__name",))
    locked = tables.Column(verbose_name=gettext_lazy("登录锁定"), empty_values=(), orderable=False)
    has_otp = tables.BooleanColumn(verbose_name=gettext_lazy("双因素认证"))
    last_login = tables.DateTimeColumn(verbose_name=gettext_lazy("最近登录"), format="Y-m-d H:i")
    actions = tables.TemplateColumn(
        template_name="core/account/partials/user_security_actions.html",
        verbose_name=gettext_lazy("操作"),
        orderable=False,
    )

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = gettext_lazy("没有用户。")

    def __init__(self, *args: Any, locked: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locked = locked

    def render_locked(self, record: User) -> str:
        until = self.locked.get(record.username)
        if until is None:
            return "—"
        from django.utils import timezone

        return _("锁定至 %(time)s") % {"time": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")}


def _managed_users(user: User) -> QuerySet[User]:
    confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        User.objects.restrict(user, Action.CHANGE)
        .select_related("organisation")
        .annotate(has_otp=Exists(confirmed))
        .order_by("organisation__tree_path", "username")
    )


def user_security(request: AuthenticatedRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404
    locked = locked_usernames()
    users = _managed_users(request.user)
    only_locked = request.GET.get("locked") == "1"
    if only_locked:
        users = users.filter(username__in=list(locked))
    table = UserSecurityTable(users, locked=locked)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    unknown_locked = (
        sorted(set(locked) - set(User.objects.filter(username__in=list(locked)).values_list("username", flat=True)))
        if request.user.is_superuser
        else []
    )
    context = {"table": table, "only_locked": only_locked, "unknown_locked": unknown_locked}
    return render(request, "core/account/user_security.html", context)


@require_POST
def user_unlock(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    target = scoped_get(User, user=request.user, pk=pk, action=Action.CHANGE)
    login_lockout_clear(username=target.username, acting_user=request.user)
    messages.success(request, _("已解除用户“%(name)s”的登录锁定。") % {"name": target.username})
    return redirect("user_security")


@require_POST
def user_sessions_end(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    target = scoped_get(User, user=request.user, pk=pk, action=Action.CHANGE)
    user_sessions_end_all(user=target, acting_user=request.user, request=request)
    messages.success(request, _("已结束用户“%(name)s”的所有登录会话。") % {"name": target.username})
    return redirect("user_security")


@require_POST
def user_otp_reset(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    target = scoped_get(User, user=request.user, pk=pk, action=Action.CHANGE)
    otp_reset(user=target, acting_user=request.user)
    messages.success(request, _("已重置用户“%(name)s”的双因素认证。") % {"name": target.username})
    return redirect("user_security")
