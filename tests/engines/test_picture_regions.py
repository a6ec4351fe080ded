"""Pictures on text-layer pages are OCR'd as regions under ``auto``: real PDFs, real Tesseract."""

from functools import partial

import pymupdf
import pytest

from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.cache import PageCache
from pdf_ocr_pipeline.engines.router import ocr_document, render_dpi
from pdf_ocr_pipeline.pdf.regions import MIN_REGION_SIDE_PT, picture_regions
from pdf_ocr_pipeline.pdf.render import render_document
from tests.conftest import needs_tesseract
from tests.pictures import AFTER, BODY, CAPTION, DIAGRAM_WORDS, logo_png, pasted_diagram_pdf, text_page


def _rows(path):
    for page in render_document(path, dpi=200, choose_dpi=partial(render_dpi, "auto", 200, 0)):
        tl = page.text_layer
        yield {"page_no": page.page_no, "png": page.png, "dpi": page.dpi, "width_pt": page.width_pt,
               "height_pt": page.height_pt, "image_sha256": page.image_sha256,
               "text_layer_usable": tl.usable, "error": page.error,
               "picture_regions": [r.as_row() for r in page.picture_regions]}


class CountingEngine:
    """The real Tesseract engine, counting the images it is given (pages and regions)."""

    def __init__(self, engine):
        self.engine, self.name, self.seen = engine, engine.name, []

    def version(self):
        return self.engine.version()

    def cache_identity(self):
        return self.engine.cache_identity()

    def ocr_pages(self, pages):
        def counted():
            for page in pages:
                self.seen.append(page)
                yield page
        return self.engine.ocr_pages(counted())


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


@needs_tesseract
def test_pasted_diagram_words_join_the_text_layer_in_reading_order(tmp_path, tesseract_engine):
    pdf = pasted_diagram_pdf(tmp_path / "doc.pdf")
    engine = CountingEngine(tesseract_engine)
    [page] = list(ocr_document("doc", pdf, _rows(pdf), engine, policy="auto"))
    assert page.source == "text_layer" and page.error is None
    assert [p.kind for p in engine.seen] == ["region"]  # the picture alone went to OCR, not the page
    [region] = page.regions
    assert region.error is None and region.engine == "tesseract" and region.words >= 6
    text = _norm(page.text)
    for words in DIAGRAM_WORDS:  # the diagram's words are in the page text ...
        assert _norm(words) in text
    # ... at the picture's place: after the body text, before the caption and the closing paragraph
    assert text.index(_norm(BODY)[:40]) < text.index("task 1") < text.index(_norm(CAPTION)) < text.index(_norm(AFTER)[:30])
    ocr_blocks = [b for b in page.blocks if b.source == "ocr"]
    assert {b.source for b in page.blocks} == {"text_layer", "ocr"}
    task1 = next(b for b in ocr_blocks if b.text == "Task" )
    box = (region.x0, region.y0, region.x1, region.y1)  # picture words sit inside the picture, in page points
    assert all(box[0] - 1 <= b.x0 and b.x1 <= box[2] + 1 and box[1] - 1 <= b.y0 and b.y1 <= box[3] + 1
               for b in ocr_blocks)
    assert task1.confidence is not None
    assert page.to_row()["regions_ocr"] == 1


@needs_tesseract
def test_a_logo_on_every_page_is_read_once_and_cached_across_documents(tmp_path, tesseract_engine):
    pdf = pasted_diagram_pdf(tmp_path / "doc.pdf", logo_pages=4)
    cache = PageCache(tmp_path / "cache")
    engine = CountingEngine(tesseract_engine)
    pages = list(ocr_document("doc", pdf, _rows(pdf), engine, policy="auto", cache=cache))
    assert len(engine.seen) == 2  # the diagram and the logo, once
    for page in pages[1:]:
        assert "ACME" in page.text and [r.cached for r in page.regions] in ([False], [True])
    assert sum(not r.cached for p in pages[1:] for r in p.regions) == 1
    # another document with the same logo: served from the cache, nothing OCR'd
    again = CountingEngine(tesseract_engine)
    pages = list(ocr_document("other", pdf, _rows(pdf), again, policy="auto", cache=cache))
    assert again.seen == [] and all("ACME" in p.text for p in pages[1:])


