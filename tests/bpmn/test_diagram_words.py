"""Diagram labels from OCR: a picture's second, sparse-text reading, a scan read again as a picture, and the stray
marks OCR reads off the drawing. Real corpus pages (the committed sample), real Tesseract."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.raster.extract import strip_stray_marks
from pdf_ocr_pipeline.engines.base import Block, PageImage
from tests.conftest import needs_tesseract

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "corpus" / "sample"


def _words(blocks) -> set[str]:
    return {b.text.lower() for b in blocks}


@needs_tesseract
def test_a_pictures_sparse_reading_adds_labels_the_layout_analysis_took_for_drawing():
    """bpmn-js's Russian diagram pasted into a text page: psm 3 alone misses two task labels' words."""
    from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
    with pymupdf.open(SAMPLE / "ex00_writer0034-default-ru-pasted.pdf") as doc:
        page = doc[0]
        xref = page.get_images(full=True)[0][0]
        rect = page.get_image_rects(xref)[0]
        pix = pymupdf.Pixmap(doc, xref)
        picture = PageImage(doc_id="t", page_no=1, png=pix.tobytes("png"), dpi=pix.width / rect.width * 72,
                            width_pt=rect.width, height_pt=rect.height, kind="region")
    once = TesseractEngine(TesseractOptions(workers=1, region_psm=3)).ocr_page(picture)  # no second reading
    twice = TesseractEngine(TesseractOptions(workers=1)).ocr_page(picture)
    assert {"пакет", "приветствие"} <= _words(twice.blocks) - _words(once.blocks)
    assert "приветствие" in twice.text


@needs_tesseract
def test_a_scan_found_to_hold_a_diagram_is_read_again_as_a_picture():
    """The OCR stage reads a scanned page as text; where the BPMN stage finds a diagram there, the labels inside
    boxes come from a reading of it as a picture (``scan_words.more_words``)."""
    from pdf_ocr_pipeline.bpmn.document import _words as row_words
    from pdf_ocr_pipeline.bpmn.raster.scan_words import more_words, read_as_text
    from pdf_ocr_pipeline.engines.router import ocr_document, render_dpi
    from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
    from pdf_ocr_pipeline.pdf.render import render_document
    pdf = SAMPLE / "ex00_writer0034-default-scan.pdf"
    rendered = [{"page_no": p.page_no, "png": p.png, "dpi": p.dpi, "width_pt": p.width_pt, "height_pt": p.height_pt,
                 "image_sha256": p.image_sha256, "text_layer_usable": p.text_layer.usable, "error": p.error,
                 "picture_regions": [r.as_row() for r in p.picture_regions]}
                for p in render_document(pdf, dpi=200, choose_dpi=partial(render_dpi, "auto", 200, 0))]
    [ocr] = list(ocr_document("scan", pdf, rendered, TesseractEngine(TesseractOptions(workers=1)), policy="auto"))
    first = row_words(ocr.to_row())
    assert ocr.source == "ocr" and read_as_text(first)
    with pymupdf.open(pdf) as doc:
        more = more_words(doc[0], first)
    assert more is not None
    added = _words(more) - _words(first)
    assert {"application", "approve", "create", "reject", "send"} <= added  # task labels inside their boxes


def test_only_a_scan_read_as_text_is_read_again():
    from pdf_ocr_pipeline.bpmn.raster.scan_words import read_as_text
    tesseract = Block("word", "Задача", 0, 0, 30, 8, 0.9)
    assert read_as_text([tesseract])
    assert not read_as_text([Block("word", "Задача", 0, 0, 30, 8, 0.9, "ocr")])  # a pasted picture, read as one
    assert not read_as_text([Block("word", "Задача", 0, 0, 30, 8)])  # DeepSeek-OCR's grounded block
    assert not read_as_text([])
    assert not read_as_text([SimpleNamespace(text="Задача", x0=0, y0=0, x1=30, y1=8)])  # a text layer's word


@pytest.mark.parametrize("read, meant", [
    ("‘оценить", "оценить"),        # a task's rounded corner before the word (bpmn-visualization, Russian)
    ("“send", "send"), ("package:", "package"), ("—_y", "y"),
    ("insured?", "insured?"), ("«Склад»", "«Склад»"), ("“Quote”", "“Quote”"),  # what belongs to the label stays
    ("Проверить,", "Проверить,"), ("e.g.", "e.g."), ("‘", "‘"),
])
def test_stray_marks_at_an_ocr_words_ends_go(read, meant):
    assert strip_stray_marks(read) == meant
