"""Build `registration_notice.docx`, the docxtpl template of the pledge registration notice (登记通知书).

Run once after changing the layout and commit both files:

    .venv/bin/python src/ipledge/registration/templates_docx/build_notice_template.py

The template is plain python-docx output with Jinja tags that docxtpl fills in (`ipledge.registration.notices`);
an office may instead open the .docx in Word, restyle it (letterhead, seal position) and keep the tags.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

OUTPUT = Path(__file__).with_name("registration_notice.docx")
FONT = "SimSun"


def build(path: Path = OUTPUT) -> Path:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("{{ title }}")
    run.bold = True
    run.font.size = Pt(18)

    number = document.add_paragraph("登记号：{{ registration_no }}")
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    document.add_paragraph("{{ pledgor_name }}、{{ pledgee_name }}：")
    document.add_paragraph("经审查，你方提交的{{ kind_label }}质押登记申请符合规定，准予登记。登记事项如下：")
    facts = [
        ("登记号", "{{ registration_no }}"),
        ("登记日", "{{ registered_on }}"),
        ("出质人", "{{ pledgor_name }}"),
        ("出质人统一社会信用代码", "{{ pledgor_uscc }}"),
        ("质权人", "{{ pledgee_name }}"),
        ("被担保债权种类", "{{ claim_kind }}"),
        ("被担保债权数额（元）", "{{ claim_amount }}"),
        ("债务履行期限", "{{ performance_start }} 至 {{ performance_end }}"),
        ("质押担保范围", "{{ guarantee_scope }}"),
    ]
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in facts:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value

    document.add_paragraph()
    document.add_paragraph("出质权利清单：")
    rights = document.add_table(rows=1, cols=6)
    rights.style = "Table Grid"
    for cell, heading in zip(
        rights.rows[0].cells, ("序号", "权利类型", "号码", "名称", "申请日", "授权/注册日"), strict=True
    ):
        cell.text = heading
        for paragraph in cell.paragraphs:
            for heading_run in paragraph.runs:
                heading_run.bold = True
    # docxtpl row tags: the first and last rows are removed, the middle row repeats per right.
    rights.add_row().cells[0].text = "{%tr for r in rights %}"
    row = rights.add_row().cells
    for cell, value in zip(
        row,
        (
            "{{ loop.index }}",
            "{{ r.kind }}",
            "{{ r.number }}",
            "{{ r.title }}",
            "{{ r.filing_date }}",
            "{{ r.grant_date }}",
        ),
        strict=True,
    ):
        cell.text = value
    rights.add_row().cells[0].text = "{%tr endfor %}"

    document.add_paragraph()
    document.add_paragraph(
        "依照《中华人民共和国民法典》第四百四十四条，以{{ kind_label }}中的财产权出质的，质权自办理出质登记时设立。"
        "本质权自{{ registered_on }}登记之日起设立。"
    )
    document.add_paragraph("{{ legal_basis }}")
    for text in ("{{ office_name }}", "{{ issued_on }}"):
        paragraph = document.add_paragraph(text)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.core_properties.title = "质押登记通知书"
    document.core_properties.author = "ipledge"
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build())
