from pathlib import Path

from pdf_ocr_pipeline.engines.cache import PageCache
from pdf_ocr_pipeline.engines.router import ocr_document, wants_ocr
from pdf_ocr_pipeline.pdf.render import render_document

from ..fakes import FakeEngine


def rows(path: Path, dpi: int = 72) -> list[dict]:
    return [{"page_no": p.page_no, "png": p.png, "dpi": p.dpi, "width_pt": p.width_pt, "height_pt": p.height_pt,
             "image_sha256": p.image_sha256, "text_layer_usable": p.text_layer.usable, "error": p.error}
            for p in render_document(path, dpi=dpi)]


def test_policy():
    assert wants_ocr("auto", False) and not wants_ocr("auto", True)
    assert wants_ocr("ocr", True) and not wants_ocr("text", False)


def test_auto_never_sends_text_layer_pages_to_the_engine(fixtures: Path):
    engine = FakeEngine()
    pages = list(ocr_document("ru", fixtures / "ru_report_p3-5_7.pdf", rows(fixtures / "ru_report_p3-5_7.pdf"), engine))
    assert engine.seen == []
    assert [p.source for p in pages] == ["text_layer"] * 4
    assert pages[0].text.startswith("РЕФЕРАТ") and pages[0].blocks[0].label == "word"


def test_ocr_policy_sends_every_page_and_keeps_order(fixtures: Path):
    engine = FakeEngine()
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    pages = list(ocr_document("ru", pdf, rows(pdf), engine, policy="ocr"))
    assert engine.seen == [("ru", 1), ("ru", 2), ("ru", 3), ("ru", 4)]
    assert [p.page_no for p in pages] == [1, 2, 3, 4] and {p.source for p in pages} == {"ocr"}


def test_mixed_document_interleaves_in_page_order(fixtures: Path):
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    scan, text = rows(fixtures / "linn.pdf")[0], rows(pdf)
    mixed = [text[0], dict(scan, page_no=2), text[2], dict(scan, page_no=4)]
    engine = FakeEngine()
    pages = list(ocr_document("m", pdf, mixed, engine))
    assert [(p.page_no, p.source) for p in pages] == [(1, "text_layer"), (2, "ocr"), (3, "text_layer"), (4, "ocr")]
    assert engine.seen == [("m", 2), ("m", 4)]


def test_cache_means_a_rerun_redoes_nothing(tmp_path: Path, fixtures: Path):
    cache = PageCache(tmp_path)
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    first = FakeEngine()
    list(ocr_document("ru", pdf, rows(pdf), first, policy="ocr", cache=cache))
    second = FakeEngine()
    again = list(ocr_document("ru", pdf, rows(pdf), second, policy="ocr", cache=cache))
    assert second.seen == [] and all(p.cached and p.attempts == 0 for p in again)
    assert [p.text for p in again] == [f"fake text {n}" for n in (1, 2, 3, 4)]


def test_failed_pages_are_not_cached_and_are_retried(tmp_path: Path, fixtures: Path):
    cache = PageCache(tmp_path)
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    pages = list(ocr_document("ru", pdf, rows(pdf), FakeEngine(fail_pages=(2,)), policy="ocr", cache=cache))
    assert pages[1].error and pages[1].source == "none"
    retry = FakeEngine()
    list(ocr_document("ru", pdf, rows(pdf), retry, policy="ocr", cache=cache))
    assert retry.seen == [("ru", 2)]


def test_unrendered_pages_become_error_rows(fixtures: Path):
    bad = [{"page_no": 1, "png": None, "error": "render failed: boom"}]
    [page] = ocr_document("x", fixtures / "A.1.0.pdf", bad, FakeEngine())
    assert page.source == "none" and page.error == "render failed: boom"


def unrendered(path: Path) -> list[dict]:
    """``rendered_pages`` rows as the pipeline writes them for pages read from their text layer: no image."""
    return [dict(row, png=None, dpi=None, image_sha256=None) for row in rows(path)]


def test_pages_read_from_the_text_layer_need_no_image(fixtures: Path):
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    engine = FakeEngine()
    pages = list(ocr_document("ru", pdf, unrendered(pdf), engine))
    assert engine.seen == [] and [p.source for p in pages] == ["text_layer"] * 4


def test_unrendered_pages_are_rendered_at_the_ocr_dpi_when_the_policy_asks_for_ocr(fixtures: Path):
    pdf = fixtures / "ru_report_p3-5_7.pdf"
    engine = FakeEngine()
    pages = list(ocr_document("ru", pdf, unrendered(pdf), engine, policy="ocr", ocr_dpi=100))
    assert engine.seen == [("ru", n) for n in (1, 2, 3, 4)] and {p.source for p in pages} == {"ocr"}
    assert [round(d) for d in engine.dpis] == [100] * 4


def test_a_page_row_read_back_from_parquet_is_the_page_again(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pdf_ocr_pipeline.engines.base import Block, OcrPage, RegionRead
    from pdf_ocr_pipeline.pdf.blocks import TextBlock
    from pdf_ocr_pipeline.schemas import OCR_PAGES

    page = OcrPage("d", 3, "text_layer", "text_layer", text="Заголовок\n\nТекст",
                   blocks=(Block("word", "Текст", 1, 2, 3, 4, None, "text_layer"),
                           Block("word", "Task", 5, 6, 7, 8, 0.5, "ocr")),  # values float32 holds exactly
                   regions=(RegionRead(0, 10, 100, 60, "abc", 288.0, engine="tesseract", words=1),),
                   layout=(TextBlock("Заголовок", 72, 60, 300, 80, level=1, role="heading", size=14.0, bold=True),))
    pq.write_table(pa.Table.from_pylist([page.to_row()], schema=OCR_PAGES), tmp_path / "p.parquet")
    row = pq.read_table(tmp_path / "p.parquet").to_pylist()[0]
    again = OcrPage.from_row(row)
    assert again.regions == page.regions and again.layout == page.layout and again.blocks == page.blocks
    assert row["regions_ocr"] == 1 and row["regions"][0]["ppi"] == 288.0
