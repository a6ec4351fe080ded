import re
from pathlib import Path

import pymupdf
import pytest
from rapidfuzz.distance import Levenshtein

from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions, collapse_leaders, find_tessdata
from pdf_ocr_pipeline.errors import MissingDependencyError
from pdf_ocr_pipeline.pdf.render import render_document

from ..conftest import needs_tesseract

pytestmark = needs_tesseract


def normalise(text: str) -> str:
    text = re.sub(r"(?:\.\s*){3,}", " ", text)  # leader dots
    return re.sub(r"\s+", " ", text).strip()


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def images(path: Path, dpi: int) -> list[PageImage]:
    return [PageImage("doc", p.page_no, p.png, p.dpi, p.width_pt, p.height_pt, p.image_sha256)
            for p in render_document(path, dpi=dpi)]


@pytest.mark.parametrize("dpi", [150, 200])
def test_russian_cer_against_the_text_layer(fixtures: Path, tesseract_engine: TesseractEngine, dpi: int):
    path = fixtures / "ru_report_p3-5_7.pdf"  # abstract, table of contents, two pages of prose
    results = list(tesseract_engine.ocr_pages(images(path, dpi)))
    assert [r.page_no for r in results] == [1, 2, 3, 4]
    assert all(r.source == "ocr" and r.error is None for r in results)
    with pymupdf.open(path) as doc:
        reference = {r.page_no: doc[r.page_no - 1].get_text() for r in results}
    text = {r.page_no: r.text for r in results}
    prose = [1, 3, 4]
    assert cer(" ".join(reference[n] for n in prose), " ".join(text[n] for n in prose)) < 0.02
    # Dot leaders are Tesseract's weak spot; collapse_leaders keeps the titles and page numbers.
    assert cer(reference[2], text[2]) < 0.30  # a few lines still carry noise: see BENCHMARKS.md


def test_english_cer_against_a_transcript(fixtures: Path, tesseract_engine: TesseractEngine):
    [result] = tesseract_engine.ocr_pages(images(fixtures / "linn.pdf", 200))
    assert cer((fixtures / "linn.txt").read_text(), result.text) < 0.02


def test_words_have_boxes_in_points_and_confidences(fixtures: Path, tesseract_engine: TesseractEngine):
    [page] = images(fixtures / "linn.pdf", 150)
    result = tesseract_engine.ocr_page(page)
    assert len(result.blocks) > 300
    for block in result.blocks:
        assert 0 <= block.x0 < block.x1 <= page.width_pt + 1
        assert 0 <= block.y0 < block.y1 <= page.height_pt + 1
        assert 0 <= block.confidence <= 1
    title = next(b for b in result.blocks if b.text == "LinnSequencer")
    assert title.y0 < 150  # the title is at the top of the page, in points
    assert 0.8 < result.mean_confidence <= 1


def test_a_broken_image_becomes_an_error_row(tesseract_engine: TesseractEngine):
    result = tesseract_engine.ocr_page(PageImage("doc", 7, b"not a png", 200, 100, 100))
    assert result.source == "none" and "tesseract failed" in result.error and result.page_no == 7


def test_a_page_without_text_is_an_empty_page_not_a_failure(tesseract_engine: TesseractEngine):
    """Found on a run over the test data: Enterprise Architect's exports end with a blank page, and tesserocr's
    "No text returned" made it a failed page."""
    import io

    from PIL import Image, ImageDraw

    for draw_a_line in (False, True):
        img = Image.new("L", (1700, 2200), 255)
        if draw_a_line:  # a few strokes, no text: B.1.0's second page
            ImageDraw.Draw(img).line((200, 300, 1500, 300), fill=0, width=3)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        result = tesseract_engine.ocr_page(PageImage("doc", 2, buf.getvalue(), 200, 612, 792))
        assert (result.source, result.error, result.text.strip(), result.blocks) == ("ocr", None, "", ())


def test_results_come_back_in_input_order(fixtures: Path, tesseract_engine: TesseractEngine):
    pages = images(fixtures / "ru_report_p3-5_7.pdf", 100) * 3
    assert [r.page_no for r in tesseract_engine.ocr_pages(iter(pages))] == [p.page_no for p in pages]


def test_missing_language_data_says_what_to_install(tmp_path: Path):
    with pytest.raises(MissingDependencyError, match="tesseract-ocr-xyz"):
        find_tessdata(str(tmp_path), "xyz")
    with pytest.raises(MissingDependencyError):
        TesseractEngine(TesseractOptions(languages="rus+xyz", tessdata_dir=str(tmp_path)))


