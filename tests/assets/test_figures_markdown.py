"""Pictures in text pages through real Dagster runs: OCR'd regions, the figures table, the BPMN diagram in the
picture, and the document's Markdown read back (real PDFs built in the test, real Tesseract)."""

import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pdf_ocr_pipeline.cli import main as cli_main
from pdf_ocr_pipeline.resources import OcrEngineResource
from pdf_ocr_pipeline.schemas import TABLES

from ..conftest import needs_tesseract
from ..pictures import AFTER, BODY, CAPTION, DIAGRAM_WORDS, pasted_diagram_pdf
from .test_pipeline import run


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[*>#_`-]", " ", text).split()).lower()


@needs_tesseract
def test_pictures_of_a_text_document_become_words_figures_a_diagram_and_markdown(tmp_path: Path, inbox: Path,
                                                                                   capsys):
    pdf = pasted_diagram_pdf(inbox / "Регламент.pdf", logo_pages=3, no_text_picture=True)
    doc_id, result, wh = run(tmp_path, pdf, OcrEngineResource(workers=2))
    assert result.success
    for table in ("figures", "document_markdown", "ocr_pages", "rendered_pages"):
        assert pq.read_schema(wh / table / f"{doc_id}.parquet").equals(TABLES[table], check_metadata=False)

    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")
    assert ocr["source"].to_list() == ["text_layer"] * 5  # the pages kept their text layer ...
    assert ocr["regions_ocr"].to_list() == [1, 1, 1, 1, 1]  # ... and each picture was read
    page1 = ocr.row(0, named=True)
    assert all(_norm(w) in _norm(page1["text"]) for w in DIAGRAM_WORDS)
    assert {b["source"] for b in page1["blocks"]} == {"text_layer", "ocr"}
    reused = [r["cached"] for p in ocr["regions"].to_list()[1:4] for r in p]
    assert reused.count(False) == 1  # the logo on pages 2-4 was OCR'd once
    run_metadata = result.asset_materializations_for_node("ocr_pages")[0].metadata
    assert run_metadata["pages_ocr"].value == 0

    figures = pl.read_parquet(wh / "figures" / f"{doc_id}.parquet")
    assert figures["page_no"].to_list() == [1, 2, 3, 4, 5]
    assert figures["kind"].to_list() == ["diagram", "logo", "logo", "logo", "photo"]
    diagram = figures.row(0, named=True)
    assert diagram["bpmn_page"] and diagram["engine"] == "tesseract" and "Task 1" in diagram["text"]
    assert figures["text"][1].count("ACME") == 1 and figures["content"][1] == figures["content"][3]
    assert figures["words"][4] == 0 and figures["error"].null_count() == 5
    figure_md = result.asset_materializations_for_node("figures")[0].metadata["preview"].value
    assert "data:image/png;base64," in figure_md and "diagram" in figure_md  # the UI shows the crops

    elements = pl.read_parquet(wh / "bpmn_elements" / f"{doc_id}.parquet")
    tasks = elements.filter(pl.col("type").str.contains("(?i)task|activity"))
    assert sorted(tasks["label"]) == ["Task 1", "Task 2", "Task 3"]  # labelled by the picture's OCR words
    assert not any(_norm(CAPTION)[:20] in _norm(label) for label in elements["label"])  # no caption as a label
    box = (diagram["x0"], diagram["y0"], diagram["x1"], diagram["y1"])
    assert all(box[0] - 2 <= r["x0"] and r["x1"] <= box[2] + 2 for r in tasks.iter_rows(named=True))

    row = pl.read_parquet(wh / "document_markdown" / f"{doc_id}.parquet").row(0, named=True)
    md = Path(row["path"]).read_text("utf-8")
    assert md == row["markdown"] and row["pages"] == 5 and row["diagrams"] == 1 and row["figures"] == 5
    assert "(../bpmn/" + doc_id + "/page-1.bpmn)" in md and (wh / "bpmn" / doc_id / "page-1.bpmn").is_file()
    page_marks = [int(n) for n in re.findall(r"<!-- page (\d+) -->", md)]
    assert page_marks == [1, 2, 3, 4, 5]
    flat = _norm(md)
    # in order: heading, body, the diagram (summarised, its tasks in flow order), caption, closing paragraph
    order = [flat.index(_norm(s)) for s in ("1 Порядок согласования", BODY[:50], "task 1", "task 2", "task 3",
                                            CAPTION, AFTER[:40])]
    assert order == sorted(order)
    for page_text in ocr["text"]:  # nothing of ocr_pages.text is lost
        assert set(_norm(page_text).split()) <= set(flat.split())

    # the same Markdown through the CLI, and one JSON line a page
    assert cli_main(["export", doc_id, "--data-dir", str(wh.parent)]) == 0
    assert capsys.readouterr().out.strip() == md.strip()
    assert cli_main(["export", "Регламент.pdf", "--data-dir", str(wh.parent), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and '"page_no": 1' in lines[0] and "Порядок" in lines[0]