def test_pages_without_pictures_send_nothing_and_policy_text_reads_no_picture(tmp_path):
    pdf = pasted_diagram_pdf(tmp_path / "doc.pdf")

    class Refuses:
        name = "refuses"

        def version(self):
            return "0"

        def cache_identity(self):
            return "refuses"

        def ocr_pages(self, pages):
            for page in pages:
                raise AssertionError(f"nothing should be OCR'd, got page {page.page_no}")
            return iter(())

    [page] = list(ocr_document("doc", pdf, _rows(pdf), Refuses(), policy="text"))
    assert page.source == "text_layer" and page.regions == () and "Task 1" not in page.text
    doc = pymupdf.open()
    text_page(doc, "Заголовок", [BODY])
    doc.save(tmp_path / "plain.pdf")
    [page] = list(ocr_document("plain", tmp_path / "plain.pdf", _rows(tmp_path / "plain.pdf"), Refuses()))
    assert page.regions == () and page.to_row()["regions_ocr"] == 0


def test_small_pictures_and_pictures_with_text_over_them_are_not_regions(tmp_path):
    doc = pymupdf.open()
    page, y = text_page(doc, "Заголовок", [BODY])
    page.insert_image(pymupdf.Rect(72, y + 5, 72 + MIN_REGION_SIDE_PT - 4, y + 5 + MIN_REGION_SIDE_PT - 4),
                      stream=logo_png())  # a bullet-sized picture
    under = pymupdf.Rect(72, y + 40, 400, y + 140)
    page.insert_image(under, stream=logo_png("picture"))
    page.insert_textbox(under, "Подпись поверх рисунка из нескольких слов", fontname="serif", fontsize=11)
    big = pymupdf.Rect(72, y + 200, 400, y + 300)
    page.insert_image(big, stream=logo_png("other"))
    regions = picture_regions(page)
    assert len(regions) == 1
    assert regions[0].y0 == pytest.approx(big.y0, abs=30) and regions[0].width <= big.width + 1


@needs_tesseract
def test_a_broken_picture_costs_its_region_only(tmp_path, tesseract_engine):
    pdf = pasted_diagram_pdf(tmp_path / "doc.pdf")
    doc = pymupdf.open(pdf)
    xref = doc[0].get_images()[0][0]
    doc.update_stream(xref, b"\x00not an image at all" * 50, compress=False)
    doc.save(tmp_path / "broken.pdf")
    doc.close()
    rows = list(_rows(tmp_path / "broken.pdf"))
    pages = list(ocr_document("broken", tmp_path / "broken.pdf", rows, tesseract_engine, policy="auto"))
    [page] = pages
    assert page.source == "text_layer" and page.error is None and _norm(BODY)[:40] in _norm(page.text)
    # MuPDF either draws nothing for the broken picture (no words), or fails on it (the region's error)
    assert all(r.error or r.words == 0 for r in page.regions)




@needs_tesseract
@pytest.mark.parametrize("rotation", [90, 270])
def test_pictures_on_a_turned_page_are_found_and_their_words_land_on_them(tmp_path, tesseract_engine, rotation):
    doc = pymupdf.open()
    page, _ = text_page(doc, "Заголовок", [BODY])
    page.insert_image(pymupdf.Rect(72, 600, 372, 660), stream=logo_png("ACME Holding"))  # low on the unturned page
    page.set_rotation(rotation)
    doc.save(tmp_path / "turned.pdf")
    [page_ocr] = list(ocr_document("t", tmp_path / "turned.pdf", _rows(tmp_path / "turned.pdf"), tesseract_engine))
    [region] = page_ocr.regions
    assert region.error is None and "ACME" in page_ocr.text
    with pymupdf.open(tmp_path / "turned.pdf") as reopened:  # the picture's place on the page as displayed
        shown = pymupdf.Rect(reopened[0].get_image_info()[0]["bbox"]) * reopened[0].rotation_matrix
    assert (region.x0, region.y0, region.x1, region.y1) == pytest.approx(tuple(shown), abs=0.5)
    words = [b for b in page_ocr.blocks if b.source == "ocr"]
    assert words and all(shown.x0 - 1 <= b.x0 and b.x1 <= shown.x1 + 1 and shown.y0 - 1 <= b.y0 and b.y1 <= shown.y1 + 1
                         for b in words)