def test_options_are_bounded():
    with pytest.raises(ValueError):
        TesseractOptions(psm=99)
    with pytest.raises(ValueError):
        TesseractOptions(unknown=1)


def test_collapse_leaders_only_touches_table_of_contents_lines():
    assert collapse_leaders("1.2 Родительские таблицы .......... eee eens 8") == "1.2 Родительские таблицы ... 8"
    assert collapse_leaders("Введение. . . . . . . . . 5") == "Введение ... 5"
    for prose in ["Он сказал... и ушёл в 5", "Итого 5", "см. п. 3.2.1 и 4"]:
        assert collapse_leaders(prose) == prose


def test_a_page_that_takes_too_long_becomes_an_error_row(fixtures: Path):
    engine = TesseractEngine(TesseractOptions(workers=1, page_timeout_s=0.001))
    try:
        [page] = images(fixtures / "linn.pdf", 200)
        result = engine.ocr_page(page)
    finally:
        engine.close()
    assert result.source == "none" and "no result within" in result.error and result.text == ""


def test_pages_scanned_sideways_or_upside_down_are_read_upright(fixtures: Path, tesseract_engine: TesseractEngine):
    # cardinal.pdf: one page scanned four ways: upright, turned 90, 180 and 270 degrees.
    results = list(tesseract_engine.ocr_pages(images(fixtures / "cardinal.pdf", 150)))
    upright = results[0]
    assert upright.mean_confidence > 0.85
    for turned in results[1:]:
        assert turned.mean_confidence > 0.85, turned.page_no
        assert cer(upright.text, turned.text) < 0.05, turned.page_no
    # Boxes stay in the frame of the page as it is shown: upside down, the first line is at the bottom right.
    first_word = upright.blocks[0].text
    top = next(b for b in upright.blocks if b.text == first_word)
    flipped = next(b for b in results[2].blocks if b.text == first_word)
    with pymupdf.open(fixtures / "cardinal.pdf") as doc:
        w, h = doc[2].rect.width, doc[2].rect.height
    assert flipped.x0 == pytest.approx(w - top.x1, abs=15) and flipped.y0 == pytest.approx(h - top.y1, abs=15)


def test_unturn_box_inverts_each_quarter_turn():
    from PIL import Image

    from pdf_ocr_pipeline.engines.tesseract import unturn_box

    img = Image.new("L", (100, 50), 255)
    img.paste(0, (10, 5, 30, 15))  # a dark box at x 10-30, y 5-15
    for angle in (0, 90, 180, 270):
        turned = img.rotate(angle, expand=True)
        bbox = turned.point(lambda v: 255 - v).getbbox()
        assert unturn_box(bbox, angle, 100, 50) == (10, 5, 30, 15), angle


def _pool_picture() -> bytes:
    """A BPMN pool as a diagram tool draws it: two lanes whose names stand vertically in ruled strips, and a task."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 26)
    img = Image.new("RGB", (900, 520), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([10, 10, 890, 510], outline="black", width=3)
    draw.line([(50, 10), (50, 510)], fill="black", width=2)  # the lanes' name strip
    draw.line([(50, 260), (890, 260)], fill="black", width=2)
    for name, y in (("Дорожка 1", 135), ("Дорожка 2", 385)):
        label = Image.new("RGB", (200, 36), "white")
        ImageDraw.Draw(label).text((4, 2), name, fill="black", font=font)
        turned = label.rotate(90, expand=True)  # read bottom to top
        img.paste(turned, (14, y - turned.height // 2))
    draw.rounded_rectangle([300, 80, 520, 190], radius=14, outline="black", width=3)
    draw.text((330, 118), "Проверка", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@needs_tesseract
def test_a_pictures_vertical_labels_are_read(tesseract_engine: TesseractEngine):
    png = _pool_picture()
    region = tesseract_engine.ocr_page(PageImage("d", 1, png, 300, 216, 124.8, kind="region"))
    assert "Проверка" in region.text and "Дорожка 1" in region.text and "Дорожка 2" in region.text
    lane = next(b for b in region.blocks if b.text == "Дорожка")
    assert lane.y1 - lane.y0 > 3 * (lane.x1 - lane.x0) and lane.x1 < 50 * 72 / 300  # standing, in the strip (points)
