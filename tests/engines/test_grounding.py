"""Parsing DeepSeek-OCR's grounded output, mapping its 0-999 boxes to page points, spotting runaway pages."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from pdf_ocr_pipeline.engines.grounding import box_to_points, is_runaway, iter_refs, parse_grounded, repetition_score
from pdf_ocr_pipeline.engines.image_prep import Frame, image_tokens, prepare, tile_grid
from pdf_ocr_pipeline.pdf.render import render_document

from .fake_vllm import BPMN, DOC, RUNAWAY, TRUNCATED

SQUARE = dict(page_w_pt=500.0, page_h_pt=500.0)


def test_document_page_blocks_and_clean_markdown():
    text, blocks = parse_grounded(DOC, **SQUARE)
    assert [b.label for b in blocks] == ["title", "text", "image", "image_caption", "table"]
    assert blocks[0].text == "# Квартальный отчёт"
    assert blocks[4].text.startswith("<table><tr><td>Q1</td>")
    assert text.split("\n\n") == [
        "# Квартальный отчёт", "Выручка выросла на 12% по сравнению с прошлым кварталом.", "![](image-1)",
        "Рис. 1. Динамика продаж",
        "<table><tr><td>Q1</td><td>100</td></tr><tr><td>Q2</td><td>112</td></tr></table>"]
    title = blocks[0]
    assert (title.x0, title.y0) == pytest.approx((102 / 999 * 500, 60 / 999 * 500), abs=1e-6)


def test_multi_box_ref_gives_one_block_per_box_and_text_refs_keep_their_text():
    text, blocks = parse_grounded(BPMN, **SQUARE)
    assert [(b.label, b.text) for b in blocks] == [("text", "Start"), ("text", "Approve invoice"),
                                                   ("text", "Yes"), ("text", "Yes")]
    assert blocks[2].x0 == pytest.approx(400 / 999 * 500) and blocks[3].x0 == pytest.approx(600 / 999 * 500)
    assert text == "Start\n\nApprove invoice\n\nYes"


def test_truncated_output_parses_as_far_as_it_goes():
    refs = list(iter_refs(TRUNCATED))
    assert refs == [("text", [], "")]
    text, blocks = parse_grounded(TRUNCATED, **SQUARE)
    assert text == "" and blocks == ()
    text, blocks = parse_grounded("plain text without any grounding", **SQUARE)
    assert text == "plain text without any grounding" and blocks == ()


def test_runaway_detection():
    assert repetition_score(RUNAWAY) > 0.8 and is_runaway(RUNAWAY, "stop")
    assert is_runaway(DOC, "length")  # cut at max tokens, whatever it says
    assert not is_runaway(DOC, "stop") and repetition_score(DOC) < 0.3
    loop = "Согласование договора с клиентом. " + "и т.д. " * 200
    assert is_runaway(loop, "stop")
    prose = Path(__file__).parents[1].joinpath("fixtures", "linn.txt").read_text()
    assert not is_runaway(prose, "stop")


def test_boxes_are_ordered_and_clamped_to_the_page():
    x0, y0, x1, y1 = box_to_points((900, 950, 100, -20), 600, 800)
    assert x0 < x1 and y0 < y1 and y0 == 0.0 and x1 == pytest.approx(900 / 999 * 600)
    assert box_to_points((0, 0, 999, 999), 600, 800) == (0, 0, 600, 800)


def to_999(box_pt, w_pt: float, h_pt: float) -> tuple[float, ...]:
    """The inverse mapping: a page box on the 0-999 scale of the page (DeepSeek-OCR's convention)."""
    x0, y0, x1, y1 = box_pt
    return (x0 / w_pt * 999, y0 / h_pt * 999, x1 / w_pt * 999, y1 / h_pt * 999)


def in_view(b999, frame: Frame) -> tuple[float, ...]:
    """Where a 0-999 page box lies in the image the model saw (the page inside any padding), pixels."""
    cx0, cy0, cx1, cy1 = frame.content
    xs = (cx0 + b999[0] / 999 * (cx1 - cx0), cx0 + b999[2] / 999 * (cx1 - cx0))
    ys = (cy0 + b999[1] / 999 * (cy1 - cy0), cy0 + b999[3] / 999 * (cy1 - cy0))
    return (min(xs), min(ys), max(xs), max(ys))


def ink(img: Image.Image, box_px) -> float:
    """Share of dark pixels in a box of the prepared image."""
    hist = img.crop(tuple(int(round(v)) for v in box_px)).convert("L").histogram()
    return sum(hist[:128]) / max(1, sum(hist))



@pytest.mark.parametrize("resolution", ["base", "gundam"])
@pytest.mark.parametrize("rotation", [0, 90, 270])
def test_boxes_map_to_the_displayed_page_on_rotated_and_non_square_pages(tmp_path, fixtures, resolution, rotation):
    """A word's box from the text layer, put on the 0-999 scale of the page (what DeepSeek-OCR writes, padding
    of base mode excluded), maps back to the same place on the displayed page, and that place in the image the
    model saw holds the word's ink."""
    src = fixtures / "A.1.0.pdf"  # a landscape BPMN diagram page (792.75 x 612.75 pt)
    path = tmp_path / f"rot{rotation}.pdf"
    with pymupdf.open(src) as doc:
        doc[0].set_rotation(rotation)
        doc.save(path)
        page = doc[0]
        words = [w for w in page.get_text("words") if len(w[4]) >= 5][:8]
        to_displayed = page.rotation_matrix
        boxes = [tuple(pymupdf.Rect(w[:4]) * to_displayed) for w in words]
    [rendered] = list(render_document(path, dpi=100))
    w_pt, h_pt = rendered.width_pt, rendered.height_pt
    assert (w_pt > h_pt) == (rotation == 0)
    prepared = prepare(rendered.png, resolution, "raw")
    img, frame = prepared.to_pil(), prepared.frame
    assert boxes
    for box in boxes:
        b999 = to_999(box, w_pt, h_pt)
        got = box_to_points(b999, w_pt, h_pt)
        assert got == pytest.approx(tuple(pymupdf.Rect(box).normalize()), abs=0.05)
        assert ink(img, in_view(b999, frame)) > 0.03, f"no ink where the word {box} should be"


def test_prepared_sizes_match_what_vllm_consumes():
    assert tile_grid(1240, 1754) == (2, 3) and tile_grid(600, 500) == (1, 1) and tile_grid(1754, 1240) == (3, 2)
    a4 = Image.new("RGB", (1240, 1754), "white")
    import io
    buf = io.BytesIO()
    a4.save(buf, format="PNG")
    base = prepare(buf.getvalue(), "base", "png")
    assert (base.frame.width, base.frame.height) == (1024, 1024) and base.frame.content == (150.0, 0.0, 874.0, 1024.0)
    assert image_tokens(base.frame, "base") == 273
    gundam = prepare(buf.getvalue(), "gundam", "raw")
    assert (gundam.frame.width, gundam.frame.height) == (1280, 1920)
    assert image_tokens(gundam.frame, "gundam") == 903  # what vLLM's stock processor gives an A4 page
    with pytest.raises(ValueError):
        prepare(buf.getvalue(), "large")
