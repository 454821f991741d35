"""Reading product files: the published product sheet (read from ../shared/data at test time; specific parsed facts,
foreign and non-bank rows skipped) with its free-text rules, and our own product template (csv in UTF-8 and
GB18030, xlsx; whole-file validation naming row, column and rule)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from ipledge.core.money import Money
from ipledge.market.importing import (
    DEFAULT_AMOUNT_MAX,
    DEFAULT_TERM_MAX_MONTHS,
    PublishedProduct,
    normalise_lender,
    parse_amount,
    parse_caps,
    parse_kinds,
    parse_min_years,
    parse_product_template,
    parse_published_products,
    parse_region,
    parse_term_months,
    template_workbook,
)
from ipledge.market.terms import validate_terms
from tests.market.factories_products import GOOD_ROW, template_csv

SHEET = "bank_ip_loan_products.csv"


@pytest.fixture(scope="module")
def published(shared_data: Path) -> tuple[list[PublishedProduct], list]:
    return parse_published_products(shared_data / SHEET)


def by_lender(products: list[PublishedProduct], lender: str) -> PublishedProduct:
    (found,) = [p for p in products if p.lender == lender]
    return found


def test_beijing_bank_zhiquandai(published: tuple[list[PublishedProduct], list]) -> None:
    product = by_lender(published[0], "北京银行")
    assert product.bank_name == "北京银行" and product.name == "智权贷"
    terms = product.terms
    assert terms.min_remaining_years == {"invention": 8, "utility_model": 4}
    assert terms.collateral_kinds == ("invention", "utility_model", "trademark", "software", "work")
    assert terms.min_enterprise_age_years == 1 and terms.excludes_dishonest
    assert terms.region_codes == ("110000",)
    assert terms.source_url.startswith("http://www.china-see.com/")
    assert set(product.not_published) == {"额度", "期限", "利率"}
    assert terms.amount_max == DEFAULT_AMOUNT_MAX and terms.term_max_months == DEFAULT_TERM_MAX_MONTHS
    assert "未公开，按平台默认：额度、期限、利率" in terms.summary


def test_beijing_bank_shanghai_branch(published: tuple[list[PublishedProduct], list]) -> None:
    product = by_lender(published[0], "北京银行（上海分行）")
    terms = product.terms
    assert product.bank_name == "北京银行" and product.name == "智权贷（上海分行）"
    assert terms.pledge_rate_caps == {
        "invention": Decimal("0.25"),
        "utility_model": Decimal("0.15"),
        "trademark": Decimal("0.30"),
    }
    assert terms.amount_max == Money(20_000_000) and terms.term_max_months == 24
    assert terms.region_codes == ("310000",)
    assert product.not_published == ("利率",)


@pytest.mark.django_db
def test_other_rows(published: tuple[list[PublishedProduct], list]) -> None:
    products = published[0]
    bocom = by_lender(products, "交通银行（北京分行）")
    assert bocom.bank_name == "交通银行" and bocom.terms.term_max_months == 36
    assert bocom.terms.amount_max == Money(10_000_000) and bocom.terms.size_classes == ("small", "micro")
    rural = [p for p in products if p.bank_name == "北京农村商业银行"]
    assert {p.name for p in rural} == {"科创智贷", "科创链贷"}
    assert max(p.terms.amount_max for p in rural) == Money(30_000_000)  # small/micro 10M; medium/large 30M
    boc_js = by_lender(products, "中国银行（江苏）")
    assert (boc_js.terms.amount_min, boc_js.terms.amount_max) == (Money(1_000_000), Money(5_000_000))
    assert boc_js.terms.region_codes == ("320000",)
    assert len(boc_js.terms.collateral_kinds) == 7  # 企业整体知识产权: every kind
    assert by_lender(products, "江苏银行").terms.amount_max == Money(5_000_000)  # "example 5,000,000"
    assert by_lender(products, "江苏银行").terms.region_codes == ("320200",)  # 无锡
    assert by_lender(products, "交通银行（上海分行）").terms.requires_guarantee
    assert by_lender(products, "工商银行（浙江省分行）").bank_name == "中国工商银行"
    assert by_lender(products, "农业银行（浙江省分行）").bank_name == "中国农业银行"
    assert by_lender(products, "建设银行").terms.region_codes == ()  # national pilot: no restriction
    assert by_lender(products, "中国银行（上海分行）").terms.region_codes == ()  # 上海 / national
    for product in products:
        validate_terms(product.terms)  # every parsed product passes the platform's rules (regions need the DB)


def test_foreign_and_non_bank_rows_are_skipped(published: tuple[list[PublishedProduct], list]) -> None:
    products, skipped = published
    reasons = {s.row: s.reason for s in skipped}
    assert len(products) + len(skipped) == 15
    assert any("Korea" in r and "境外" in r for r in reasons.values())
    assert any("Singapore" in r and "境外" in r for r in reasons.values())
    assert any("不是银行" in r for r in reasons.values())
    assert all(p.terms.region_codes == () or p.terms.region_codes[0][:2] in "11 31 32 33" for p in products)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发明专利; 实用新型; 驰名/普通商标", ("invention", "utility_model", "trademark")),
        ("专利", ("invention", "utility_model", "design")),
        ("专利权; 商标权; 著作权; 集成电路布图设计; 数据知识产权 (exploratory)", tuple(
            ["invention", "utility_model", "design", "trademark", "software", "work", "ic_layout"]
        )),
        ("知识产权 + 应收账款", ("invention", "utility_model", "design", "trademark", "software", "work", "ic_layout")),
        ("发明专利", ("invention",)),
        ("", ("invention", "utility_model", "design", "trademark", "software", "work", "ic_layout")),
    ],
)  # fmt: skip
def test_parse_kinds(text: str, expected: tuple[str, ...]) -> None:
    assert parse_kinds(text) == expected


def test_parse_free_text_rules() -> None:
    assert parse_min_years("trademark used >=2 yrs; remaining term: invention >=8 yrs, utility model >=4 yrs") == {
        "invention": 8,
        "utility_model": 4,
    }
    assert parse_min_years("trademark used >=2 yrs") == {}
    assert parse_caps("invention <=25% of appraised value; well-known trademark <=30%; ordinary trademark <=20%") == {
        "invention": Decimal("0.25"),
        "trademark": Decimal("0.30"),
    }
    assert parse_caps("case pledge rate 92.5%") == {}
    assert parse_amount("small/micro 10,000,000; medium/large 30,000,000") == (None, Money(30_000_000))
    assert parse_amount("1,000,000-5,000,000 credit line") == (Money(1_000_000), Money(5_000_000))
    assert parse_amount("example 1.5M short-term in 7 days + 4.5M credit line") == (None, Money(4_500_000))
    assert parse_amount("case 23,000,000") == (None, Money(23_000_000))
    assert parse_amount("") == (None, None)
    assert parse_term_months("<=2 yrs with amortisation schedule") == 24
    assert parse_term_months("up to 3 yrs") == 36
    assert parse_term_months("short-term bridge + guaranteed loans") is None
    assert parse_region("北京 中关村/海淀") == (("110108",), None)
    assert parse_region("national pilot") == ((), None)
    assert parse_region("Korea")[1] is not None
    assert normalise_lender("北京银行 (上海分行)") == "北京银行"
    assert normalise_lender("北京农商银行") == "北京农村商业银行"
    assert normalise_lender("北京知识产权运营管理有限公司 (北京IP) + cooperating banks") is None
    assert normalise_lender("北京知识产权运营管理有限公司 + 北京银行") == "北京银行"


# ----------------------------------------------------------------------------------------------------- template


@pytest.mark.django_db
def test_template_csv_in_gb18030_parses(world: object) -> None:
    result = parse_product_template("p.csv", template_csv([GOOD_ROW], encoding="gb18030"))
    assert result.errors == []
    (row,) = result.rows
    assert row.row == 2 and row.code == "IMP-01" and row.name == "科创知产贷"
    assert row.terms.amount_min == Money(1_000_000) and row.terms.rate_spread_bp == 90
    assert row.terms.pledge_rate_caps == {"invention": Decimal("0.30"), "utility_model": Decimal("0.15")}
    assert row.terms.size_classes == ("small", "micro") and row.terms.requires_whitelist


@pytest.mark.django_db
def test_template_xlsx_round_trip(world: object) -> None:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(template_workbook()))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    sheet.delete_rows(2)
    sheet.append([GOOD_ROW.get(h, "") for h in header])
    out = io.BytesIO()
    book.save(out)
    result = parse_product_template("p.xlsx", out.getvalue())
    assert result.errors == [] and [r.code for r in result.rows] == ["IMP-01"]
    example = parse_product_template("template.xlsx", template_workbook())
    assert example.errors == [] and example.rows[0].name == "智权贷"  # the template's own example row is valid


@pytest.mark.django_db
def test_template_errors_name_row_column_rule(world: object) -> None:
    rows = [
        GOOD_ROW,
        {**GOOD_ROW, "产品编号": "IMP-01"},  # duplicate in the file
        {**GOOD_ROW, "产品编号": "IMP-03", "最低额度（元）": "abc", "须为授信白名单企业": "也许"},
        {**GOOD_ROW, "产品编号": "IMP-04", "最短剩余有效期（年）": "商标:3", "适用行业门类": "C；Z"},
        {**GOOD_ROW, "产品编号": "", "产品名称": ""},
    ]
    result = parse_product_template("p.csv", template_csv(rows))
    found = {(e.row, e.field, e.rule) for e in result.errors}
    assert found == {
        (3, "产品编号", "duplicate"),
        (4, "最低额度（元）", "invalid"),
        (4, "须为授信白名单企业", "invalid"),
        (5, "最短剩余有效期（年）", "kind_not_accepted"),
        (5, "适用行业门类", "invalid_choice"),
        (6, "产品编号", "required"),
        (6, "产品名称", "required"),
    }
    assert all(e.message and e.message_en for e in result.errors)


def test_template_file_level_errors() -> None:
    assert [e.rule for e in parse_product_template("p.csv", b"").errors] == ["empty"]
    assert [e.rule for e in parse_product_template("p.xlsx", b"PK\x03\x04 not a zip").errors] == ["file_format"]
    missing = parse_product_template("p.csv", "产品编号,产品名称,备注\nA,B,C\n".encode())
    assert {(e.row, e.rule) for e in missing.errors} >= {(1, "missing_column"), (1, "unknown_column")}
