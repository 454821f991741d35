"""The pure examination engine: every refusal ground, each citing its rule (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipledge.registration.engine import (
    RULES,
    FilingFacts,
    Finding,
    ItemFacts,
    OwnerFacts,
    RightFacts,
    blocking,
    examine,
)
from ipledge.registration.engine.examination import KINDS, marks_similar, normalise_name

PLEDGOR_ID = 7
PLEDGOR = "苏州星河科技有限公司"
FILED_ON = date(2025, 3, 3)
ALL_DOCS = frozenset({"contract", "identity", "commitment", "co_owner_consent", "valuation_report", "licence_contract"})


# --- factories --------------------------------------------------------------------------------------------------


def owner(enterprise_id: int | None = PLEDGOR_ID, name: str = PLEDGOR, share: str = "1") -> OwnerFacts:
    return OwnerFacts(enterprise_id=enterprise_id, name=name, share=Decimal(share))


def patent(right_id: int = 1, **overrides: Any) -> RightFacts:
    fields: dict[str, Any] = {
        "right_id": right_id,
        "kind": "patent",
        "number": f"ZL20201000000{right_id}.X",
        "title": f"一种传感器{right_id}",
        "patent_type": "invention",
        "legal_status": "valid",
        "filing_date": date(2020, 1, 6),
        "grant_date": date(2022, 5, 10),
        "term_end": date(2040, 1, 5),
        "annual_fee_paid_until": date(2026, 1, 5),
        "owners": (owner(),),
    }
    fields.update(overrides)
    return RightFacts(**fields)


def trademark(right_id: int = 10, title: str = "星河", classes: tuple[int, ...] = (9,), **overrides: Any) -> RightFacts:
    fields: dict[str, Any] = {
        "right_id": right_id,
        "kind": "trademark",
        "number": f"{30000000 + right_id}",
        "title": title,
        "patent_type": "",
        "legal_status": "valid",
        "filing_date": date(2018, 1, 1),
        "grant_date": date(2019, 4, 14),
        "term_end": date(2029, 4, 13),
        "annual_fee_paid_until": None,
        "owners": (owner(),),
        "nice_classes": classes,
    }
    fields.update(overrides)
    return RightFacts(**fields)


def copyright_(right_id: int = 20, **overrides: Any) -> RightFacts:
    fields: dict[str, Any] = {
        "right_id": right_id,
        "kind": "copyright",
        "number": f"2021SR00{right_id}",
        "title": "星河数据平台软件V1.0",
        "patent_type": "",
        "legal_status": "valid",
        "filing_date": date(2021, 1, 1),
        "grant_date": date(2021, 3, 1),
        "term_end": date(2070, 12, 31),
        "annual_fee_paid_until": None,
        "owners": (owner(),),
    }
    fields.update(overrides)
    return RightFacts(**fields)


def ic_layout(right_id: int = 30) -> RightFacts:
    return RightFacts(
        right_id=right_id,
        kind="ic_layout",
        number="BS.205000001",
        title="低功耗控制芯片布图",
        patent_type="",
        legal_status="valid",
        filing_date=date(2020, 5, 1),
        grant_date=date(2020, 9, 1),
        term_end=date(2030, 5, 1),
        annual_fee_paid_until=None,
        owners=(owner(),),
    )


def item(right: RightFacts, **overrides: Any) -> ItemFacts:
    return ItemFacts(right=right, **overrides)


def filing(*items: ItemFacts | RightFacts, **overrides: Any) -> FilingFacts:
    fields: dict[str, Any] = {
        "filing_id": 100,
        "pledgor_enterprise_id": PLEDGOR_ID,
        "pledgor_name": PLEDGOR,
        "pledgee_name": "中国银行苏州分行",
        "claim_kind": "loan",
        "claim_amount": Decimal("5000000.00"),
        "performance_start": date(2025, 3, 10),
        "performance_end": date(2026, 3, 9),
        "guarantee_scope": "主债权本金、利息、违约金及实现质权的费用",
        "filed_on": FILED_ON,
        "items": tuple(i if isinstance(i, ItemFacts) else ItemFacts(right=i) for i in items or (patent(),)),
        "documents": frozenset({"contract", "identity"}),
    }
    fields.update(overrides)
    return FilingFacts(**fields)


def codes(findings: list[Finding]) -> list[tuple[str, str, int | None]]:
    return [(f.rule, f.severity, f.right_id) for f in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, codes(findings)
    return findings[0]


# --- clean filings ----------------------------------------------------------------------------------------------


def test_clean_patent_filing_has_no_findings() -> None:
    assert examine(filing()) == []
    assert not blocking([])


def test_clean_mixed_filing_has_no_findings() -> None:
    f = filing(patent(1), patent(2), trademark(), copyright_())
    assert examine(f) == []


def test_commitment_letter_replaces_identity_documents() -> None:
    assert examine(filing(documents=frozenset({"contract", "commitment"}))) == []


# --- filing level -----------------------------------------------------------------------------------------------


def test_contract_incomplete_names_each_missing_element() -> None:
    f = filing(
        pledgee_name=" ",
        claim_kind="",
        claim_amount=Decimal("0"),
        performance_start=date(2026, 1, 1),
        performance_end=date(2025, 12, 31),
        guarantee_scope="",
    )
    found = only(examine(f))
    assert (found.rule, found.severity, found.right_id) == ("contract_incomplete", "refuse", None)
    for element in ("质权人名称", "被担保债权种类", "被担保债权数额", "起始日晚于届满日", "质押担保的范围"):
        assert element in found.message
    for element in ("pledgee", "kind of secured claim", "must be > 0", "start after end", "scope"):
        assert element in found.message_en
    assert "第八条" in found.citation and "第7项" in found.citation


def test_contract_incomplete_missing_amount_and_period() -> None:
    found = only(examine(filing(claim_amount=None, performance_start=None, performance_end=None)))
    assert found.rule == "contract_incomplete"
    assert "被担保债权数额" in found.message and "起始日" in found.message and "届满日" in found.message


def test_contract_incomplete_item_without_number() -> None:
    found = only(examine(filing(patent(number=" "))))
    assert found.rule == "contract_incomplete" and "第1项权利的号码" in found.message


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        (frozenset(), ["质押合同", "身份证明或承诺书"]),
        (frozenset({"identity"}), ["质押合同"]),
        (frozenset({"contract"}), ["身份证明或承诺书"]),
    ],
)
def test_documents_missing(docs: frozenset[str], expected: list[str]) -> None:
    found = only(examine(filing(documents=docs)))
    assert (found.rule, found.severity, found.right_id) == ("documents_missing", "refuse", None)
    for name in expected:
        assert name in found.message
    assert "第七条" in found.citation


def test_documents_missing_conditional_documents() -> None:
    co_owned = patent(owners=(owner(), owner(99, "南京大学", "0.5")))
    f = filing(
        item(co_owned, co_owner_consent=True),
        item(copyright_(), licence_revenue=True, licence_contract_ref="LIC-2024-001"),
        has_valuation=True,
    )
    found = only(examine(f))
    assert found.rule == "documents_missing"
    assert "共有人同意书" in found.message and "资产评估报告" in found.message and "许可合同" in found.message
    assert "第六条" in found.citation  # the copyright measures' document list, since a copyright is in the bundle
    assert examine(replace(f, documents=ALL_DOCS)) == []


def test_empty_bundle() -> None:
    f = replace(filing(), items=())
    found = only(examine(f))
    assert (found.rule, found.severity, found.right_id) == ("empty_bundle", "refuse", None)


# --- patents ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "rule", "fragment"),
    [
        ({"owners": (owner(55, "无锡别家公司"),)}, "pledgor_not_owner", "无锡别家公司"),
        ({"owners": (owner(PLEDGOR_ID, "苏州星河科技股份有限公司"),)}, "pledgor_not_owner", "不一致"),
        ({"legal_status": "pending", "grant_date": None}, "not_granted", "尚未授权"),
        ({"grant_date": None}, "not_granted", "尚未授权"),
        ({"legal_status": "lapsed"}, "right_terminated", "未缴年费终止"),
        ({"legal_status": "expired"}, "right_terminated", "期限届满"),
        ({"legal_status": "abandoned"}, "right_terminated", "放弃"),
        ({"legal_status": "revoked"}, "right_terminated", "撤销"),
        ({"term_end": date(2025, 3, 2)}, "right_terminated", "2025-03-02"),
        ({"legal_status": "invalidated"}, "invalidated", "无效"),
        ({"annual_fee_paid_until": None}, "annual_fee_unpaid", "无缴费记录"),
        ({"annual_fee_paid_until": date(2025, 1, 5)}, "annual_fee_unpaid", "滞纳期"),
        ({"suspended": True}, "suspended_or_preserved", "中止"),
        ({"preserved": True}, "suspended_or_preserved", "保全"),
        ({"term_end": date(2026, 1, 5)}, "term_before_performance_end", "2026-01-05"),
        ({"owners": (owner(), owner(99, "南京大学", "0.5"))}, "co_owner_consent_missing", "南京大学"),
        ({"active_pledge_no": "Y2024980000123"}, "already_pledged", "Y2024980000123"),
    ],
)
def test_each_patent_ground_yields_exactly_its_rule(overrides: dict[str, Any], rule: str, fragment: str) -> None:
    docs = ALL_DOCS if rule == "co_owner_consent_missing" else frozenset({"contract", "identity"})
    found = only(examine(filing(patent(5, **overrides), documents=docs)))
    assert (found.rule, found.severity, found.right_id) == (rule, "refuse", 5)
    assert fragment in found.message
    assert found.message_en and found.citation
    assert found.citation == RULES[rule].citation_for("patent")


def test_rival_filings_under_examination_are_a_warning() -> None:
    found = only(
        examine(filing(patent(5, pending_filing_ids=(100, 321)), documents=frozenset({"contract", "identity"})))
    )
    assert (found.rule, found.severity, found.right_id) == ("pending_duplicate_filing", "warn", 5)
    assert "321" in found.message


def test_annual_fee_grace_period_is_said_to_count_as_unpaid() -> None:
    found = only(examine(filing(patent(annual_fee_paid_until=date(2025, 2, 1)))))
    assert "6个月滞纳期" in found.message and "grace period counts as unpaid" in found.message_en
    assert "第4项" in found.citation


def test_fee_paid_through_the_filing_date_is_enough() -> None:
    assert examine(filing(patent(annual_fee_paid_until=FILED_ON))) == []


def test_co_owned_patent_with_consent_passes() -> None:
    co_owned = patent(owners=(owner(share="0.5"), owner(99, "南京大学", "0.5")))
    assert examine(filing(item(co_owned, co_owner_consent=True), documents=ALL_DOCS)) == []


def test_own_filing_id_is_not_a_duplicate() -> None:
    assert examine(filing(patent(pending_filing_ids=(100,)))) == []


def test_terminated_patent_skips_checks_that_presume_a_live_right() -> None:
    lapsed = patent(legal_status="lapsed", annual_fee_paid_until=date(2024, 1, 5), term_end=date(2025, 6, 1))
    assert [f.rule for f in examine(filing(lapsed))] == ["right_terminated"]


def test_several_grounds_on_one_patent_in_fixed_order() -> None:
    bad = patent(
        owners=(owner(55, "别家"), owner(56, "另一家")),
        annual_fee_paid_until=None,
        active_pledge_no="Y2024980000001",
        preserved=True,
    )
    rules = [f.rule for f in examine(filing(bad, documents=ALL_DOCS))]
    assert rules == [
        "pledgor_not_owner",
        "annual_fee_unpaid",
        "suspended_or_preserved",
        "co_owner_consent_missing",
        "already_pledged",
    ]


# --- warn-and-proceed grounds -----------------------------------------------------------------------------------


def test_pending_invalidation_without_declaration_refuses() -> None:
    found = only(examine(filing(patent(3, invalidation_pending=True))))
    assert (found.rule, found.severity, found.right_id) == ("invalidation_pending_declaration", "refuse", 3)
    assert "记录其声明" in found.message and "record their declaration" in found.message_en
    assert "第11项" in found.citation


def test_pending_invalidation_with_declaration_warns() -> None:
    findings = examine(filing(patent(3, invalidation_pending=True), declarations=frozenset({"pending_invalidation"})))
    found = only(findings)
    assert (found.rule, found.severity, found.right_id) == ("invalidation_pending_declaration", "warn", 3)
    assert not blocking(findings)


def test_same_day_invention_without_declaration_refuses() -> None:
    um = patent(4, patent_type="utility_model", same_day_invention_filed=True, term_end=date(2030, 1, 5))
    found = only(examine(filing(um)))
    assert (found.rule, found.severity, found.right_id) == ("same_day_invention_declaration", "refuse", 4)
    assert "同日申请情况的声明" in found.message
    assert "第10项" in found.citation


def test_same_day_invention_with_declaration_warns() -> None:
    um = patent(4, patent_type="pct_utility_model", same_day_invention_filed=True, term_end=date(2030, 1, 5))
    findings = examine(filing(um, declarations=frozenset({"same_day_invention"})))
    assert codes(findings) == [("same_day_invention_declaration", "warn", 4)]
    assert not blocking(findings)


def test_same_day_flag_on_an_invention_is_ignored() -> None:
    assert examine(filing(patent(same_day_invention_filed=True))) == []


def test_wrong_declaration_does_not_count() -> None:
    findings = examine(filing(patent(invalidation_pending=True), declarations=frozenset({"same_day_invention"})))
    assert codes(findings) == [("invalidation_pending_declaration", "refuse", 1)]


# --- trademarks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "rule", "severity", "fragment"),
    [
        ({"owners": (owner(55, "别家公司"),)}, "pledgor_not_owner", "refuse", "别家公司"),
        ({"legal_status": "revoked"}, "right_terminated", "refuse", "撤销"),
        ({"legal_status": "expired"}, "right_terminated", "refuse", "期限届满"),
        ({"term_end": date(2025, 1, 1)}, "right_terminated", "refuse", "2025-01-01"),
        ({"preserved": True}, "suspended_or_preserved", "refuse", "查封、冻结"),
        ({"term_end": date(2025, 12, 31)}, "term_before_performance_end", "warn", "续展"),
        ({"owners": (owner(), owner(99, "合伙人"))}, "co_owner_consent_missing", "refuse", "合伙人"),
        ({"active_pledge_no": "Y2023990000077"}, "already_pledged", "refuse", "Y2023990000077"),
    ],
)
def test_each_trademark_ground_yields_exactly_its_rule(
    overrides: dict[str, Any], rule: str, severity: str, fragment: str
) -> None:
    docs = ALL_DOCS if rule == "co_owner_consent_missing" else frozenset({"contract", "identity"})
    found = only(examine(filing(trademark(11, **overrides), documents=docs)))
    assert (found.rule, found.severity, found.right_id) == (rule, severity, 11)
    assert fragment in found.message
    assert found.citation == RULES[rule].citation_for("trademark")
    assert "注册商标专用权质押登记程序规定（2020）" in found.citation or rule == "already_pledged"


def test_trademark_term_warning_does_not_block() -> None:
    findings = examine(filing(trademark(term_end=date(2025, 12, 31))))
    assert codes(findings) == [("term_before_performance_end", "warn", 10)]
    assert not blocking(findings)
    assert "renew" in findings[0].message_en


@pytest.mark.parametrize(
    ("mark", "other"),
    [
        ("星河", "星河"),
        ("XingHe", "ｘｉｎｇ ｈｅ"),  # full-width and spaces normalised
        ("星河", "星河科技"),  # one contains the other
        ("STARRIVER", "STARRIVERS"),  # ratio ≥ 0.8
    ],
)
def test_similar_mark_in_shared_class_not_pledged_together_refuses(mark: str, other: str) -> None:
    other_mark = trademark(12, title=other, classes=(9, 42))
    f = filing(trademark(11, title=mark, classes=(9,)), other_marks_of_pledgor=(other_mark,))
    found = only(examine(f))
    assert (found.rule, found.severity, found.right_id) == ("marks_not_pledged_together", "refuse", 11)
    assert other_mark.number in found.message and other_mark.number in found.message_en
    assert "第三条" in found.citation


def test_similar_mark_in_a_different_class_is_fine() -> None:
    f = filing(
        trademark(11, title="星河", classes=(9,)), other_marks_of_pledgor=(trademark(12, title="星河", classes=(35,)),)
    )
    assert examine(f) == []


def test_dissimilar_mark_in_the_same_class_is_fine() -> None:
    f = filing(
        trademark(11, title="星河", classes=(9,)), other_marks_of_pledgor=(trademark(12, title="蓝海", classes=(9,)),)
    )
    assert examine(f) == []


def test_similar_mark_pledged_together_is_fine() -> None:
    sibling = trademark(12, title="星河科技", classes=(9,))
    f = filing(trademark(11, title="星河", classes=(9,)), sibling, other_marks_of_pledgor=(sibling,))
    assert examine(f) == []


def test_lapsed_similar_mark_need_not_be_pledged() -> None:
    lapsed = trademark(12, title="星河", classes=(9,), legal_status="expired")
    assert examine(filing(trademark(11), other_marks_of_pledgor=(lapsed,))) == []


def test_marks_not_pledged_together_lists_every_missing_number() -> None:
    others = (trademark(12, title="星河"), trademark(13, title="星 河"), trademark(14, title="蓝海"))
    found = only(examine(filing(trademark(11, title="星河"), other_marks_of_pledgor=others)))
    assert "30000012" in found.message and "30000013" in found.message and "30000014" not in found.message


def test_mark_name_normalisation() -> None:
    assert normalise_name(" ＡＢＣ　Tech ") == "abctech"
    assert marks_similar("ABC", "abc")
    assert not marks_similar("", "abc")
    assert not marks_similar("星河", "蓝海")


# --- copyright --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "rule", "fragment"),
    [
        ({"owners": (owner(None, "张三"),)}, "pledgor_not_owner", "张三"),
        ({"term_end": date(2024, 12, 31)}, "right_terminated", "2024-12-31"),
        ({"legal_status": "expired"}, "right_terminated", "期限届满"),
        ({"term_end": date(2025, 12, 31)}, "term_before_performance_end", "2025-12-31"),
        ({"suspended": True}, "suspended_or_preserved", "权属纠纷"),
        ({"owners": (owner(), owner(None, "李四"))}, "co_owner_consent_missing", "李四"),
        ({"active_pledge_no": "Y2024990000005"}, "already_pledged", "Y2024990000005"),
    ],
)
def test_each_copyright_ground_yields_exactly_its_rule(overrides: dict[str, Any], rule: str, fragment: str) -> None:
    docs = ALL_DOCS if rule == "co_owner_consent_missing" else frozenset({"contract", "identity"})
    found = only(examine(filing(copyright_(21, **overrides), documents=docs)))
    assert (found.rule, found.severity, found.right_id) == (rule, "refuse", 21)
    assert fragment in found.message
    assert found.citation == RULES[rule].citation_for("copyright")


# --- IC layout designs ------------------------------------------------------------------------------------------


def test_ic_layout_is_refused_with_no_registration_route() -> None:
    found = only(examine(filing(ic_layout(31))))
    assert (found.rule, found.severity, found.right_id) == ("ic_layout_no_registration_route", "refuse", 31)
    assert "另行处理" in found.message and "outside" in found.message_en
    assert "集成电路布图设计保护条例" in found.citation
    assert blocking([found])


# --- licence revenue --------------------------------------------------------------------------------------------


def test_licence_revenue_without_contract_reference() -> None:
    f = filing(item(patent(6), licence_revenue=True), documents=frozenset({"contract", "identity", "licence_contract"}))
    assert codes(examine(f)) == [("licence_contract_missing", "refuse", 6)]


def test_licence_revenue_with_contract_reference_passes() -> None:
    f = filing(
        item(trademark(15), licence_revenue=True, licence_contract_ref="TM-LIC-88"),
        documents=frozenset({"contract", "identity", "licence_contract"}),
    )
    assert examine(f) == []


def test_licence_revenue_still_checks_ownership_and_status() -> None:
    right = copyright_(22, owners=(owner(55, "别家"),), legal_status="expired", active_pledge_no="Y1")
    f = filing(
        item(right, licence_revenue=True, licence_contract_ref="CR-LIC-1"),
        documents=frozenset({"contract", "identity", "licence_contract"}),
    )
    # The right's own pledge is another collateral: `already_pledged` is not a ground for its licence revenue.
    assert [f.rule for f in examine(f)] == ["pledgor_not_owner", "right_terminated"]


# --- bundles ----------------------------------------------------------------------------------------------------


def test_bundle_of_two_patents_and_a_trademark_examined_item_by_item() -> None:
    f = filing(
        patent(1, annual_fee_paid_until=date(2025, 1, 5)),
        patent(2, active_pledge_no="Y2024980000999"),
        trademark(10, term_end=date(2025, 12, 31)),
        documents=frozenset({"identity"}),
    )
    assert codes(examine(f)) == [
        ("documents_missing", "refuse", None),
        ("annual_fee_unpaid", "refuse", 1),
        ("already_pledged", "refuse", 2),
        ("term_before_performance_end", "warn", 10),
    ]
    assert blocking(examine(f))


def test_each_item_cites_its_own_kinds_rules() -> None:
    other = (owner(55, "别家"),)
    f = filing(patent(1, owners=other), trademark(10, owners=other), copyright_(20, owners=other))
    by_right = {x.right_id: x.citation for x in examine(f)}
    assert "专利权质押登记办法（2021）" in by_right[1]
    assert "注册商标专用权质押登记程序规定（2020）" in by_right[10]
    assert "著作权质权登记办法（2010）" in by_right[20] and "[unconfirmed]" in by_right[20]


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown right kind"):
        examine(filing(patent(kind="domain_name")))


# --- the catalogue ----------------------------------------------------------------------------------------------

EMITTED = {
    "contract_incomplete", "documents_missing", "empty_bundle", "pledgor_not_owner", "not_granted",
    "right_terminated", "invalidated", "annual_fee_unpaid", "suspended_or_preserved", "term_before_performance_end",
    "co_owner_consent_missing", "already_pledged", "pending_duplicate_filing", "invalidation_pending_declaration",
    "same_day_invention_declaration", "marks_not_pledged_together", "licence_contract_missing",
    "ic_layout_no_registration_route",
}  # fmt: skip


def test_catalogue_lists_every_rule_with_sources() -> None:
    assert set(RULES) == EMITTED
    for code, info in RULES.items():
        assert code.islower() and " " not in code
        assert info.title and info.title_en and info.citation
        assert info.severity in {"refuse", "warn"}
        assert info.applies_to and set(info.applies_to) <= {*KINDS, "filing"}
        for kind in info.applies_to:
            assert len(info.citation_for(kind)) <= 255  # ExaminationFinding.citation max_length
    assert RULES["marks_not_pledged_together"].applies_to == ("trademark",)
    assert RULES["ic_layout_no_registration_route"].applies_to == ("ic_layout",)


# --- properties -------------------------------------------------------------------------------------------------


@given(
    status=st.sampled_from(["pending", "valid", "lapsed", "expired", "invalidated", "abandoned", "revoked"]),
    fee_offset=st.one_of(st.none(), st.integers(min_value=-400, max_value=400)),
    term_offset=st.integers(min_value=-400, max_value=8000),
    suspended=st.booleans(),
    preserved=st.booleans(),
    invalidation_pending=st.booleans(),
    pledged=st.booleans(),
    declarations=st.frozensets(st.sampled_from(["pending_invalidation", "same_day_invention"])),
)
def test_engine_is_deterministic_and_findings_are_well_formed(
    status: str,
    fee_offset: int | None,
    term_offset: int,
    suspended: bool,
    preserved: bool,
    invalidation_pending: bool,
    pledged: bool,
    declarations: frozenset[str],
) -> None:
    right = patent(
        legal_status=status,
        annual_fee_paid_until=None if fee_offset is None else FILED_ON + timedelta(days=fee_offset),
        term_end=FILED_ON + timedelta(days=term_offset),
        suspended=suspended,
        preserved=preserved,
        invalidation_pending=invalidation_pending,
        active_pledge_no="Y1" if pledged else None,
    )
    f = filing(right, trademark(), declarations=declarations)
    first = examine(f)
    assert first == examine(f)
    for found in first:
        assert found.rule in RULES and found.severity in {"refuse", "warn"}
        assert found.message and found.message_en and found.citation
    rules_for_patent = [x.rule for x in first if x.right_id == 1]
    assert len(rules_for_patent) == len(set(rules_for_patent))
    assert blocking(first) == any(x.severity == "refuse" for x in first)
