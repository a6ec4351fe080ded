"""Vector pages whose drawings cannot carry the vector path (``bpmn.vector.usable``): text as curves, the whole
diagram in one path, sketchy strokes. The unusable pages are real vector diagrams transformed the way exporters
do it (text to outlines, everything flattened into one path) or a real bpmn-js-sketchy render; the clean pages are
every vector fixture page and, where present, ``../shared/testdata``'s MIWG reference and tool renders."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram
from pdf_ocr_pipeline.bpmn.detect import choose_path
from pdf_ocr_pipeline.bpmn.document import model_row, vector_notes
from pdf_ocr_pipeline.bpmn.vector.usable import page_unusable_reason, unusable_reason
from pdf_ocr_pipeline.schemas import BPMN_MODELS
from pdf_ocr_pipeline.bpmn.raster.detector.extract import PICTURE_METHODS  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
BPMNJS = FIXTURES / "corpus" / "flows-ex04_writer0013-default-vector.pdf"  # bpmn-js, dotted associations as dots
BPMNVIS = FIXTURES / "corpus" / "bpmnvis-ex00_writer0001-vector.pdf"
MIWG = FIXTURES / "A.2.0.pdf"
SKETCHY = FIXTURES / "corpus" / "sample" / "ex00_writer0034-sketchy-vector.pdf"


def text_as_curves(src: Path) -> pymupdf.Document:
    """The PDF with its text turned into glyph outlines: MuPDF's SVG (text as paths) read back as a PDF."""
    out = pymupdf.open()
    with pymupdf.open(src) as doc:
        for page in doc:
            svg = pymupdf.open("svg", page.get_svg_image(text_as_path=True).encode())
            out.insert_pdf(pymupdf.open("pdf", svg.convert_to_pdf()))
    return out


def one_path(src: Path) -> pymupdf.Document:
    """The PDF with all its drawings re-emitted as one stroked path (PyMuPDF ``Shape``), its text kept as text."""
    out = pymupdf.open()
    with pymupdf.open(src) as doc:
        for page in doc:
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            shape = new.new_shape()
            for drawing in page.get_drawings():
                for kind, *args in drawing["items"]:
                    if kind == "l":
                        shape.draw_line(*args)
                    elif kind == "c":
                        shape.draw_bezier(*args)
                    elif kind == "re":
                        shape.draw_rect(args[0])
                    elif kind == "qu":
                        shape.draw_quad(args[0])
            shape.finish(color=(0, 0, 0), width=1)
            shape.commit()
            for x0, y0, x1, y1, text, *_ in page.get_text("words"):
                new.insert_text((x0, y1 - 0.2 * (y1 - y0)), text, fontsize=max(4.0, 0.8 * (y1 - y0)))
    return out


@pytest.mark.parametrize("src", [BPMNJS, BPMNVIS, MIWG], ids=["bpmnjs", "bpmnvis", "miwg-A.2.0"])
def test_text_as_curves_is_unusable(src):
    doc = text_as_curves(src)
    page = doc[0]
    assert not page.get_text("words") and len(page.get_drawings()) > 100
    assert choose_path(page) == "vector"  # without the check, the vector path would take it
    reason = page_unusable_reason(page)
    assert reason and reason.startswith("text as curves"), reason
    # the same drawings with their text layer are fine: it is the missing text that gives outlines away
    with pymupdf.open(src) as clean:
        assert unusable_reason(page.get_drawings(), clean[0].get_text("words")) is None


@pytest.mark.parametrize("src", [BPMNJS, BPMNVIS, MIWG], ids=["bpmnjs", "bpmnvis", "miwg-A.2.0"])
def test_one_path_is_unusable(src):
    page = one_path(src)[0]
    drawings = page.get_drawings()
    assert len(drawings) == 1 and page.get_text("words")
    reason = unusable_reason(drawings, page.get_text("words"))
    assert reason and reason.startswith("one path: one drawing holds"), reason


def test_sketchy_strokes_are_unusable():
    with pymupdf.open(SKETCHY) as doc:
        reason = page_unusable_reason(doc[0])
    assert reason and reason.startswith("sketchy strokes"), reason


