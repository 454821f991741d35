"""The policy-library benchmark (`ipledge bench portal [--policies 20000] [--queries 40] [--seed N] [--output F]`):
word search over `Policy.search_text` against the obvious twin, side by side in one run, in the configured database.

What is timed
-------------
`--policies` synthetic published policies are inserted in one transaction that is rolled back at the end (nothing
stays). Their titles and bodies are drawn from a vocabulary of real policy phrasing (风险补偿, 贴息, 评估费补助 …),
300–1,500 characters each; building `search_text` (rjieba) is timed as `index_seconds` (per policy: what a save
costs).

- `search_seconds_per_query`: `selectors_policies.search_policies(public_policies(), q=…)` evaluated to the list of
  primary keys, for each of `--queries` queries of one to three words drawn from the same vocabulary, mean of all.
- Baseline (`baseline_seconds_per_query`): what the library would do without a stored index: read every published
  policy's title, summary and body and segment them with rjieba at query time, keeping those that contain every query
  word. `ratio` = baseline ÷ ours. `agree`: both return the same policies for every query.
- `substring_false_positives`: how many policies a plain `icontains` over the raw text returns that the word search
  does not, summed over the queries: the reason for segmenting (a query "产权" also matches "知识产权", "质押" matches
  inside "质押率" and so on; some are wanted, the count shows the difference).
"""

from __future__ import annotations

import datetime
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q

from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.models import Organisation

from .choices import PolicyKind, PolicyStatus
from .models import Policy
from .search import build_search_text, parse_query, tokens
from .selectors_policies import public_policies, search_policies

DEFAULT_SEED = 20261206

_SUBJECTS = [
    "知识产权质押融资",
    "专利权质押贷款",
    "商标专用权质押",
    "风险补偿资金池",
    "贷款贴息",
    "评估费补助",
    "担保费补贴",
    "保证保险保费补贴",
    "科技型中小企业",
    "专精特新企业",
    "高新技术企业",
    "银行业金融机构",
    "园区管委会",
    "知识产权运营",
    "质押登记",
    "不良贷款",
    "代偿",
    "白名单",
    "银企对接",
    "知识产权评估",
]
_VERBS = ["支持", "鼓励", "引导", "给予", "建立", "完善", "开展", "推动", "加强", "落实"]
_TAILS = [
    "按照贷款利息的50%给予补贴",
    "单户年度补助不超过50万元",
    "风险补偿比例不超过本金损失的40%",
    "对首贷企业予以优先支持",
    "评估费用按实际发生额的60%给予补助",
    "实行名单制管理",
    "每季度组织一次银企对接活动",
    "合作银行应于次月10日前报送数据",
    "补助资金实行总额控制",
    "对弄虚作假的取消资格并追回资金",
]


def _sentence(rng: random.Random, subjects: list[str]) -> str:
    return f"{rng.choice(_VERBS)}{rng.choice(subjects)}{rng.choice(['工作', '业务', '发展', '服务'])}，{rng.choice(_TAILS)}。"


def _policy_text(rng: random.Random) -> tuple[str, str, str]:
    # Each policy is about a few subjects, so a query finds a fraction of the library, as in a real one.
    subjects = rng.sample(_SUBJECTS, 3)
    kind = rng.choice(["若干措施", "实施细则", "管理办法", "通知"])
    title = f"关于{rng.choice(_VERBS)}{subjects[0]}的{kind}"
    summary = _sentence(rng, subjects)
    body = "".join(_sentence(rng, subjects) for _ in range(rng.randint(8, 40)))
    return title, summary, body


def _query(rng: random.Random) -> str:
    words = [rng.choice([*_SUBJECTS, "产权", "质押", "补助", "风险"])]
    if rng.random() < 0.6:
        words.append(rng.choice(["补贴", "补偿", "贴息", "支持", "担保", "评估", "贷款", "银行"]))
    if rng.random() < 0.3:
        words.append(rng.choice(["企业", "园区", "资金"]))
    return " ".join(words)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _our_search(q: str) -> list[int]:
    return list(search_policies(public_policies(), q=q).values_list("pk", flat=True))


