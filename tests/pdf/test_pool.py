"""Per-page work spread over worker processes: same results, in page order, as in one process."""

from functools import partial
from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.document import find_diagrams
from pdf_ocr_pipeline.engines.router import render_dpi
from pdf_ocr_pipeline.pdf import pool
from pdf_ocr_pipeline.pdf.pool import map_pages
from pdf_ocr_pipeline.pdf.render import render_document


def first_word(page: pymupdf.Page, tag: str) -> tuple:
    """Module-level, so the workers can unpickle it."""
    return tag, page.number + 1, page.get_text("words")[0][4]


def fails_on_page_3(page: pymupdf.Page, _) -> int:
    if page.number == 2:
        raise ValueError("page 3 is damaged")
    return page.number + 1


@pytest.fixture
def workers_from_page_one(monkeypatch):
    monkeypatch.setattr(pool, "MIN_PAGES_FOR_WORKERS", 1)  # read in the parent only: the workers need not see it


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory, fixtures: Path) -> Path:
    """Text pages with a vector BPMN diagram (A.1.0) twice among them."""
    doc = pymupdf.open()
    diagram = pymupdf.open(fixtures / "A.1.0.pdf")
    for i in range(12):
        if i in (3, 9):
            doc.insert_pdf(diagram)
        else:
            doc.new_page().insert_text((72, 72), f"page{i + 1} of plain text")
    path = tmp_path_factory.mktemp("pool") / "mixed.pdf"
    doc.save(path)
    return path


def test_results_come_in_the_order_of_the_items(mixed_pdf: Path, workers_from_page_one):
    items = [(no, f"t{no}") for no in (5, 1, 12, 2, 2, 7, 3, 11, 6, 8, 10, 4)]
    expected = list(map_pages(first_word, mixed_pdf, items, workers=1))
    assert list(map_pages(first_word, mixed_pdf, items, workers=2)) == expected
    assert [no for _, no, _ in expected] == [no for no, _ in items]


def test_an_error_in_a_worker_is_raised_at_its_page(mixed_pdf: Path, workers_from_page_one):
    results = map_pages(fails_on_page_3, mixed_pdf, ((no, None) for no in range(1, 13)), workers=2)
    assert [next(results), next(results)] == [1, 2]
    with pytest.raises(ValueError, match="page 3 is damaged"):
        next(results)


def test_rendering_and_the_bpmn_search_give_the_same_in_workers(mixed_pdf: Path, workers_from_page_one):
    choose = partial(render_dpi, "auto", 100, 0)
    one, two = (list(render_document(mixed_pdf, dpi=100, choose_dpi=choose, workers=w)) for w in (1, 2))
    assert [(p.page_no, p.png, p.text_layer) for p in two] == [(p.page_no, p.png, p.text_layer) for p in one]

    doc = pymupdf.open(mixed_pdf)
    rows = [{"page_no": p.number + 1, "png": None, "dpi": None,
             "blocks": [{"label": "word", "text": w[4], "x0": w[0], "y0": w[1], "x1": w[2], "y1": w[3],
                         "confidence": None} for w in p.get_text("words")]} for p in doc]
    one, two = (list(find_diagrams(mixed_pdf, rows, workers=w)) for w in (1, 2))
    assert [d.page_no for d in two] == [d.page_no for d in one] == [4, 10]
    assert [d.counts() for d in two] == [d.counts() for d in one]