def _clean_vector_pages():
    files = [f for f in sorted(FIXTURES.rglob("*.pdf")) if "sketchy" not in f.name]
    for folder in ("miwg-reference", "miwg-tool-renders"):
        if (TESTDATA / folder).is_dir():
            files += sorted((TESTDATA / folder).rglob("*.pdf"))
    for f in files:
        with pymupdf.open(f) as doc:
            for page in doc:
                if choose_path(page) == "vector":
                    yield f, page.number + 1, page_unusable_reason(page)


def test_clean_vector_pages_are_usable():
    pages = list(_clean_vector_pages())
    assert len(pages) >= 20  # fixtures alone: 21 vector pages
    assert [(f.name, n, r) for f, n, r in pages if r] == []


def test_extract_diagram_reads_a_text_as_curves_page_as_raster(tmp_path):
    pdf = tmp_path / "curves.pdf"
    text_as_curves(BPMNVIS).save(pdf)
    diagram = extract_diagram(pdf, 1)
    assert diagram is not None and diagram.method in PICTURE_METHODS
    assert diagram.vector_note.startswith("text as curves")
    assert len(diagram.shapes) >= 8 and len(diagram.flows) >= 8
    assert vector_notes(pdf, [1]) == {1: diagram.vector_note}  # what bpmn_models asks again
    row = model_row(diagram, "doc", tmp_path / "page-1.bpmn")
    assert row["vector_note"] == diagram.vector_note and row["xml_valid"]
    table = pa.Table.from_pylist([row], schema=BPMN_MODELS)
    assert table.column("vector_note").to_pylist() == [diagram.vector_note]
    # a forced path is taken as asked, with no note
    forced = extract_diagram(pdf, 1, path="raster")
    assert forced is not None and forced.vector_note is None


def test_clean_page_has_no_note(tmp_path):
    diagram = extract_diagram(BPMNVIS, 1)
    assert diagram is not None and diagram.method == "vector" and diagram.vector_note is None
    assert model_row(diagram, "doc", tmp_path / "page-1.bpmn")["vector_note"] is None
    assert vector_notes(BPMNVIS, [1]) == {}


def test_old_bpmn_models_files_still_read(tmp_path):
    """A ``bpmn_models`` file written before ``vector_note`` reads beside a new one (missing column: null)."""
    import pyarrow.parquet as pq

    from pdf_ocr_pipeline.report import read_table

    folder = tmp_path / "warehouse" / "bpmn_models"
    folder.mkdir(parents=True)
    row = {f.name: None for f in BPMN_MODELS} | {"doc_id": "new", "page_no": 1, "vector_note": "one path: x"}
    pq.write_table(pa.Table.from_pylist([row], schema=BPMN_MODELS), folder / "new.parquet")
    old_schema = pa.schema([f for f in BPMN_MODELS if f.name != "vector_note"])
    old = {k: v for k, v in row.items() if k != "vector_note"} | {"doc_id": "old"}
    pq.write_table(pa.Table.from_pylist([old], schema=old_schema), folder / "old.parquet")
    frame = read_table(tmp_path, "bpmn_models").sort("doc_id")
    assert frame["vector_note"].to_list() == ["one path: x", None]


@pytest.mark.parametrize("transform, reason", [(text_as_curves, "text as curves"), (one_path, "one path")],
                         ids=["text-as-curves", "one-path"])
def test_the_bpmn_assets_record_why_a_page_went_to_raster(tmp_path, inbox, transform, reason):
    """In a real Dagster run: the model row says why, and both assets count the page in their metadata. A page of
    one path has fewer drawings than ``document.MIN_DRAWINGS`` and is searched all the same."""
    import polars as pl

    from ..assets.test_pipeline import run
    from ..fakes import FakeEngineResource

    pdf = inbox / "diagram.pdf"
    transform(BPMNVIS).save(pdf)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource())
    assert result.success
    model = pl.read_parquet(wh / "bpmn_models" / f"{doc_id}.parquet").row(0, named=True)
    assert model["method"] in PICTURE_METHODS and model["vector_note"].startswith(reason)
    for asset in ("bpmn_elements", "bpmn_models"):
        [materialization] = result.asset_materializations_for_node(asset)
        assert materialization.metadata["vector_unusable_pages"].value == 1
        assert f"page 1: {reason}" in materialization.metadata["vector_unusable"].value