def _naive_search(rows: list[tuple[int, str, str, str]], q: str) -> list[int]:
    """Segment every policy's text at query time and keep those holding every query word."""
    wanted = set(parse_query(q).words)
    found = []
    for pk, title, summary, body in rows:
        words = set(tokens(title, for_index=True)) | set(tokens(title))
        for part in (summary, body):
            words |= set(tokens(part, for_index=True)) | set(tokens(part))
        if wanted <= words:
            found.append(pk)
    return found


class _Rollback(Exception):
    pass


def run_benchmark(
    *, policies: int, queries: int, seed: int = DEFAULT_SEED, log: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    if policies < 1 or queries < 1:
        raise ValueError("--policies and --queries must be at least 1")
    rng = random.Random(seed)
    result: dict[str, Any] = {
        "benchmark": "portal_policy_search",
        "policies": policies,
        "queries": queries,
        "seed": seed,
    }
    try:
        with transaction.atomic():
            owner = Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE).first()
            if owner is None:
                owner = Organisation.objects.create(
                    name="基准测试知识产权局", kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.NATIONAL
                )
            texts = [_policy_text(rng) for _ in range(policies)]
            log(f"indexing {policies:,} policies")
            index_seconds, indexed = _timed(lambda: [build_search_text((t, s, b)) for t, s, b in texts])
            day = datetime.date(2025, 1, 1)
            Policy.objects.bulk_create(
                [
                    Policy(
                        title=t,
                        issuing_body=owner.name,
                        kind=rng.choice(PolicyKind.values),
                        issued_on=day,
                        effective_from=day,
                        summary=s,
                        body=b,
                        search_text=idx,
                        status=PolicyStatus.PUBLISHED,
                        owner_org=owner,
                    )
                    for (t, s, b), idx in zip(texts, indexed, strict=True)
                ],
                batch_size=2000,
            )
            asked = [_query(rng) for _ in range(queries)]
            ours: list[float] = []
            found_ours: list[set[int]] = []
            for q in asked:
                seconds, pks = _timed(partial(_our_search, q))
                ours.append(seconds)
                found_ours.append(set(pks))
            log("baseline: segmenting every policy at query time")
            rows = list(public_policies().values_list("pk", "title", "summary", "body"))
            base_queries = asked[: max(1, min(queries, 5))]
            baseline: list[float] = []
            agree = True
            for i, q in enumerate(base_queries):
                seconds, pks = _timed(partial(_naive_search, rows, q))
                baseline.append(seconds)
                agree = agree and set(pks) == found_ours[i]
            false_positives = 0
            for q, found in zip(asked, found_ours, strict=True):
                cond = Q()
                for word in parse_query(q).words:
                    cond &= Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
                substring = set(public_policies().filter(cond).values_list("pk", flat=True))
                false_positives += len(substring - found)
            per_query = statistics.mean(ours)
            per_query_base = statistics.mean(baseline)
            result.update(
                {
                    "index_seconds_per_policy": round(index_seconds / policies, 6),
                    "search_seconds_per_query": round(per_query, 4),
                    "search_p95_seconds": round(sorted(ours)[max(0, int(len(ours) * 0.95) - 1)], 4),
                    "mean_hits": round(statistics.mean(len(f) for f in found_ours), 1),
                    "baseline_seconds_per_query": round(per_query_base, 4),
                    "baseline_queries": len(base_queries),
                    "ratio": round(per_query_base / per_query, 1) if per_query else None,
                    "agree": agree,
                    "substring_false_positives": false_positives,
                }
            )
            raise _Rollback
    except _Rollback:
        pass
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = round(usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024, 1)
    return result