def test_a_page_sized_background_does_not_hide_the_pictures_on_it(tmp_path):
    from tests.pictures import diagram_png, no_text_png

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=no_text_png(60, 80), overlay=False)  # a letterhead background
    page.insert_font(fontname="serif", fontfile="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    page.insert_textbox(pymupdf.Rect(72, 72, 523, 200), BODY, fontname="serif", fontsize=11)
    page.insert_image(pymupdf.Rect(90, 250, 505, 500), stream=diagram_png())
    [region] = picture_regions(page)
    assert 250 <= region.y0 and region.y1 <= 500 and region.width > 400


def test_an_inline_picture_of_a_listed_pictures_size_keeps_its_own_identity(tmp_path):
    import io

    from PIL import Image

    doc = pymupdf.open()
    page, _ = text_page(doc, "Заголовок", [BODY])
    listed = Image.open(io.BytesIO(logo_png("ACME Holding"))).convert("RGB")
    inline = Image.open(io.BytesIO(logo_png("Other Company"))).convert("RGB").resize(listed.size)
    buf = io.BytesIO()
    listed.save(buf, "PNG")
    page.insert_image(pymupdf.Rect(72, 300, 372, 360), stream=buf.getvalue())
    w, h = inline.size  # the same pixel size, drawn as an inline image (BI ... ID ... EI) lower on the page
    content = page.get_contents()[-1]
    doc.update_stream(content, doc.xref_stream(content) + b"\nq 300 0 0 54 72 342 cm BI /W %d /H %d /CS /RGB /BPC 8 "
                      b"/F /AHx ID\n%s>\nEI Q\n" % (w, h, inline.tobytes().hex().encode()))
    doc.save(tmp_path / "inline.pdf")
    with pymupdf.open(tmp_path / "inline.pdf") as reopened:
        regions = picture_regions(reopened[0])
    assert len(regions) == 2 and regions[0].content != regions[1].content


@needs_tesseract
def test_a_page_number_over_a_repeated_header_picture_is_each_pages_own(tmp_path, tesseract_engine):
    # a letterhead picture repeated on every page, the page's number written over it as text: the picture is read
    # once, and each page keeps its own number from the text layer, not the number OCR read on the first page
    doc = pymupdf.open()
    for n in (1, 2, 3):
        page, _ = text_page(doc, "Раздел", [BODY], y=120)
        page.insert_image(pymupdf.Rect(72, 20, 522, 80), stream=logo_png("ACME Holding         "))
        page.insert_text((470, 58), f"{n}7", fontname="helv", fontsize=16)  # "17", "27", "37" on the picture
    doc.save(tmp_path / "numbered.pdf")
    engine = CountingEngine(tesseract_engine)
    pages = list(ocr_document("n", tmp_path / "numbered.pdf", _rows(tmp_path / "numbered.pdf"), engine))
    assert len(engine.seen) == 1  # one picture
    for n, page in enumerate(pages, 1):
        assert "ACME" in page.text and f"{n}7" in page.text
        assert not [b for b in page.blocks if b.source == "ocr" and b.text.strip(".,") in {"17", "27", "37"}]
        others = {"17", "27", "37"} - {f"{n}7"}
        assert not any(o in page.text.split() for o in others)
