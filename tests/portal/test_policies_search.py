"""Word search over the policy library: segmentation, AND of words, phrases, document numbers, ranking."""

from __future__ import annotations

import datetime

import pytest

from ipledge.portal import selectors_policies as selectors
from ipledge.portal.search import build_search_text, parse_query, tokens
from tests.portal.factories_policies import DAY, make_policy

pytestmark = pytest.mark.django_db


def test_tokens_drop_punctuation_and_lowercase() -> None:
    words = tokens("知识产权质押融资（IPR）风险补偿，。")
    assert "（" not in words and "，" not in words and "。" not in words
    assert "ipr" in words
    assert "风险" in words and "补偿" in words


def test_search_text_is_space_bounded_words() -> None:
    text = build_search_text(["风险补偿资金管理办法"])
    assert text.startswith(" ") and text.endswith(" ")
    assert " 风险 " in text and " 补偿 " in text
    assert build_search_text([""]) == ""


def test_query_kinds() -> None:
    assert parse_query('"风险补偿资金"').phrase == "风险补偿资金"
    assert parse_query("苏知发〔2022〕12号").document_number == "苏知发〔2022〕12号"
    assert parse_query("   ").is_empty


def test_finds_word_in_body_not_unrelated(world) -> None:  # type: ignore[no-untyped-def]
    hit = make_policy(world, title="关于支持科技企业发展的若干措施", body="设立知识产权质押融资风险补偿资金池。")
    make_policy(
        world, title="专利转化专项计划", body="支持高校院所专利许可和转让。", document_number="京知发〔2026〕2号"
    )
    found = list(selectors.search_policies(selectors.public_policies(), q="风险补偿"))
    assert found == [hit]
    assert list(selectors.search_policies(selectors.public_policies(), q="碳排放交易")) == []


def test_every_word_must_match(world) -> None:  # type: ignore[no-untyped-def]
    make_policy(world, title="风险补偿办法", body="风险补偿资金。")
    assert list(selectors.search_policies(selectors.public_policies(), q="风险补偿 保险")) == []


def test_characters_across_words_do_not_match(world) -> None:  # type: ignore[no-untyped-def]
    # "险补" spans the words 风险 / 补偿: a substring search would find it, a word search does not.
    make_policy(world, title="风险补偿办法", body="风险补偿资金。")
    assert list(selectors.search_policies(selectors.public_policies(), q="险补")) == []


def test_title_hits_rank_before_body_hits(world) -> None:  # type: ignore[no-untyped-def]
    newer_body_hit = make_policy(
        world,
        title="科技金融若干措施",
        body="对评估费给予补助。",
        issued_on=DAY - datetime.timedelta(days=1),
        effective_from=DAY - datetime.timedelta(days=1),
    )
    older_title_hit = make_policy(
        world,
        title="知识产权评估费补助办法",
        body="具体办法如下。",
        issued_on=DAY - datetime.timedelta(days=300),
        effective_from=DAY - datetime.timedelta(days=300),
    )
    found = list(selectors.search_policies(selectors.public_policies(), q="评估费"))
    assert found == [older_title_hit, newer_body_hit]


def test_document_number_and_phrase(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world, document_number="京知发〔2026〕7号", body="设立风险补偿资金池。")
    make_policy(world, title="其他政策", document_number="京知发〔2026〕8号", body="无关内容。")
    assert list(selectors.search_policies(selectors.public_policies(), q="京知发〔2026〕7号")) == [policy]
    assert list(selectors.search_policies(selectors.public_policies(), q='"风险补偿资金池"')) == [policy]
    assert list(selectors.search_policies(selectors.public_policies(), q='"补偿资金池设立"')) == []


def test_search_text_rebuilt_on_update(world) -> None:  # type: ignore[no-untyped-def]
    from ipledge.portal.services import policies as services

    policy = make_policy(world, body="对贷款给予贴息。")
    assert not selectors.search_policies(selectors.public_policies(), q="保险").exists()
    services.policy_update(
        actor=world.user("ipo_bj"), policy=policy, values={"body": "对保证保险费给予补贴。"}, expected_version=2
    )
    assert selectors.search_policies(selectors.public_policies(), q="保险").exists()


def test_filters(world) -> None:  # type: ignore[no-untyped-def]
    bj = make_policy(world, kind="risk_compensation")
    js = make_policy(world, "ipo_js", kind="subsidy")
    expired = make_policy(
        world,
        title="旧办法",
        issued_on=datetime.date(2020, 1, 1),
        effective_from=datetime.date(2020, 1, 1),
        effective_until=datetime.date(2022, 12, 31),
    )
    public = selectors.public_policies()
    assert set(selectors.search_policies(public, region_code="320000")) == {js}
    assert set(selectors.search_policies(public, kind="risk_compensation")) == {bj}
    assert set(selectors.search_policies(public, valid_on=DAY)) == {bj, js}
    assert set(selectors.search_policies(public, expired_on=DAY)) == {expired}
    assert set(selectors.search_policies(public, issuing_body="江苏")) == {js}
