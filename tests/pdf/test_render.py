import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from pdf_ocr_pipeline.pdf.render import effective_dpi, render_document


def test_render_gives_png_of_the_right_size(fixtures: Path):
    [page] = list(render_document(fixtures / "A.1.0.pdf", dpi=100))
    img = Image.open(io.BytesIO(page.png))
    assert img.size == (page.width_px, page.height_px)
    assert page.width_px == pytest.approx(page.width_pt * 100 / 72, abs=1)
    assert page.text_layer.usable and page.error is None and len(page.image_sha256) == 64


def test_rotated_pages_render_as_displayed(tmp_path: Path, fixtures: Path):
    doc = pymupdf.open(fixtures / "A.1.0.pdf")
    doc[0].set_rotation(90)
    doc.save(tmp_path / "rot.pdf")
    [page] = list(render_document(tmp_path / "rot.pdf", dpi=72))
    assert page.rotation == 90
    assert page.width_pt < page.height_pt  # the landscape diagram now stands upright
    assert page.width_px < page.height_px


def test_huge_pages_are_capped_by_pixel_count(tmp_path: Path):
    doc = pymupdf.open()
    doc.new_page(width=14400, height=14400)  # 200 x 200 inches
    doc.save(tmp_path / "huge.pdf")
    [page] = list(render_document(tmp_path / "huge.pdf", dpi=150, max_pixels=4_000_000))
    assert page.width_px * page.height_px <= 4_000_000
    assert page.dpi < 15


def test_effective_dpi_keeps_small_pages():
    assert effective_dpi(595, 842, 200, 40_000_000) == 200


def test_choose_dpi_none_leaves_a_page_unrendered_but_inspected(fixtures: Path):
    [page] = list(render_document(fixtures / "A.1.0.pdf", choose_dpi=lambda info: None if info.usable else 200))
    assert page.png is None and page.image_sha256 is None and page.dpi is None and page.width_px is None
    assert page.error is None and page.text_layer.usable and page.width_pt > 0
