"""Deterministic synthetic data at the architecture page's scales (`ipledge seed`, benchmarks and tests).

Scales (``SCALES``): ``tiny`` (tests), ``demo`` (2 provinces, 6 parks, 4 banks, 2,000 enterprises, 10,000 IP
rights), ``province`` (Jiangsu: 60 parks, 40 banks, 50,000 enterprises, 500,000 rights) and ``national`` (31
provinces, 400 parks, 200 banks, 500,000 enterprises, 5,000,000 rights). Pledges and loans are not modelled yet.

Everything is drawn from ``random.Random`` streams seeded from ``seed`` (one stream per concern: organisations,
rights per enterprise, enterprises, rights, numbers): the same seed, scale and batch size give the same
organisations, users, USCCs, numbers and values in every run. Dates are relative to the fixed ``SEED_AS_OF``, not
to today, so that legal statuses do not drift with the calendar.

How rows are written, and why
-----------------------------
* Organisations, users and parks (at most a few thousand) go through the services (`organisation_create`,
  `user_create`, `park_create`), so each has its own audit event like any other.
* Enterprises, park memberships, IP rights and their owners are written with ``bulk_create`` in batches of
  ``batch_size`` (5,000 by default). Per-row services would take hours at national scale. The audit trail is kept
  at batch level: each batch writes one ``AuditEvent`` (action ``seed.bulk_create``) in the same transaction, with
  the model, the count, the first and last id, the scale and the seed. Each chunk of enterprises with its rights is
  one transaction, so an interrupted seed leaves whole chunks.
* Row history (django-simple-history) is written for the bulk rows at the ``tiny`` and ``demo`` scales
  (``bulk_create_with_history``), so the demo's history pages are populated. At ``province`` and ``national`` scale
  it is skipped: it doubles every insert (time and disk) and a synthetic row's creation record says nothing that the
  batch audit event does not. Later changes to those rows are recorded as usual.
* Derived fields are computed by the same code the services use: the registration region through
  `services.region_for_uscc` (cached per 6-digit division code, since it only depends on it) and the size class
  through `rules.size_class` with the same inputs as `services._derive_enterprise`; patent type, term end and
  validity start through `services._derive_ip_right` itself. `tests/registry/test_seed.py` checks seeded rows
  against the service helpers.
* Every seeded user gets the documented demo password ``DEMO_PASSWORD``: it is hashed once and the same hash is
  stored for all of them (one audit event ``seed.demo_password``). Never seed a production database.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history
from stdnum.cn import ric

from ipledge.core.audit import record_event
from ipledge.core.choices import AdminLevel, BankTier, OrganisationKind, Role
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.regions import DATA_DIR
from ipledge.core.services import organisation_create, user_create
from ipledge.core.synthetic import make_patent_number, make_uscc

from .choices import CopyrightWorkKind, IPKind, LegalStatus, ParkKind, ParkLevel
from .models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership
from .rules import size_class
from .services import _derive_ip_right, park_create, region_for_uscc

__all__ = ["DEMO_PASSWORD", "SCALES", "SEED_AS_OF", "Scale", "SeedReport", "demo_login_rows", "seed_database"]

DEMO_PASSWORD = "ipledge-demo-2026"
SEED_AS_OF = datetime.date(2026, 1, 1)
FIRST_FILING_YEAR, LAST_FILING_YEAR = 2005, 2025


@dataclass(frozen=True)
class Scale:
    name: str
    provinces: tuple[str, ...]  # 2-digit province codes
    parks: int
    banks: int  # head offices; each also gets a branch and a 科技支行
    enterprises: int
    ip_rights: int
    enterprise_logins: int
    city_offices_per_province: int
    history: bool


ALL_PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
                 "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")  # fmt: skip

SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", ("11", "32"), 4, 2, 50, 250, 2, 1, True),
    "demo": Scale("demo", ("11", "32"), 6, 4, 2_000, 10_000, 4, 2, True),
    "province": Scale("province", ("32",), 60, 40, 50_000, 500_000, 6, 3, False),
    "national": Scale("national", ALL_PROVINCES, 400, 200, 500_000, 5_000_000, 31, 1, False),
}

# Rough share of enterprises (and parks) by province for the national scale.
PROVINCE_WEIGHTS = {
    "11": 6, "12": 2.5, "13": 3.5, "14": 1.5, "15": 1, "21": 2.5, "22": 1, "23": 1, "31": 6, "32": 11, "33": 10,
    "34": 4, "35": 4, "36": 2.5, "37": 7, "41": 4, "42": 4, "43": 3, "44": 12, "45": 1.5, "46": 0.6, "50": 2.5,
    "51": 4, "52": 1.2, "53": 1.2, "54": 0.2, "61": 2.5, "62": 0.7, "63": 0.3, "64": 0.4, "65": 0.8,
}  # fmt: skip
PROVINCE_ABBR = {
    "11": "bj", "12": "tj", "13": "he", "14": "sx", "15": "nm", "21": "ln", "22": "jl", "23": "hl", "31": "sh",
    "32": "js", "33": "zj", "34": "ah", "35": "fj", "36": "jx", "37": "sd", "41": "ha", "42": "hb", "43": "hn",
    "44": "gd", "45": "gx", "46": "hi", "50": "cq", "51": "sc", "52": "gz", "53": "yn", "54": "xz", "61": "sn",
    "62": "gs", "63": "qh", "64": "nx", "65": "xj",
}  # fmt: skip

# Real parks that the NBS zone list does not carry (it has no Beijing entries), placed in their districts.
CURATED_PARKS: dict[str, list[tuple[str, str, str]]] = {
    "11": [
        ("中关村科技园区海淀园", "110108", ParkKind.HITECH), ("北京经济技术开发区", "110115", ParkKind.ETDZ),
        ("中关村科技园区昌平园", "110114", ParkKind.HITECH), ("中关村科技园区丰台园", "110106", ParkKind.HITECH),
        ("中关村科技园区朝阳园", "110105", ParkKind.HITECH), ("中关村科技园区顺义园", "110113", ParkKind.HITECH),
        ("中关村科技园区通州园", "110112", ParkKind.HITECH),
    ],
    "32": [
        ("南京高新技术产业开发区", "320111", ParkKind.HITECH), ("苏州高新技术产业开发区", "320505", ParkKind.HITECH),
        ("无锡高新技术产业开发区", "320214", ParkKind.HITECH), ("常州高新技术产业开发区", "320411", ParkKind.HITECH),
        ("南京江宁经济技术开发区", "320115", ParkKind.ETDZ), ("昆山经济技术开发区", "320583", ParkKind.ETDZ),
        ("江阴高新技术产业开发区", "320281", ParkKind.HITECH), ("南京经济技术开发区", "320113", ParkKind.ETDZ),
        ("武进国家高新技术产业开发区", "320412", ParkKind.HITECH),
    ],
}  # fmt: skip

NATIONAL_BANKS: list[tuple[str, str]] = [
    ("中国工商银行", "110102"), ("中国建设银行", "110102"), ("中国农业银行", "110101"), ("中国银行", "110102"),
    ("交通银行", "310115"), ("中国邮政储蓄银行", "110102"), ("招商银行", "440304"), ("上海浦东发展银行", "310101"),
    ("中信银行", "110101"), ("中国光大银行", "110102"), ("华夏银行", "110101"), ("中国民生银行", "110102"),
    ("广发银行", "440104"), ("兴业银行", "350102"), ("平安银行", "440304"), ("浙商银行", "330106"),
    ("恒丰银行", "370102"), ("渤海银行", "120101"),
]  # fmt: skip
REGIONAL_BANKS: dict[str, list[tuple[str, str]]] = {
    "11": [("北京银行", "110102"), ("北京农村商业银行", "110102")],
    "12": [("天津银行", "120103")], "13": [("河北银行", "130102")],
    "31": [("上海银行", "310115"), ("上海农村商业银行", "310115")],
    "32": [("江苏银行", "320102"), ("南京银行", "320102"), ("苏州银行", "320508"), ("江苏江南农村商业银行", "320412"),
           ("无锡农村商业银行", "320213"), ("常熟农村商业银行", "320581"), ("张家港农村商业银行", "320582"),
           ("紫金农村商业银行", "320105")],
    "33": [("杭州银行", "330106"), ("宁波银行", "330212"), ("浙江稠州商业银行", "330782")],
    "34": [("徽商银行", "340104")], "35": [("厦门国际银行", "350203")], "37": [("齐鲁银行", "370102")],
    "41": [("中原银行", "410105")], "42": [("汉口银行", "420102")], "43": [("长沙银行", "430102")],
    "44": [("广州银行", "440104"), ("东莞银行", "441900")], "50": [("重庆银行", "500103")],
    "51": [("成都银行", "510104")], "61": [("西安银行", "610103")],
}  # fmt: skip

UNIVERSITIES: dict[str, list[str]] = {
    "11": ["清华大学", "北京大学", "北京航空航天大学", "中国科学院微电子研究所", "北京理工大学"],
    "32": ["南京大学", "东南大学", "苏州大学", "江南大学", "南京理工大学", "河海大学", "南京航空航天大学"],
}
ENTERPRISE_CHARS = "智芯华创联瑞恒博新天信达泰源晶微光电海云数安锐卓越航凯宏图星科普润德诚睿鼎盛美嘉祥和骏腾"
INDUSTRY_WORDS: dict[str, list[str]] = {
    "C": ["精密机械", "新材料", "电子", "智能装备", "医疗器械", "新能源", "生物医药", "光电", "半导体", "汽车零部件",
          "化工", "仪器仪表"],
    "I": ["软件", "信息技术", "网络科技", "数据科技", "智能科技", "云计算"],
    "M": ["检测技术", "生物技术", "技术研究院", "工程技术", "环境科技", "科技服务"],
    "*": ["科技", "实业", "贸易", "发展", "服务"],
}  # fmt: skip
IPC_BY_SECTION: dict[str, list[str]] = {
    "C": ["B23K", "B25J", "F16H", "H01M", "H02J", "G01N", "C08L", "C08K", "B29C", "A61K", "A61B", "C12N", "H01L",
          "G01R", "B65G", "F24F", "C22C", "B22F", "H05K", "B60L"],
    "I": ["G06F", "G06Q", "H04L", "G06N", "G06T", "H04W", "G06V", "G16H"],
    "M": ["G01N", "C12N", "A61K", "G06F", "G01M", "C07D", "B01J", "G01S"],
    "*": ["G06Q", "E04B", "A01G", "B09B", "C02F", "G08G", "F24S"],
}  # fmt: skip
PATENT_PREFIXES = ["基于深度学习的", "高精度", "低功耗", "智能", "多通道", "自适应", "柔性", "高强度", "可降解", "模块化",
                   "分布式", "高效", "耐高温", "轻量化", "无线"]  # fmt: skip
PATENT_OBJECTS: dict[str, list[str]] = {
    "C": ["电池隔膜", "伺服电机", "减速器", "焊接机器人", "传感器", "复合材料", "注塑模具", "散热装置", "密封结构",
          "检测设备", "换热器", "光学镜头", "电路板", "轴承", "阀门"],
    "I": ["数据处理装置", "图像识别系统", "任务调度系统", "加密通信装置", "推荐系统", "存储系统", "边缘计算装置",
          "语音交互终端"],
    "M": ["检测装置", "试剂盒", "催化剂", "培养基", "分析装置", "测量系统", "标定装置"],
    "*": ["施工装置", "灌溉设备", "净水装置", "垃圾分选设备", "交通信号装置"],
}  # fmt: skip
INVENTION_SUFFIXES = ["", "", "及其制备方法", "及其控制方法", "的制造工艺", "及其检测方法"]
DESIGN_PRODUCTS = ["智能手表", "包装盒", "控制面板", "电动工具", "灯具", "传感器外壳", "显示器", "座椅", "服务机器人"]
DESIGN_VARIANTS = ["A型", "B型", "Pro", "Mini", "（一）", "（二）", "2023款", "旗舰款"]
SOFTWARE_NAMES = ["设备管理系统", "数据分析平台", "生产执行系统", "智能巡检软件", "客户关系管理系统", "质量追溯系统",
                  "能耗监测平台", "移动办公App"]  # fmt: skip
IC_NAMES = ["电源管理芯片", "MCU芯片", "驱动芯片", "射频前端芯片", "图像传感芯片"]
NICE_BY_SECTION = {"C": [7, 9, 11, 12, 1, 5, 10], "I": [9, 42, 35, 38], "M": [42, 1, 5, 44], "*": [35, 37, 39, 42, 31]}

# GB/T 4754-2017 sections with their weight among park enterprises and divisions (weighted).
SECTION_WEIGHTS = [("C", 55), ("I", 18), ("M", 12), ("F", 4), ("L", 3), ("E", 2), ("D", 1), ("G", 1), ("A", 1),
                   ("N", 1), ("K", 0.5), ("R", 0.5), ("Q", 0.5), ("O", 0.5)]  # fmt: skip
DIVISIONS: dict[str, list[tuple[str, float]]] = {
    "C": [("39", 18), ("38", 12), ("34", 10), ("35", 12), ("40", 6), ("27", 8), ("26", 8), ("36", 6), ("29", 5),
          ("33", 5), ("30", 3), ("17", 2)],
    "I": [("65", 80), ("64", 15), ("63", 5)], "M": [("73", 45), ("74", 30), ("75", 25)],
    "F": [("51", 60), ("52", 40)], "G": [("54", 40), ("58", 30), ("59", 20), ("60", 10)], "L": [("72", 100)],
    "E": [("48", 100)], "D": [("44", 100)], "A": [("01", 100)], "N": [("77", 100)], "K": [("7020", 60), ("7010", 40)],
    "R": [("87", 100)], "Q": [("84", 100)], "O": [("81", 100)],
}  # fmt: skip
REVENUE_PER_EMPLOYEE_WAN = {"C": 45, "I": 35, "M": 30, "F": 150, "G": 60, "K": 120, "D": 200, "E": 80}
KIND_MIX: dict[str, list[tuple[str, float]]] = {
    "C": [(IPKind.PATENT, 0.82), (IPKind.TRADEMARK, 0.12), (IPKind.COPYRIGHT, 0.05), (IPKind.IC_LAYOUT, 0.01)],
    "I": [(IPKind.PATENT, 0.50), (IPKind.TRADEMARK, 0.15), (IPKind.COPYRIGHT, 0.34), (IPKind.IC_LAYOUT, 0.01)],
    "M": [(IPKind.PATENT, 0.75), (IPKind.TRADEMARK, 0.10), (IPKind.COPYRIGHT, 0.14), (IPKind.IC_LAYOUT, 0.01)],
    "*": [(IPKind.PATENT, 0.55), (IPKind.TRADEMARK, 0.35), (IPKind.COPYRIGHT, 0.10)],
}  # fmt: skip
_GENERIC_CITY_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")


@dataclass
class SeedReport:
    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    logins: int = 0


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


class _Weighted:
    """Fast repeated weighted choice (cumulative weights + bisect)."""

    def __init__(self, items: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _w in items]
        self.cum = list(itertools.accumulate(w for _v, w in items))

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def _largest_remainder(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Integers proportional to weights that add up to total (each at least minimum when total allows)."""
    n = len(weights)
    if n == 0:
        return []
    floor_each = minimum if minimum * n <= total else 0
    rest = total - floor_each * n
    s = sum(weights) or 1.0
    raw = [rest * w / s for w in weights]
    parts = [int(r) for r in raw]
    for i in sorted(range(n), key=lambda i: (raw[i] - parts[i], -i), reverse=True)[: rest - sum(parts)]:
        parts[i] += 1
    return [p + floor_each for p in parts]


