"""Enterprise-name normalisation and matching (engine.names): full-width input, legal-form suffixes, branches kept
apart from their parents, ambiguous names sent to review, and the thresholds at their edges."""

from __future__ import annotations

import random

import pytest

from ipledge.screening.engine import names
from ipledge.screening.engine.names import (
    AUTO_MARGIN,
    AUTO_SCORE,
    EXACT,
    FUZZY,
    REVIEW,
    REVIEW_SCORE,
    UNMATCHED,
    is_branch,
    match_names,
    normalise_name,
)

ENTERPRISES = [
    (1, "北京智芯科技有限公司"),
    (2, "北京微纳传感有限公司"),
    (3, "南京光谱材料有限公司"),
    (4, "中关村智能制造集团有限公司"),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("北京智芯科技有限公司", "北京智芯科技"),
        ("北京智芯科技股份有限公司", "北京智芯科技"),
        ("北京智芯科技有限责任公司", "北京智芯科技"),
        ("北京智芯科技股份公司", "北京智芯科技"),
        (" 北京 智芯·科技　有限公司 ", "北京智芯科技"),
        ("ＡＢＣ（北京）科技有限公司", "abc北京科技"),
        ("ABC(北京)科技有限公司", "abc北京科技"),
        ("ＡＢＣ【北京】科技有限公司１号", "abc北京科技有限公司1号"),
        ("中关村智能制造集团有限公司", "中关村智能制造集团"),
        ("北京智芯科技有限公司上海分公司", "北京智芯科技上海分公司"),
        ("北京银行股份有限公司中关村分行", "北京银行中关村分行"),
        ("有限公司", "有限公司"),
        ("", ""),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_branch_markers() -> None:
    assert is_branch(normalise_name("北京智芯科技有限公司上海分公司"))
    assert is_branch(normalise_name("北京银行股份有限公司中关村科技支行"))
    assert not is_branch(normalise_name("北京智芯科技有限公司"))


def test_full_width_and_suffix_variants_match_exactly() -> None:
    queries = [
        "北京智芯科技股份有限公司",
        "北京微纳传感有限责任公司",
        "  南京光谱材料 ",
        "中关村智能制造集团股份有限公司",
    ]
    results = match_names(queries, ENTERPRISES)
    assert [(r.status, r.enterprise_id) for r in results] == [(EXACT, 1), (EXACT, 2), (EXACT, 3), (EXACT, 4)]
    assert results[0].score == 100.0


def test_group_is_not_its_operating_company() -> None:
    (result,) = match_names(["中关村智能制造有限公司"], ENTERPRISES)
    assert result.enterprise_id is None


def test_full_width_brackets_and_digits_are_the_same_name() -> None:
    enterprises = [(10, "ABC(北京)科技有限公司"), (11, "第1精密机械有限公司")]
    results = match_names(["ＡＢＣ（北京）科技有限公司", "第１精密机械股份有限公司"], enterprises)
    assert [(r.status, r.enterprise_id) for r in results] == [(EXACT, 10), (EXACT, 11)]


def test_branch_is_never_matched_to_its_parent() -> None:
    (branch,) = match_names(["北京智芯科技有限公司上海分公司"], ENTERPRISES)
    assert branch.enterprise_id is None
    assert branch.status in (REVIEW, UNMATCHED)
    # And the parent's record is never given to a registered branch.
    enterprises = [(20, "北京智芯科技有限公司上海分公司")]
    (parent,) = match_names(["北京智芯科技有限公司"], enterprises)
    assert parent.enterprise_id is None


def test_branch_matches_the_branch() -> None:
    enterprises = [*ENTERPRISES, (21, "北京智芯科技有限公司上海分公司")]
    (result,) = match_names(["北京智芯科技股份有限公司上海分公司"], enterprises)
    assert (result.status, result.enterprise_id) == (EXACT, 21)


def test_two_enterprises_with_one_normalised_name_go_to_review() -> None:
    enterprises = [(1, "北京智芯科技有限公司"), (5, "北京智芯科技股份有限公司"), *ENTERPRISES[1:]]
    (result,) = match_names(["北京智芯科技有限公司"], enterprises)
    assert result.status == REVIEW and result.enterprise_id is None
    assert [(c.id, c.score) for c in result.candidates] == [(1, 100.0), (5, 100.0)]


def test_confident_fuzzy_match_is_automatic() -> None:
    long_name = "北京中关村高新技术产业开发区海淀园智能传感与精密测量仪器研究院有限公司"
    typo = long_name.replace("测量", "测最")
    (result,) = match_names([typo], [(7, long_name), *ENTERPRISES])
    assert result.status == FUZZY and result.enterprise_id == 7
    assert result.score is not None and result.score >= AUTO_SCORE
    assert result.candidates[0].id == 7


def test_close_runner_up_sends_a_confident_match_to_review() -> None:
    base = "北京中关村高新技术产业开发区海淀园智能传感与精密测量仪器研究院"
    a, b = base + "甲有限公司", base + "乙有限公司"
    (result,) = match_names([base + "丙有限公司"], [(8, a), (9, b)])
    assert result.status == REVIEW and result.enterprise_id is None
    assert {c.id for c in result.candidates} == {8, 9}
    assert result.candidates[0].score - result.candidates[1].score < AUTO_MARGIN


def test_similar_names_go_to_review_with_top_three() -> None:
    enterprises = [
        (30, "北京中关村智芯微电子科技发展有限公司"),
        (31, "北京中关村智芯微电子科技服务有限公司"),
        (32, "北京中关村智芯微电子科技咨询有限公司"),
        (33, "北京中关村智芯微电子科技研究有限公司"),
        (34, "上海光源材料有限公司"),
    ]
    (result,) = match_names(["北京中关村智芯微电子科技开发有限公司"], enterprises)
    assert result.status == REVIEW
    assert [c.id for c in result.candidates] == [30, 31, 32]  # ties in score are shown by id
    assert all(c.score >= REVIEW_SCORE for c in result.candidates)
    assert [c.score for c in result.candidates] == sorted((c.score for c in result.candidates), reverse=True)


def test_unrelated_and_empty_names_are_unmatched() -> None:
    results = match_names(["上海东方明珠电视塔有限公司", "", "（）"], ENTERPRISES)
    assert [r.status for r in results] == [UNMATCHED, UNMATCHED, UNMATCHED]
    assert match_names(["北京智芯科技"], []) == [names.NameMatch(UNMATCHED)]


def test_excluded_enterprises_are_skipped() -> None:
    (result,) = match_names(["北京智芯科技有限公司"], ENTERPRISES, exclude=[{1}])
    assert result.enterprise_id is None and all(c.id != 1 for c in result.candidates)
    twins = [(1, "北京智芯科技有限公司"), (5, "北京智芯科技股份有限公司")]
    (only_one_left,) = match_names(["北京智芯科技有限公司"], twins, exclude=[{5}])
    assert (only_one_left.status, only_one_left.enterprise_id) == (EXACT, 1)


def test_many_queries_in_one_call() -> None:
    """Results stay aligned with the queries across cdist chunks (a chunk is cut small here)."""
    rnd = random.Random(7)
    words = "智芯光谱微纳传感材料精密机械信息电子生物医药能源环境软件数据网络"
    enterprises = [(i, "北京" + "".join(rnd.sample(words, 8)) + "有限公司") for i in range(1, 401)]
    queries = [name.replace("有限公司", "股份有限公司") for _pk, name in enterprises[::-1]]
    original = names._CHUNK_CELLS
    names._CHUNK_CELLS = 1_000
    try:
        results = match_names(queries, enterprises)
    finally:
        names._CHUNK_CELLS = original
    assert [r.enterprise_id for r in results] == [pk for pk, _name in enterprises[::-1]]
    fuzzy = match_names([q[:-6] + "有限公" for q in queries[:50]], enterprises)
    assert all(r.status in (EXACT, FUZZY, REVIEW) for r in fuzzy)
