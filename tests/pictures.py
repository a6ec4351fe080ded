"""Real PDFs as Word makes them: a text layer with pictures pasted in. Built from the fixtures in the tests.

The diagram picture is the MIWG A.1.0 diagram (tests/fixtures/A.1.0.pdf) rendered to a PNG, as a user pastes
an exported diagram; the text is Russian body text set in DejaVu Serif, as the users' regulations are.
"""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

FIXTURES = Path(__file__).parent / "fixtures"
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BODY = ("Настоящий регламент определяет порядок согласования договоров в организации. Процесс начинается "
        "с поступления заявки и завершается подписанием договора уполномоченным лицом.")
AFTER = "Ответственность за выполнение процесса несёт руководитель договорного отдела."
CAPTION = "Рисунок 1 – Схема процесса согласования"
#: The words drawn in A.1.0's diagram (its task labels), as the truth file names them.
DIAGRAM_WORDS = ("Task 1", "Task 2", "Task 3")


def diagram_png(dpi: int = 150) -> bytes:
    """The A.1.0 diagram, cropped to its drawing, as a PNG at ``dpi``."""
    with pymupdf.open(FIXTURES / "A.1.0.pdf") as doc:
        page = doc[0]
        area = pymupdf.Rect()
        for d in page.get_drawings():
            area |= d["rect"]
        for w in page.get_text("words"):  # labels outside the shapes ("Start Event") belong to the drawing
            area |= pymupdf.Rect(w[:4])
        area = (area + (-6, -6, 6, 6)) & page.rect
        return page.get_pixmap(dpi=dpi, clip=area).tobytes("png")


def logo_png(text: str = "ACME Holding", size: int = 40) -> bytes:
    """A company logo: a frame, a filled mark and the company's name."""
    font = ImageFont.truetype(SANS, size)
    w = int(font.getlength(text)) + 3 * size
    img = Image.new("RGB", (w, int(size * 1.8)), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([2, 2, w - 3, img.height - 3], outline=(20, 60, 140), width=3)
    draw.ellipse([size // 3, size // 3, size // 3 + size, size // 3 + size], fill=(20, 60, 140))
    draw.text((int(1.8 * size), int(0.3 * size)), text, fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def text_page(doc: pymupdf.Document, heading: str, paragraphs: list[str], y: float = 72) -> tuple[pymupdf.Page, float]:
    """A new A4 page with a heading and paragraphs from ``y``; returns the page and where the text ended."""
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="serif", fontfile=SERIF)
    page.insert_text((72, y + 14), heading, fontname="serif", fontsize=14)
    y += 30
    for text in paragraphs:
        rect = pymupdf.Rect(72, y, 523, y + 120)
        left = page.insert_textbox(rect, text, fontname="serif", fontsize=11)
        y = rect.y1 - left + 8  # insert_textbox returns the height left unused
    return page, y


def no_text_png(width: int = 480, height: int = 300) -> bytes:
    """A picture without a word in it: a colour gradient with soft shapes, as a photo's background."""
    import numpy as np

    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([120 + 100 * np.sin(x / 57.0), 110 + 90 * np.cos(y / 43.0), 140 + 80 * np.sin((x + y) / 91.0)],
                   axis=2).clip(0, 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def pasted_diagram_pdf(path: Path, logo_pages: int = 0, no_text_picture: bool = False) -> Path:
    """Page 1: heading, body text, the diagram picture, caption, more text. Then ``logo_pages`` text pages with the
    same logo in the header (a picture repeated on every page), and with ``no_text_picture`` a last text page with
    a picture that holds no text."""
    doc = pymupdf.open()
    page, y = text_page(doc, "1 Порядок согласования", [BODY])
    picture = pymupdf.Rect(90, y + 10, 505, y + 10 + 240)
    page.insert_image(picture, stream=diagram_png(), keep_proportion=True)
    page.insert_text((150, picture.y1 + 20), CAPTION, fontname="serif", fontsize=10)
    page.insert_textbox(pymupdf.Rect(72, picture.y1 + 40, 523, picture.y1 + 140), AFTER, fontname="serif",
                        fontsize=11)
    logo = logo_png()
    for n in range(logo_pages):
        page, _ = text_page(doc, f"{n + 2} Раздел", [BODY, AFTER], y=110)
        page.insert_image(pymupdf.Rect(72, 30, 232, 62), stream=logo)
    if no_text_picture:
        page, y = text_page(doc, "Приложение", [AFTER])
        page.insert_image(pymupdf.Rect(120, y + 10, 420, y + 200), stream=no_text_png())
    doc.save(path)
    doc.close()
    return path
