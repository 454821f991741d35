"""Personal data (个人信息) of enterprises: the legal representative's ID number and the contact phone.

Who sees them in full (《个人信息保护法》: only as far as the purpose needs):

* the enterprise's own users;
* admins and operators of a park the enterprise is a current member of;
* a bank (any of its users, and its parent organisations) that does business with the enterprise: a loan or a
  pledge filing, the same relation that lets the bank read the enterprise at all (``registry.models``);
* superusers.

Everyone else who can read the enterprise (IP offices, other government bodies, park viewers and reviewers, other
service organisations) sees masks: ``110101********123X`` and ``138****5678``. The legal representative's name is
public (it is printed on the business licence) and is not masked.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from .uploads import bilingual

PERSONAL_FIELDS = ("legal_representative_id_number", "contact_phone")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_CACHE_ATTR = "_ipledge_personal_data_ids"


# ----------------------------------------------------------------------------------------------------- masks


def mask_id_number(value: str | None) -> str:
    """``110101199003071234`` -> ``110101********1234``: region and last four kept, birth date hidden."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """``13812345678`` -> ``138****5678``; ``010-12345678`` -> ``010*****5678``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


AUDIT_MASKS = {"legal_representative_id_number": mask_id_number, "contact_phone": mask_phone}


# ----------------------------------------------------------------------------------------------------- validation


def _error(field: str, rule: str, zh: str, en: str) -> ValidationError:
    return ValidationError({field: [ValidationError(bilingual(zh, en), code=rule)]})


def normalise_id_number(value: str | None, *, field: str = "legal_representative_id_number") -> str:
    """A resident identity card number (居民身份证号码, GB 11643): 18 characters, a valid birth date and check
    digit (python-stdnum ``cn.ric``); ``x`` is upper-cased. Blank stays blank."""
    from stdnum import exceptions
    from stdnum.cn import ric

    text = (value or "").strip().replace(" ", "").upper()
    if not text:
        return ""
    if not re.fullmatch(r"\d{17}[\dX]", text):
        raise _error(
            field,
            "id_number_format",
            "身份证号码应为18位：17位数字加1位数字或X。",
            "An ID number has 18 characters: 17 digits and a digit or X.",
        )
    try:
        return str(ric.validate(text))
    except exceptions.InvalidChecksum as exc:
        raise _error(
            field, "id_number_checksum", "身份证号码校验位不正确。", "The ID number's check digit is wrong."
        ) from exc
    except exceptions.ValidationError as exc:
        raise _error(
            field,
            "id_number_invalid",
            "身份证号码无效（出生日期或地区代码不正确）。",
            "The ID number is invalid (birth date or region code).",
        ) from exc


def normalise_phone(value: str | None, *, field: str = "contact_phone") -> str:
    """A mainland mobile number (1[3-9] and 9 digits) or a landline with its area code (0XX(X)-XXXXXXX(X))."""
    text = re.sub(r"[\s()（）]", "", value or "")
    if text.startswith("+86"):
        text = text[3:]
    if not text:
        return ""
    if MOBILE_RE.fullmatch(text) or LANDLINE_RE.fullmatch(text):
        return text
    raise _error(
        field,
        "phone_format",
        "联系电话应为11位手机号码（1[3-9]开头）或带区号的固定电话（如 010-12345678）。",
        "A phone is an 11-digit mobile number (1[3-9]…) or a landline with its area code (e.g. 010-12345678).",
    )


# ----------------------------------------------------------------------------------------------------- who sees


def full_view_q(user: Any) -> Q | None:
    """Q over Enterprise of the enterprises whose personal data the user sees in full; None: none of them."""
    from django.utils import timezone

    from ipledge.core.choices import OrganisationKind, Role
    from ipledge.core.scoping import scope_for
    from ipledge.registry.models import ParkMembership, _bank_customer_q

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Q()
    scope = scope_for(user)
    if scope is None or scope.organisation_id is None:
        return None
    if scope.kind == OrganisationKind.ENTERPRISE:
        return Q(organisation_id=scope.organisation_id)
    if scope.kind == OrganisationKind.PARK_ADMIN and scope.role in (Role.ADMIN, Role.OPERATOR):
        today = timezone.localdate()
        current = ParkMembership.objects.filter(
            Q(left_on__isnull=True) | Q(left_on__gte=today),
            joined_on__lte=today,
            park__administering_org__tree_path__startswith=scope.org_tree_path,
        ).values("enterprise_id")
        return Q(pk__in=current)
    if scope.kind == OrganisationKind.BANK:
        return _bank_customer_q(scope)
    return None


def _full_view_ids(user: Any) -> frozenset[int] | None:
    """The ids, computed once per user object (one request); None means every enterprise (superusers)."""
    cached: frozenset[int] | None | bool = getattr(user, _CACHE_ATTR, False)
    if cached is not False:
        assert cached is None or isinstance(cached, frozenset)
        return cached
    from ipledge.registry.models import Enterprise

    q = full_view_q(user)
    ids: frozenset[int] | None
    if q is None:
        ids = frozenset()
    elif not q.children:
        ids = None
    else:
        ids = frozenset(Enterprise.objects.filter(q).values_list("pk", flat=True))
    if user is not None:
        setattr(user, _CACHE_ATTR, ids)
    return ids


def sees_personal_data(user: Any, enterprise: Any) -> bool:
    """Whether ``user`` sees this enterprise's ID number and phone in full."""
    if enterprise is None or getattr(enterprise, "pk", None) is None:
        return False
    ids = _full_view_ids(user)
    return ids is None or enterprise.pk in ids


def personal_data(user: Any, enterprise: Any) -> dict[str, Any]:
    """The enterprise's personal fields as this user may see them, and whether they are masked."""
    full = sees_personal_data(user, enterprise)
    id_number = enterprise.legal_representative_id_number or ""
    phone = enterprise.contact_phone or ""
    return {
        "legal_representative": enterprise.legal_representative or "",
        "legal_representative_id_number": id_number if full else mask_id_number(id_number),
        "contact_phone": phone if full else mask_phone(phone),
        "personal_data_masked": not full and bool(id_number or phone),
    }
