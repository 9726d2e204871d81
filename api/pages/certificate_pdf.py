"""A certificate as a printable A4 PDF (志愿服务记录证明), drawn with ReportLab.

Chinese is set in STSong-Light, one of the Adobe CJK fonts every PDF reader knows (ReportLab
names it; nothing is downloaded or embedded), with CJK line breaking. The QR code is drawn
as vector squares (segno's matrix), so it prints sharp at any size, and the verification
address is printed under it as text for those who type it.

The certificate is an official document of the district and is always in Chinese.
"""
import io
from datetime import date

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, Table, TableStyle

from workflow.services.certificates import spaced_code

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _chinese_date(text: str) -> str:
    day = date.fromisoformat(text)
    return f"{day.year}年{day.month}月{day.day}日"


def _hours(value: float) -> str:
    return f"{value:g}"


def render(statement: dict, verify_url: str) -> bytes:
    out = io.BytesIO()
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    page.setTitle("志愿服务记录证明")
    page.setAuthor(f"{statement['district']}双报到工作平台")
    page.setSubject(f"证明编号 {spaced_code(statement['code'])}")
    width, height = A4
    left, right = 25 * mm, width - 25 * mm

    page.setStrokeColor(colors.HexColor("#b71c1c"))
    page.setLineWidth(1.5)
    page.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    page.setFillColor(colors.HexColor("#b71c1c"))
    page.setFont(FONT, 26)
    page.drawCentredString(width / 2, height - 50 * mm, "志愿服务记录证明")
    page.setFillColor(colors.black)
    page.setFont(FONT, 10.5)
    page.drawRightString(right, height - 62 * mm, f"证明编号：{spaced_code(statement['code'])}")

    unit = statement.get("unit") or "—"
    body = (f"兹证明 <b>{_escape(statement['name'])}</b> 同志（{_escape(unit)}）于"
            f"{_chinese_date(statement['period_start'])}至{_chinese_date(statement['period_end'])}期间，"
            f"参加{_escape(statement['district'])}在职党员“双报到”进社区志愿服务"
            f"<b>{statement['services']}</b>次，经社区核实，累计服务时长<b>{_hours(statement['hours'])}</b>小时。")
    style = ParagraphStyle("body", fontName=FONT, fontSize=14, leading=26, firstLineIndent=28, wordWrap="CJK")
    paragraph = Paragraph(body, style)
    _w, used = paragraph.wrap(right - left, 80 * mm)
    paragraph.drawOn(page, left, height - 75 * mm - used)
    closing = Paragraph("特此证明。", style)
    closing.wrap(right - left, 20 * mm)
    closing.drawOn(page, left, height - 75 * mm - used - 14 * mm)

    rows = [["姓名", statement["name"]], ["单位", unit],
            ["服务期间", f"{_chinese_date(statement['period_start'])} 至 {_chinese_date(statement['period_end'])}"],
            ["服务次数", f"{statement['services']} 次"], ["服务时长", f"{_hours(statement['hours'])} 小时"]]
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=11, leading=15, wordWrap="CJK")
    table = Table([[Paragraph(_escape(str(a)), cell), Paragraph(_escape(str(b)), cell)] for a, b in rows],
                  colWidths=[30 * mm, right - left - 30 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9e9e9e")),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f5f5f5")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    _w, table_height = table.wrap(right - left, 100 * mm)
    table.drawOn(page, left, height - 75 * mm - used - 28 * mm - table_height)

    page.setFont(FONT, 13)
    page.drawRightString(right, 78 * mm, f"{statement['district']}双报到工作平台")
    page.drawRightString(right, 70 * mm, f"出具日期：{_chinese_date(statement['issued_on'])}")

    size = 34 * mm
    _draw_qr(page, verify_url, left, 34 * mm, size)
    note = ParagraphStyle("note", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK")
    caption = Paragraph("扫描二维码或访问下列地址，可核验本证明的真伪及所载内容：<br/>" + _escape(verify_url), note)
    caption.wrap(right - left, 20 * mm)
    caption.drawOn(page, left, 22 * mm)
    page.showPage()
    page.save()
    return out.getvalue()


def _draw_qr(page, url: str, x: float, y: float, size: float) -> None:
    matrix = [list(row) for row in segno.make(url, error="m").matrix]
    cells = len(matrix)
    step = size / cells
    page.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                page.rect(x + c * step, y + size - (r + 1) * step, step, step, stroke=0, fill=1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