def _anniversary(start: datetime.date, years: int) -> datetime.date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return datetime.date(start.year + years, 3, 1)


def _random_date(rng: random.Random, year: int, *, not_after: datetime.date) -> datetime.date:
    day = datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
    return min(day, not_after)


def _province_short(name: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _place_short(name: str) -> str:
    for suffix in ("自治州", "自治县", "地区", "盟", "市", "区", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def _zone_rows() -> tuple[dict[str, str], ...]:
    with (DATA_DIR / "nbs_development_zone_units.csv").open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


class _Geography:
    """Regions of the seeded provinces, read once."""

    def __init__(self, provinces: Sequence[str]) -> None:
        zone_codes = {row["nbs_code"] for row in _zone_rows()}
        self.provinces: dict[str, Region] = {}
        self.cities: dict[str, list[Region]] = {}
        self.counties: dict[str, list[Region]] = {}  # by 2-digit province prefix, ordinary counties only
        self.counties_by_city: dict[str, list[Region]] = {}
        self.by_code: dict[str, Region] = {}
        for prefix in provinces:
            regions = list(Region.objects.filter(code__startswith=prefix).order_by("code"))
            for region in regions:
                self.by_code[region.code] = region
                if region.level == "province":
                    self.provinces[prefix] = region
                elif region.level == "city":
                    self.cities.setdefault(prefix, []).append(region)
                elif region.code not in zone_codes and not any(w in region.name for w in ("开发区", "园区", "管理区")):
                    self.counties.setdefault(prefix, []).append(region)
                    self.counties_by_city.setdefault(region.code[:4], []).append(region)
            if prefix not in self.provinces:
                raise RuntimeError(f"region table has no province {prefix}0000: run `ipledge migrate` first")

    def province_name(self, prefix: str) -> str:
        return self.provinces[prefix].name

    def city_name(self, city: Region) -> str:
        if city.name in _GENERIC_CITY_NAMES:
            return self.province_name(city.code[:2])
        return city.name

    def capital(self, prefix: str) -> Region:
        """The provincial capital (the first city by code), or the province itself for the municipalities."""
        city = self.cities[prefix][0]
        return self.provinces[prefix] if city.name in _GENERIC_CITY_NAMES else city


# ---------------------------------------------------------------------------
# Organisations, users and parks (through the services)
# ---------------------------------------------------------------------------


@dataclass
class _ParkSpec:
    name: str
    region: Region
    kind: str
    level: str
    nbs_code: str = ""


@dataclass
class _Plan:
    scale: Scale
    seed: int
    geo: _Geography
    logins: list[tuple[str, Organisation, str]] = field(default_factory=list)  # username, org, role
    user_ids: list[int] = field(default_factory=list)
    parks: list[Park] = field(default_factory=list)
    parks_by_province: dict[str, list[Park]] = field(default_factory=dict)
    offices: dict[str, Organisation] = field(default_factory=dict)


def _add_org(
    plan: _Plan,
    key: str,
    *,
    name: str,
    kind: str,
    region: Region | None,
    parent: Organisation | None = None,
    admin_level: str = "",
    bank_tier: str = "",
    uscc: str = "",
) -> Organisation:
    org = organisation_create(
        name=name,
        kind=kind,
        acting_user=None,
        region=region,
        parent=parent,
        admin_level=admin_level,
        bank_tier=bank_tier,
        uscc=uscc,
    )
    for role in Role.values:
        username = f"{key}_{role}"
        user = user_create(
            username=username,
            organisation=org,
            role=role,
            password=None,
            acting_user=None,
            display_name=f"{name[:40]}{Role(role).label}",
        )
        plan.user_ids.append(user.pk)
        plan.logins.append((username, org, role))
    return org


def _park_candidates(prefix: str, geo: _Geography) -> list[_ParkSpec]:
    specs: list[_ParkSpec] = []
    for name, code, kind in CURATED_PARKS.get(prefix, []):
        if code in geo.by_code:
            specs.append(_ParkSpec(name, geo.by_code[code], kind, ParkLevel.NATIONAL))
    for row in _zone_rows():
        if row["province_code"] != prefix:
            continue
        region = geo.by_code.get(row["nbs_code"])
        if region is None and geo.counties_by_city.get(row["city_code"]):
            region = geo.counties_by_city[row["city_code"]][0]
        if region is not None:
            kind = row["zone_kind_guess"] if row["zone_kind_guess"] in ParkKind.values else ParkKind.OTHER
            specs.append(_ParkSpec(row["name"], region, kind, ParkLevel.NATIONAL, row["nbs_code"]))
    # Invented but plausible names: a provincial zone per city where no real zone of that kind is listed, then
    # county-level parks, in county-level cities and counties first (where 经济开发区 usually are).
    real = {(spec.region.code[:4], spec.kind) for spec in specs}
    real_here = {(spec.region.code, spec.kind) for spec in specs}
    for city in geo.cities.get(prefix, []):
        counties = geo.counties_by_city.get(city.code[:4], [])
        if not counties or city.name in _GENERIC_CITY_NAMES:
            continue
        if (city.code[:4], ParkKind.HITECH) not in real:
            specs.append(
                _ParkSpec(f"{city.name}高新技术产业开发区", counties[0], ParkKind.HITECH, ParkLevel.PROVINCIAL)
            )
        if (city.code[:4], ParkKind.ETDZ) not in real:
            specs.append(_ParkSpec(f"{city.name}经济开发区", counties[-1], ParkKind.ETDZ, ParkLevel.PROVINCIAL))
    counties = sorted(geo.counties.get(prefix, []), key=lambda c: (c.name.endswith("区"), c.code))
    for suffix, kind, level in (
        ("经济开发区", ParkKind.ETDZ, ParkLevel.PROVINCIAL),
        ("高新技术产业园", ParkKind.HITECH, ParkLevel.OTHER),
        ("科技产业园", ParkKind.OTHER, ParkLevel.OTHER),
    ):
        for county in counties:
            parent = geo.by_code.get(county.code[:4] + "00")
            city_short = _place_short(geo.city_name(parent)) if parent is not None else ""
            short = _place_short(county.name)
            place = short if county.name.endswith(("市", "县")) and len(short) >= 2 else f"{city_short}{short}"
            if (county.code, kind) not in real_here:
                specs.append(_ParkSpec(f"{place}{suffix}", county, kind, level))
    return specs


def _create_government(plan: _Plan) -> None:
    geo = plan.geo
    plan.offices["cnipa"] = _add_org(
        plan,
        "cnipa",
        name="国家知识产权局",
        kind=OrganisationKind.IP_OFFICE,
        region=None,
        admin_level=AdminLevel.NATIONAL,
    )
    _add_org(
        plan,
        "nfra",
        name="国家金融监督管理总局",
        kind=OrganisationKind.FINANCIAL_REGULATOR,
        region=None,
        admin_level=AdminLevel.NATIONAL,
    )
    _add_org(
        plan,
        "ndrc",
        name="国家发展和改革委员会",
        kind=OrganisationKind.DEVELOPMENT_REFORM,
        region=None,
        admin_level=AdminLevel.NATIONAL,
    )
    for prefix in plan.scale.provinces:
        abbr, province = PROVINCE_ABBR[prefix], geo.provinces[prefix]
        office = _add_org(
            plan,
            f"ipo_{abbr}",
            name=f"{province.name}知识产权局",
            kind=OrganisationKind.IP_OFFICE,
            region=province,
            admin_level=AdminLevel.PROVINCIAL,
        )
        plan.offices[prefix] = office
        _add_org(
            plan,
            f"reg_{abbr}",
            name=f"国家金融监督管理总局{_province_short(province.name)}监管局",
            kind=OrganisationKind.FINANCIAL_REGULATOR,
            region=province,
            admin_level=AdminLevel.PROVINCIAL,
        )
        _add_org(
            plan,
            f"ndrc_{abbr}",
            name=f"{province.name}发展和改革委员会",
            kind=OrganisationKind.DEVELOPMENT_REFORM,
            region=province,
            admin_level=AdminLevel.PROVINCIAL,
        )


def _create_local_offices(plan: _Plan) -> None:
    """City IP offices where the parks are (district offices in the municipalities)."""
    geo = plan.geo
    for prefix in plan.scale.provinces:
        abbr, province = PROVINCE_ABBR[prefix], geo.provinces[prefix]
        places: list[Region] = []
        for park in plan.parks_by_province.get(prefix, []):
            region = park.region
            city = geo.by_code.get(region.code[:4] + "00")
            place = region if city is None or city.name in _GENERIC_CITY_NAMES else city
            if place not in places:
                places.append(place)
        for city in geo.cities.get(prefix, []):
            if city not in places and city.name not in _GENERIC_CITY_NAMES:
                places.append(city)
        for n, place in enumerate(places[: plan.scale.city_offices_per_province], start=1):
            level = AdminLevel.MUNICIPAL if place.level == "city" else AdminLevel.COUNTY
            name = (
                f"{place.name}知识产权局" if level == AdminLevel.MUNICIPAL else f"{province.name}{place.name}知识产权局"
            )
            _add_org(
                plan,
                f"ipo_{abbr}_c{n}",
                name=name,
                kind=OrganisationKind.IP_OFFICE,
                region=place,
                parent=plan.offices[prefix],
                admin_level=level,
            )


def _create_parks(plan: _Plan, rng: random.Random) -> None:
    scale, geo = plan.scale, plan.geo
    weights = [PROVINCE_WEIGHTS[p] if len(scale.provinces) > 2 else 1.0 for p in scale.provinces]
    per_province = _largest_remainder(scale.parks, weights, minimum=3)
    used: set[str] = set()
    number = 0
    for prefix, count in zip(scale.provinces, per_province, strict=True):
        chosen: list[_ParkSpec] = []
        for spec in _park_candidates(prefix, geo):
            if len(chosen) == count:
                break
            if spec.name not in used:
                used.add(spec.name)
                chosen.append(spec)
        for i, spec in enumerate(chosen):
            number += 1
            admin = _add_org(
                plan,
                f"park_{number}",
                name=f"{spec.name}管理委员会",
                kind=OrganisationKind.PARK_ADMIN,
                region=spec.region,
            )
            park = park_create(
                name=spec.name,
                level=spec.level,
                kind=spec.kind,
                region=spec.region,
                administering_org=admin,
                is_key_park=i < 3,
                nbs_code=spec.nbs_code,
                acting_user=None,
            )
            plan.parks.append(park)
            plan.parks_by_province.setdefault(prefix, []).append(park)


def _create_banks(plan: _Plan, rng: random.Random) -> None:
    scale, geo = plan.scale, plan.geo
    n_national = min(len(NATIONAL_BANKS), math.ceil(scale.banks / 2))
    heads: list[tuple[str, str, str | None]] = [(n, c, None) for n, c in NATIONAL_BANKS[:n_national]]
    regional = {p: list(REGIONAL_BANKS.get(p, [])) for p in scale.provinces}
    for prefix in scale.provinces:  # invented rural commercial banks after the real ones
        for city in geo.cities.get(prefix, []):
            if city.name not in _GENERIC_CITY_NAMES and geo.counties_by_city.get(city.code[:4]):
                regional[prefix].append(
                    (f"{_place_short(city.name)}农村商业银行", geo.counties_by_city[city.code[:4]][0].code)
                )
    names = {n for n, _c, _p in heads}
    for prefix in itertools.cycle(scale.provinces):
        if len(heads) >= scale.banks or not any(regional.values()):
            break
        while regional[prefix]:
            name, code = regional[prefix].pop(0)
            if name not in names:
                names.add(name)
                heads.append((name, code, prefix))
                break
    all_parks = plan.parks
    for n, (name, code, home) in enumerate(heads, start=1):
        region = Region.objects.filter(code=code).first() or geo.provinces[scale.provinces[0]]
        head = _add_org(
            plan, f"bank_{n}", name=name, kind=OrganisationKind.BANK, region=region, bank_tier=BankTier.HEAD_OFFICE
        )
        prefix = home or scale.provinces[(n - 1) % len(scale.provinces)]
        parks_here = plan.parks_by_province.get(prefix) or all_parks
        park = parks_here[(n - 1) % len(parks_here)]
        if home is None:
            branch_name, branch_region = f"{name}{geo.province_name(prefix)}分行", geo.capital(prefix)
        else:
            city = geo.by_code.get(park.region.code[:4] + "00") or geo.capital(prefix)
            branch_name, branch_region = f"{name}{_place_short(geo.city_name(city))}分行", city
        branch = _add_org(
            plan,
            f"bank_{n}_br",
            name=branch_name,
            kind=OrganisationKind.BANK,
            region=branch_region,
            parent=head,
            bank_tier=BankTier.BRANCH,
        )
        park_city = geo.by_code.get(park.region.code[:4] + "00")
        place = (_place_short(geo.city_name(park_city)) if park_city is not None else "") + _place_short(
            park.region.name
        )
        _add_org(
            plan,
            f"bank_{n}_tech",
            name=f"{name}{place}科技支行",
            kind=OrganisationKind.BANK,
            region=park.region,
            parent=branch,
            bank_tier=BankTier.TECH_SUB_BRANCH,
        )


def _create_service_orgs(plan: _Plan) -> None:
    geo = plan.geo
    for prefix in plan.scale.provinces:
        abbr, province, capital = PROVINCE_ABBR[prefix], geo.provinces[prefix], geo.capital(prefix)
        short = _province_short(province.name)
        city_short = _place_short(geo.city_name(capital))
        specs = [
            ("insurer", f"中国人民财产保险股份有限公司{province.name}分公司", OrganisationKind.INSURER),
            ("guarantor", f"{province.name}科技融资担保有限公司", OrganisationKind.GUARANTOR),
            ("valuer", f"{short}华信资产评估有限公司", OrganisationKind.VALUER),
            ("fund", f"{province.name}知识产权质押融资风险补偿基金管理中心", OrganisationKind.FUND_MANAGER),
            ("exchange", f"{short}知识产权交易中心", OrganisationKind.DISPOSAL_PLATFORM),
            ("agency", f"{city_short}创智知识产权代理有限公司", OrganisationKind.PATENT_AGENCY),
        ]
        for key, name, kind in specs:
            _add_org(plan, f"{key}_{abbr}", name=name, kind=kind, region=capital)


# ---------------------------------------------------------------------------
# Enterprises and IP rights (bulk, audited per batch)
# ---------------------------------------------------------------------------


def _bulk(model: type[models.Model], objs: list[Any], *, plan: _Plan, batch_size: int) -> None:
    """Insert one batch (ids come back on SQLite ≥ 3.35 and PostgreSQL) and write its audit event."""
    if not objs:
        return
    size = min(batch_size, 2000)
    if plan.scale.history:
        bulk_create_with_history(objs, model, batch_size=size)
    else:
        model._default_manager.bulk_create(objs, batch_size=size)
    ids = [o.pk for o in objs]
    label = model._meta.label_lower
    record_event(
        acting_user=None,
        action="seed.bulk_create",
        object_type=label,
        object_id=f"{min(ids)}-{max(ids)}",
        object_repr=f"{len(objs)} × {model._meta.verbose_name}",
        extra={
            "model": label,
            "count": len(objs),
            "first_id": min(ids),
            "last_id": max(ids),
            "scale": plan.scale.name,
            "seed": plan.seed,
            "history": plan.scale.history,
        },
    )


_REGION_CACHE: dict[str, tuple[int | None, str]] = {}


def _region_for_division(uscc: str) -> tuple[int | None, str]:
    # services.region_for_uscc depends only on characters 3-8 of the USCC, so one lookup per division code.
    key = uscc[2:8]
    if key not in _REGION_CACHE:
        region = region_for_uscc(uscc)
        _REGION_CACHE[key] = (region.pk, region.code) if region is not None else (None, "")
    return _REGION_CACHE[key]


def derive_enterprise_fields(enterprise: Enterprise) -> None:
    """The derived fields `services._derive_enterprise` sets, without one region query per row."""
    region_id, region_code = _region_for_division(enterprise.uscc)
    enterprise.registration_region_id = region_id
    enterprise.region_code = region_code
    revenue_wan = enterprise.revenue.amount / 10000 if isinstance(enterprise.revenue, Money) else None
    assets_wan = enterprise.total_assets.amount / 10000 if isinstance(enterprise.total_assets, Money) else None
    result = size_class(
        industry_section=enterprise.industry_section,
        industry_division=enterprise.industry_division or None,
        employees=enterprise.employees,
        revenue_wan=revenue_wan,
        assets_wan=assets_wan,
    )
    enterprise.size_class = result.size or ""


# Fictional personal data for the demo (法定代表人、身份证号码、联系电话): derived from the enterprise's index alone
# (not from the seeded random streams, so every other generated value stays as it was), in valid formats with
# valid check digits. The county codes are ones python-stdnum's cn.ric accepts for every birth year used here.
SEED_ID_COUNTIES = ("110101", "110102", "310101", "120101")
SEED_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
SEED_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红"


_SEED_BIRTH_EPOCH = datetime.date(1965, 1, 1).toordinal()


@lru_cache(maxsize=12000)
def _birth_text(ordinal: int) -> str:
    return datetime.date.fromordinal(ordinal).strftime("%Y%m%d")


def seed_personal_data(i: int) -> dict[str, str]:
    """The legal representative's name, ID number and phone of the i-th seeded enterprise (deterministic)."""
    born = _SEED_BIRTH_EPOCH + (i * 7919) % 12000  # 1965 to 1997
    body = f"{SEED_ID_COUNTIES[i % len(SEED_ID_COUNTIES)]}{_birth_text(born)}{(i * 37) % 999 + 1:03d}"
    name = SEED_SURNAMES[i % len(SEED_SURNAMES)] + SEED_GIVEN[(i * 7) % len(SEED_GIVEN)]
    if i % 3:
        name += SEED_GIVEN[(i * 13 + 5) % len(SEED_GIVEN)]
    return {
        "legal_representative": name,
        "legal_representative_id_number": body + ric.calc_check_digit(body + "X"),
        "contact_phone": f"1{3 + i % 7}{(i * 104729 + 12345678) % 10**9:09d}",
    }


def _uscc_serial(i: int) -> int:
    # A bijection on 0..10^8-1 (48271 is coprime with 10^8): unique, but not visibly sequential.
    return (i * 48271 + 37_219_451) % 10**8


class _Numbers:
    """Unique registration numbers per kind, year and type, increasing with small random gaps like real ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next: dict[tuple[str, int, int], int] = {}

    def take(self, kind: str, year: int, sub: int, start: tuple[int, int], step: int) -> int:
        key = (kind, year, sub)
        if key not in self.next:
            self.next[key] = self.rng.randint(*start)
        value = self.next[key]
        self.next[key] = value + self.rng.randint(1, step)
        return value


@dataclass
class _EnterpriseDraft:
    index: int
    enterprise: Enterprise
    park: Park | None
    joined_on: datetime.date | None
    rights: int
    section: str
    brand: str
    province: str


class _Generator:
    def __init__(self, plan: _Plan, as_of: datetime.date) -> None:
        self.plan = plan
        self.as_of = as_of
        seed = plan.seed
        self.rng_weights = random.Random(f"{seed}:weights")
        self.rng_ent = random.Random(f"{seed}:enterprises")
        self.rng_ip = random.Random(f"{seed}:rights")
        self.numbers = _Numbers(random.Random(f"{seed}:numbers"))
        scale = plan.scale
        provinces = scale.provinces
        weights = [PROVINCE_WEIGHTS[p] if len(provinces) > 2 else 1.0 for p in provinces]
        self.province_pick = _Weighted(list(zip(provinces, weights, strict=True)))
        self.park_pick = {
            p: _Weighted([(park, 1 / (rank + 1) ** 0.7) for rank, park in enumerate(parks)])
            for p, parks in plan.parks_by_province.items()
        }
        self.section_pick = _Weighted(SECTION_WEIGHTS)
        self.division_pick = {s: _Weighted(d) for s, d in DIVISIONS.items()}
        self.year_pick = _Weighted(
            [(y, 1.13 ** (y - FIRST_FILING_YEAR)) for y in range(FIRST_FILING_YEAR, LAST_FILING_YEAR + 1)]
        )
        self.kind_pick = {s: _Weighted(m) for s, m in KIND_MIX.items()}
        self.patent_type_pick = _Weighted([(1, 0.34), (8, 0.01), (2, 0.50), (3, 0.15)])
        self.employees, self.counts = self._size_and_rights()

    def _size_and_rights(self) -> tuple[list[int], list[int]]:
        """Pass 1: employees (the size driver) and the heavy-tailed number of rights of every enterprise."""
        scale, rng = self.plan.scale, self.rng_weights
        employees = [max(1, round(rng.lognormvariate(math.log(18), 1.1))) for _ in range(scale.enterprises)]
        weights = [rng.lognormvariate(0, 1.3) * e**0.35 for e in employees]
        if weights:  # heavy tail, but "some hundreds" at most rather than thousands
            cap = 200 * sorted(weights)[len(weights) // 2]
            weights = [min(w, cap) for w in weights]
        if scale.enterprise_logins and weights:
            high = sorted(weights)[int(len(weights) * 0.9)]
            for i in range(min(scale.enterprise_logins, len(weights))):
                weights[i] = max(weights[i], high)
        return employees, _largest_remainder(scale.ip_rights, weights)

    # Enterprises

    def enterprise(self, i: int) -> _EnterpriseDraft:
        rng, plan, geo = self.rng_ent, self.plan, self.plan.geo
        park: Park | None
        if i < plan.scale.enterprise_logins and plan.parks:
            park = plan.parks[(i * len(plan.parks)) // plan.scale.enterprise_logins]
            province = park.region.code[:2]
        else:
            province = self.province_pick.pick(rng)
            in_park = rng.random() < 0.8 and province in self.park_pick
            park = self.park_pick[province].pick(rng) if in_park else None
        if park is not None and rng.random() < 0.65:
            region_code = park.region.code
        elif park is not None and geo.counties_by_city.get(park.region.code[:4]):
            region_code = rng.choice(geo.counties_by_city[park.region.code[:4]]).code
        else:
            region_code = rng.choice(geo.counties[province]).code
        section = self.section_pick.pick(rng)
        division = self.division_pick[section].pick(rng) if section in self.division_pick else ""
        employees = self.employees[i]
        rpe = REVENUE_PER_EMPLOYEE_WAN.get(section, 30) * rng.lognormvariate(0, 0.7)
        revenue = None if rng.random() < 0.03 else Money(int(employees * rpe * 10000))
        assets = None if rng.random() < 0.10 else Money(int(employees * rpe * 10000 * rng.lognormvariate(0.2, 0.5)))
        est_year = max(1990, min(2024, 2024 - int(rng.expovariate(1 / 8))))
        established = _random_date(rng, est_year, not_after=self.as_of)
        tech = section in ("C", "I", "M")
        city = geo.by_code.get(region_code[:4] + "00")
        city_short = (
            _place_short(geo.city_name(city)) if city is not None else _province_short(geo.province_name(province))
        )
        brand = "".join(rng.sample(ENTERPRISE_CHARS, 2))
        word = rng.choice(INDUSTRY_WORDS.get(section, INDUSTRY_WORDS["*"]))
        suffix = rng.choices(["有限公司", "股份有限公司", "有限责任公司"], weights=[85, 10, 5])[0]
        enterprise = Enterprise(  # type: ignore[misc]  # MoneyField takes Money; the stubs expect an integer field
            uscc=make_uscc(region_code=region_code, serial=_uscc_serial(i)),
            name=f"{city_short}{brand}{word}{suffix}",
            industry_section=section,
            industry_division=division,
            established_on=established,
            employees=employees,
            revenue=revenue,
            total_assets=assets,
            is_high_tech=rng.random() < ((0.30 if employees >= 10 else 0.10) if tech else 0.03),
            is_specialised=rng.random() < (0.10 if tech and employees >= 20 else 0.02),
            **seed_personal_data(i),
        )
        derive_enterprise_fields(enterprise)
        joined = None
        if park is not None:
            start = max(established, datetime.date(2010, 1, 1))
            joined = start + datetime.timedelta(days=rng.randrange(max(1, (self.as_of - start).days)))
        return _EnterpriseDraft(i, enterprise, park, joined, self.counts[i], section, brand, province)

    # IP rights

    def rights(self, draft: _EnterpriseDraft, chunk: list[_EnterpriseDraft]) -> Iterator[tuple[IPRight, list[dict]]]:
        rng = self.rng_ip
        section = draft.section if draft.section in KIND_MIX else "*"
        first_year = max(
            FIRST_FILING_YEAR,
            draft.enterprise.established_on.year if draft.enterprise.established_on else FIRST_FILING_YEAR,
        )
        for _n in range(draft.rights):
            kind = self.kind_pick[section].pick(rng)
            year = self.year_pick.pick(rng)
            if year < first_year:
                year = rng.randint(first_year, LAST_FILING_YEAR)
            filing = _random_date(rng, year, not_after=self.as_of - datetime.timedelta(days=1))
            if draft.enterprise.established_on and filing < draft.enterprise.established_on:
                filing = draft.enterprise.established_on
            if kind == IPKind.PATENT:
                right = self._patent(draft, section, filing)
            elif kind == IPKind.TRADEMARK:
                right = self._trademark(draft, section, filing)
            elif kind == IPKind.COPYRIGHT:
                right = self._copyright(draft, filing)
            else:
                right = self._ic_layout(draft, filing)
            yield right, self._owners(draft, right, chunk)

    def _owners(self, draft: _EnterpriseDraft, right: IPRight, chunk: list[_EnterpriseDraft]) -> list[dict]:
        rng = self.rng_ip
        if right.kind != IPKind.PATENT or rng.random() >= 0.05:
            return [{"enterprise": draft.enterprise, "share": Decimal(100)}]
        own = rng.choice([Decimal(50), Decimal(60), Decimal(70)])
        others = [d for d in chunk if d is not draft]
        if others and rng.random() < 0.6:
            return [
                {"enterprise": draft.enterprise, "share": own},
                {"enterprise": rng.choice(others).enterprise, "share": 100 - own},
            ]
        names = UNIVERSITIES.get(draft.province) or [
            f"{_province_short(self.plan.geo.province_name(draft.province))}{w}"
            for w in ("大学", "科技大学", "理工大学")
        ]
        return [{"enterprise": draft.enterprise, "share": own}, {"holder_name": rng.choice(names), "share": 100 - own}]

    def _patent(self, draft: _EnterpriseDraft, section: str, filing: datetime.date) -> IPRight:
        rng, as_of = self.rng_ip, self.as_of
        type_digit = self.patent_type_pick.pick(rng)
        serial = self.numbers.take("patent", filing.year, type_digit, (100_000, 600_000), 6)
        number = make_patent_number(year=filing.year, type_digit=type_digit, serial=serial)
        objects = PATENT_OBJECTS.get(section, PATENT_OBJECTS["*"])
        if type_digit in (1, 8):
            title = f"一种{rng.choice(PATENT_PREFIXES)}{rng.choice(objects)}{rng.choice(INVENTION_SUFFIXES)}"
            granted = rng.random() < 0.55
            grant = filing + datetime.timedelta(days=rng.randint(450, 1460)) if granted else None
        elif type_digit in (2, 9):
            title = f"一种{rng.choice(PATENT_PREFIXES)}{rng.choice(objects)}"
            grant = filing + datetime.timedelta(days=rng.randint(120, 420)) if rng.random() < 0.95 else None
        else:
            title = f"{rng.choice(DESIGN_PRODUCTS)}（{rng.choice(DESIGN_VARIANTS)}）"
            grant = filing + datetime.timedelta(days=rng.randint(90, 300)) if rng.random() < 0.97 else None
        right = IPRight(kind=IPKind.PATENT, number=number, title=title[:255], filing_date=filing)
        age = (as_of - filing).days / 365.25
        if grant is not None and grant > as_of:
            grant = None
            right.legal_status = LegalStatus.PENDING
        elif grant is None:
            decided = filing + datetime.timedelta(days=4 * 365 if type_digit in (1, 8) else 420)
            right.legal_status = LegalStatus.PENDING if decided > as_of else LegalStatus.ABANDONED
        right.grant_date = grant
        _derive_ip_right(right)  # patent type, term end, valid from: exactly as the services compute them
        design = type_digit == 3
        if grant is not None:
            assert right.term_end is not None
            if right.term_end < as_of:
                right.legal_status = LegalStatus.EXPIRED
                right.annual_fee_paid_until = right.term_end
            elif rng.random() < min(0.7, (0.025 if type_digit in (1, 8) else 0.04) * age):
                right.legal_status = LegalStatus.LAPSED
                lapse_year = rng.randint(min(grant.year + 1, as_of.year), as_of.year)
                paid = _anniversary(filing, lapse_year - filing.year) - datetime.timedelta(days=1)
                right.annual_fee_paid_until = min(paid, as_of - datetime.timedelta(days=1))
            elif rng.random() < 0.005:
                right.legal_status = LegalStatus.INVALIDATED
            else:
                right.legal_status = LegalStatus.VALID
                years = as_of.year - filing.year + (1 if _anniversary(filing, as_of.year - filing.year) <= as_of else 0)
                right.annual_fee_paid_until = min(
                    _anniversary(filing, years) - datetime.timedelta(days=1), right.term_end
                )
        if not design:
            right.main_ipc = self._ipc(section)
            median_claims = 9 if type_digit in (1, 8) else 7
            right.claims_count = max(1, min(80, round(rng.lognormvariate(math.log(median_claims), 0.45))))
            right.backward_citations = max(
                0, round(rng.lognormvariate(math.log(6 if type_digit in (1, 8) else 3), 0.7))
            )
            right.family_size = 1 + (
                int(rng.expovariate(0.6)) + 1 if type_digit in (1, 8) and rng.random() < 0.15 else 0
            )
        else:
            right.backward_citations = 0
            right.family_size = 1
        # Most patents are cited little and a few a lot; older ones have had longer to be cited.
        right.forward_citations = int(rng.lognormvariate(-0.8, 1.5) * min(1.5, 0.2 + age / 8))
        return right

    def _ipc(self, section: str) -> str:
        rng = self.rng_ip
        sub = rng.choice(IPC_BY_SECTION.get(section, IPC_BY_SECTION["*"]))
        return f"{sub}{rng.randint(1, 99)}/{rng.choice([0, rng.randint(1, 99)]):02d}"

    def _trademark(self, draft: _EnterpriseDraft, section: str, filing: datetime.date) -> IPRight:
        rng, as_of = self.rng_ip, self.as_of
        number = str(self.numbers.take("trademark", 0, 0, (10_000_000, 12_000_000), 40))
        title = draft.brand + rng.choice(["", "", "科技", "智造", "优选"])
        classes = sorted(
            set(rng.sample(NICE_BY_SECTION.get(section, NICE_BY_SECTION["*"]), rng.choice([1, 1, 1, 2, 3])))
        )
        right = IPRight(kind=IPKind.TRADEMARK, number=number, title=title, filing_date=filing, nice_classes=classes)
        grant = filing + datetime.timedelta(days=rng.randint(210, 460))
        if grant > as_of:
            right.legal_status = LegalStatus.PENDING
            return right
        right.grant_date = right.valid_from = grant
        renewals = 0
        term_end = _anniversary(grant, 10) - datetime.timedelta(days=1)
        status = LegalStatus.VALID
        while term_end < as_of:
            if rng.random() < 0.75:
                renewals += 1
                term_end = _anniversary(grant, 10 * (renewals + 1)) - datetime.timedelta(days=1)
            else:
                status = LegalStatus.EXPIRED
                break
        if status == LegalStatus.VALID and rng.random() < 0.03:
            status = LegalStatus.REVOKED
        right.term_end, right.renewal_count, right.legal_status = term_end, renewals, status
        return right

    def _copyright(self, draft: _EnterpriseDraft, filing: datetime.date) -> IPRight:
        rng, as_of = self.rng_ip, self.as_of
        created = filing - datetime.timedelta(days=rng.randint(20, 400))
        published = min(filing, created + datetime.timedelta(days=rng.randint(0, 120))) if rng.random() < 0.8 else None
        registered = min(filing + datetime.timedelta(days=rng.randint(20, 90)), as_of - datetime.timedelta(days=1))
        if rng.random() < 0.85:
            serial = self.numbers.take("software", registered.year, 0, (100_000, 900_000), 30)
            number = f"{registered.year}SR{serial:07d}"
            title = f"{draft.brand}{rng.choice(SOFTWARE_NAMES)}V{rng.randint(1, 5)}.{rng.randint(0, 9)}"
            work_kind = CopyrightWorkKind.SOFTWARE
        else:
            category = rng.choice("AFIL")
            serial = self.numbers.take("work", registered.year, ord(category), (100_000, 2_000_000), 30)
            number = f"国作登字-{registered.year}-{category}-{serial:08d}"
            title = f"{draft.brand}{rng.choice(['标志', '产品手册', '宣传画册', '吉祥物形象'])}"
            work_kind = CopyrightWorkKind.WORK
        end_base = (published or created).year + 50  # works of legal persons: 50 years after first publication
        return IPRight(
            kind=IPKind.COPYRIGHT,
            number=number,
            title=title,
            filing_date=filing,
            grant_date=registered,
            valid_from=created,
            term_end=datetime.date(end_base, 12, 31),
            work_kind=work_kind,
            created_on=created,
            first_published_on=published,
            legal_status=LegalStatus.VALID,
        )

    def _ic_layout(self, draft: _EnterpriseDraft, filing: datetime.date) -> IPRight:
        rng, as_of = self.rng_ip, self.as_of
        serial = self.numbers.take("ic", filing.year, 0, (1_000, 50_000), 5)
        number = f"BS.{filing.year % 100:02d}5{serial:06d}"
        registered = min(filing + datetime.timedelta(days=rng.randint(90, 240)), as_of - datetime.timedelta(days=1))
        created = filing - datetime.timedelta(days=rng.randint(30, 300))
        term_end = _anniversary(filing, 10) - datetime.timedelta(days=1)
        return IPRight(
            kind=IPKind.IC_LAYOUT,
            number=number,
            title=f"{draft.brand}{rng.choice(IC_NAMES)}",
            filing_date=filing,
            grant_date=registered,
            valid_from=filing,
            term_end=term_end,
            created_on=created,
            legal_status=LegalStatus.EXPIRED if term_end < as_of else LegalStatus.VALID,
        )


def _write_chunk(plan: _Plan, gen: _Generator, indexes: range, batch_size: int, counts: dict[str, int]) -> None:
    drafts = [gen.enterprise(i) for i in indexes]
    for draft in drafts:
        if draft.index < plan.scale.enterprise_logins:
            e = draft.enterprise
            region = plan.geo.by_code.get(e.region_code)
            e.organisation = _add_org(
                plan,
                f"ent_{draft.index + 1}",
                name=e.name,
                kind=OrganisationKind.ENTERPRISE,
                region=region,
                uscc=e.uscc,
            )
    _bulk(Enterprise, [d.enterprise for d in drafts], plan=plan, batch_size=batch_size)
    counts["enterprises"] += len(drafts)
    memberships = [
        ParkMembership(park=d.park, enterprise=d.enterprise, joined_on=d.joined_on)
        for d in drafts
        if d.park is not None and d.joined_on is not None
    ]
    _bulk(ParkMembership, memberships, plan=plan, batch_size=batch_size)
    counts["park_memberships"] += len(memberships)

    pending: list[tuple[IPRight, list[dict]]] = []

    def flush() -> None:
        rights = [r for r, _o in pending]
        _bulk(IPRight, rights, plan=plan, batch_size=batch_size)
        owners = [
            IPRightOwner(
                right=r, enterprise=o.get("enterprise"), holder_name=o.get("holder_name", ""), share=o["share"]
            )
            for r, owner_list in pending
            for o in owner_list
        ]
        _bulk(IPRightOwner, owners, plan=plan, batch_size=batch_size)
        counts["ip_rights"] += len(rights)
        counts["ip_right_owners"] += len(owners)
        pending.clear()

    for draft in drafts:
        for item in gen.rights(draft, drafts):
            pending.append(item)
            if len(pending) >= batch_size:
                flush()
    flush()


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def resolve_scale(scale: str | Scale, **overrides: Any) -> Scale:
    base = SCALES[scale] if isinstance(scale, str) else scale
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def seed_database(
    *,
    scale: str | Scale = "demo",
    seed: int = 42,
    batch_size: int = 5000,
    as_of: datetime.date = SEED_AS_OF,
    log: Callable[[str], None] | None = None,
    **overrides: Any,
) -> SeedReport:
    """Fill an empty registry with synthetic data at one of the `SCALES` (overrides: any `Scale` field)."""
    started = time.perf_counter()
    chosen = resolve_scale(scale, **overrides)
    say = log or (lambda _msg: None)
    report = SeedReport(scale=chosen.name, seed=seed)
    counts = dict.fromkeys(
        ("organisations", "users", "parks", "enterprises", "park_memberships", "ip_rights", "ip_right_owners"), 0
    )
    _REGION_CACHE.clear()
    plan = _Plan(scale=chosen, seed=seed, geo=_Geography(chosen.provinces))
    rng_orgs = random.Random(f"{seed}:organisations")
    with transaction.atomic():
        _create_government(plan)
        _create_parks(plan, rng_orgs)
        _create_local_offices(plan)
        _create_banks(plan, rng_orgs)
        _create_service_orgs(plan)
    say(
        f"organisations and parks: {len(plan.logins) // 4} organisations, {len(plan.parks)} parks "
        f"({time.perf_counter() - started:.1f}s)"
    )

    gen = _Generator(plan, as_of)
    for start in range(0, chosen.enterprises, batch_size):
        with transaction.atomic():
            _write_chunk(plan, gen, range(start, min(start + batch_size, chosen.enterprises)), batch_size, counts)
        say(
            f"enterprises {counts['enterprises']:,}/{chosen.enterprises:,}, IP rights {counts['ip_rights']:,} "
            f"({time.perf_counter() - started:.1f}s)"
        )

    with transaction.atomic():
        password = make_password(DEMO_PASSWORD)
        User.objects.filter(pk__in=plan.user_ids).update(password=password)
        record_event(
            acting_user=None,
            action="seed.demo_password",
            object_type="core.user",
            object_repr=f"{len(plan.user_ids)} demo users",
            extra={"users": len(plan.user_ids), "scale": chosen.name, "seed": seed},
        )
        counts["organisations"] = len(plan.logins) // len(Role.values)
        counts["users"] = len(plan.user_ids)
        counts["parks"] = len(plan.parks)
        record_event(
            acting_user=None,
            action="seed.complete",
            object_type="seed",
            object_repr=chosen.name,
            extra={"scale": chosen.name, "seed": seed, "as_of": as_of, **counts},
        )
    report.counts = counts
    report.logins = len(plan.logins)
    report.seconds = time.perf_counter() - started
    return report


def demo_login_rows() -> list[tuple[str, str, str, str]]:
    """(username, organisation, kind label, role label) of every user who still has the demo password.

    Seeded users share one password hash, so one check against `cnipa_admin` (always seeded) finds them all.
    """
    from django.contrib.auth.hashers import check_password

    anchor = User.objects.filter(username="cnipa_admin").only("password").first()
    if anchor is None or not check_password(DEMO_PASSWORD, anchor.password):
        return []
    users = User.objects.filter(password=anchor.password, is_active=True).select_related("organisation").order_by("id")
    return [
        (
            u.username,
            u.organisation.name if u.organisation else "",
            str(OrganisationKind(u.organisation.kind).label) if u.organisation else "平台",
            "平台管理员" if u.is_superuser else str(Role(u.role).label),
        )
        for u in users
    ]
