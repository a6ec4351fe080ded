"""Figures: the kind of each picture and what is wrong with a broken one (real PDFs built here, real MuPDF)."""

import io
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from pdf_ocr_pipeline.figures import KINDS, document_figures, repeated_contents
from pdf_ocr_pipeline.pdf.regions import picture_regions

from .pictures import SANS, diagram_png, logo_png, no_text_png


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def table_png() -> bytes:
    """A ruled table of figures, as pasted from a spreadsheet."""
    font = ImageFont.truetype(SANS, 22)
    img = Image.new("RGB", (640, 300), "white")
    draw = ImageDraw.Draw(img)
    for i in range(6):
        draw.line([(10, 10 + 56 * i), (630, 10 + 56 * i)], fill="black", width=2)
    for x in (10, 220, 420, 630):
        draw.line([(x, 10), (x, 290)], fill="black", width=2)
    for r, row in enumerate([("Квартал", "План", "Факт"), ("I", "120", "118"), ("II", "130", "141")]):
        for c, cell in enumerate(row):
            draw.text((24 + 205 * c, 24 + 56 * r), cell, fill="black", font=font)
    return _png(img)


def chart_png() -> bytes:
    """A bar chart drawn by matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    ax.bar(["2022", "2023", "2024"], [120, 145, 160], color=["#d62728", "#1f77b4", "#2ca02c"])
    ax.set_title("Договоры")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _figures_of(path: Path, diagram_shapes=None) -> list[dict]:
    with pymupdf.open(path) as doc:
        pages = [{"page_no": p.number + 1, "picture_regions": [r.as_row() for r in picture_regions(p)],
                  "blocks": [], "regions": [], "engine": "tesseract"} for p in doc]
    repeated = repeated_contents(p["picture_regions"] for p in pages)
    return list(document_figures("doc", path, pages, repeated, diagram_shapes or {}))


def test_kinds_from_what_is_known_and_from_the_pixels(tmp_path: Path):
    doc = pymupdf.open()
    pictures = [table_png(), chart_png(), no_text_png(), diagram_png()]
    for png in pictures:
        page = doc.new_page(width=595, height=842)
        page.insert_image(pymupdf.Rect(80, 100, 500, 400), stream=png)
    for _ in range(3):  # a logo in the header of three more pages
        doc.new_page(width=595, height=842).insert_image(pymupdf.Rect(60, 20, 220, 52), stream=logo_png())
    doc.save(tmp_path / "figures.pdf")
    # the BPMN stage found a diagram on page 4: its shapes lie on the picture
    with pymupdf.open(tmp_path / "figures.pdf") as reopened:
        box = picture_regions(reopened[3])[0].box
    shapes = {4: [(box[0] + 20, box[1] + 40, box[0] + 60, box[1] + 80), (box[0] + 100, box[1] + 40, box[0] + 160,
                                                                         box[1] + 80)]}
    rows = _figures_of(tmp_path / "figures.pdf", shapes)
    assert [r["kind"] for r in rows] == ["table", "chart", "photo", "diagram", "logo", "logo", "logo"]
    assert set(r["kind"] for r in rows) <= set(KINDS)
    assert rows[3]["bpmn_page"] and not rows[0]["bpmn_page"]
    assert len({r["content"] for r in rows[4:]}) == 1 and all(r["error"] is None for r in rows)


def test_a_broken_picture_says_so_and_costs_nothing_else(tmp_path: Path):
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(80, 100, 500, 400), stream=diagram_png())
    page.insert_image(pymupdf.Rect(80, 450, 500, 750), stream=table_png())
    xref = page.get_images()[0][0]
    doc.update_stream(xref, b"\x00not an image at all" * 50, compress=False)
    doc.save(tmp_path / "broken.pdf")
    rows = _figures_of(tmp_path / "broken.pdf")
    assert len(rows) == 2
    broken = [r for r in rows if r["error"]]
    assert len(broken) == 1 and broken[0]["error"].startswith("picture damaged: ")
    assert [r["kind"] for r in rows if not r["error"]] == ["table"]
