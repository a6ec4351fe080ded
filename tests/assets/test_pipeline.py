"""Real Dagster materializations into a temporary data dir, read back as Parquet with polars."""

from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from pdf_ocr_pipeline.assets import PIPELINE_ASSETS
from pdf_ocr_pipeline.assets.metrics import STAGES
from pdf_ocr_pipeline.checks import PIPELINE_CHECKS
from pdf_ocr_pipeline.engines.router import REGION_MAX_DPI
from pdf_ocr_pipeline.inbox import DocumentRegistry
from pdf_ocr_pipeline.resources import OcrEngineResource, WarehouseResource
from pdf_ocr_pipeline.schemas import TABLES

from ..conftest import copy_fixture, needs_tesseract
from ..fakes import BUILT, FakeEngineResource, pages_seen


@pytest.fixture(autouse=True)
def _fresh_fakes():
    BUILT.clear()


def run(tmp_path: Path, pdf: Path, engine: OcrEngineResource, instance=None):
    data = tmp_path / "data"
    doc_id = DocumentRegistry(data).register(pdf)
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("documents", [doc_id])
    result = dg.materialize(
        [*PIPELINE_ASSETS, *PIPELINE_CHECKS], partition_key=doc_id, instance=instance, raise_on_error=False,
        resources={"warehouse": WarehouseResource(data_dir=str(data), inbox_dir=str(pdf.parent)),
                   "ocr_engine": engine},
    )
    return doc_id, result, data / "warehouse"


@needs_tesseract
def test_scan_and_text_layer_through_every_stage(tmp_path: Path, inbox: Path):
    scan = copy_fixture("linn.pdf", inbox, "Скан страницы.pdf")
    doc_id, result, wh = run(tmp_path, scan, OcrEngineResource(dpi=150, workers=2))
    assert result.success
    assert doc_id.startswith("Скан_страницы-")
    for table, schema in TABLES.items():
        path = wh / table / f"{doc_id}.parquet"
        assert pq.read_schema(path).equals(schema, check_metadata=False), table
    raw = pl.read_parquet(wh / "raw_pdfs" / f"{doc_id}.parquet")
    assert raw.row(0, named=True)["page_count"] == 1 and raw["error"][0] is None
    pages = pl.read_parquet(wh / "rendered_pages" / f"{doc_id}.parquet")
    assert pages["text_layer_usable"].to_list() == [False] and pages["png"][0][:4] == b"\x89PNG"
    ocr = pl.read_parquet(wh / "ocr_pages" / "*.parquet")
    row = ocr.row(0, named=True)
    assert row["source"] == "ocr" and row["engine"] == "tesseract" and "LinnSequencer" in row["text"]
    assert len(row["blocks"]) > 300 and row["blocks"][0]["confidence"] is not None
    metrics = pl.read_parquet(wh / "run_metrics" / f"{doc_id}.parquet")
    assert metrics["stage"].to_list() == ["raw_pdfs", "rendered_pages", "ocr_pages", "bpmn_elements",
                                          "bpmn_models", "figures", "document_markdown"]
    ocr_metrics = metrics.filter(pl.col("stage") == "ocr_pages").row(0, named=True)
    assert ocr_metrics["pages"] == 1 and ocr_metrics["seconds"] > 0 and ocr_metrics["peak_rss_mb"] > 50
    assert ocr_metrics["engine"] == "tesseract"
    # the UI plots numeric metadata of each materialization
    mat = result.asset_materializations_for_node("ocr_pages")[0]
    assert mat.metadata["pages_per_s"].value > 0 and mat.metadata["pages_ocr"].value == 1


def test_text_layer_pages_never_reach_the_engine(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("ru_report_p3-5_7.pdf", inbox)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource())
    assert result.success
    assert len(BUILT) == 1 and pages_seen() == []  # the engine was there, and got nothing
    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")
    assert ocr["source"].to_list() == ["text_layer"] * 4 and ocr["page_no"].to_list() == [1, 2, 3, 4]
    assert all(ocr["doc_id"] == doc_id)


def test_a_bad_file_is_recorded_and_stops_its_own_run_only(tmp_path: Path, inbox: Path):
    bad = inbox / "broken.pdf"
    bad.write_bytes(b"<html>not a pdf</html>")
    instance = dg.DagsterInstance.ephemeral()
    doc_id, result, wh = run(tmp_path, bad, FakeEngineResource(), instance)
    assert not result.success
    raw = pl.read_parquet(wh / "raw_pdfs" / f"{doc_id}.parquet").row(0, named=True)
    assert "not a PDF" in raw["error"] and "HTML" in raw["error"]
    assert not (wh / "ocr_pages" / f"{doc_id}.parquet").exists()
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks if c.check_name == "pdf_is_readable"] == [False]
    good = copy_fixture("A.1.0.pdf", inbox)
    _, good_result, _ = run(tmp_path, good, FakeEngineResource(), instance)
    assert good_result.success


def test_a_rerun_replaces_outputs_without_duplicates(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("A.1.0.pdf", inbox)
    instance = dg.DagsterInstance.ephemeral()
    run(tmp_path, pdf, FakeEngineResource(), instance)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource(pages="ocr"), instance)
    assert result.success
    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")
    assert ocr.height == 1 and ocr["source"][0] == "ocr"
    # run_metrics describes the latest materialization of each stage
    metrics = pl.read_parquet(wh / "run_metrics" / f"{doc_id}.parquet")
    assert metrics.height == len(STAGES) and metrics["run_id"].n_unique() == 1


def test_failed_pages_are_rows_with_errors_and_the_check_warns(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("ru_report_p3-5_7.pdf", inbox)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource(pages="ocr", fail_pages=[2]))
    assert result.success  # the document completes
    assert pages_seen() == [(doc_id, n) for n in (1, 2, 3, 4)]
    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")
    assert ocr.filter(pl.col("error").is_not_null())["page_no"].to_list() == [2]
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "ocr_pages_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


@pytest.mark.parametrize("policy, reaches_engine", [("text", False), ("auto", True), ("ocr", True)])
def test_page_policy_decides_what_reaches_the_engine(tmp_path: Path, inbox: Path, policy: str, reaches_engine: bool):
    pdf = copy_fixture("linn.pdf", inbox)  # a scan: no text layer
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource(pages=policy))
    assert result.success
    assert pages_seen() == ([(doc_id, 1)] if reaches_engine else [])
    source = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")["source"][0]
    assert source == ("ocr" if reaches_engine else "text_layer")


def test_text_layer_pages_are_not_rendered_and_get_full_resolution_when_ocr_is_asked_later(tmp_path: Path,
                                                                                             inbox: Path):
    pdf = copy_fixture("A.1.0.pdf", inbox)
    instance = dg.DagsterInstance.ephemeral()
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource(dpi=200), instance)
    assert result.success
    page = pl.read_parquet(wh / "rendered_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert page["text_layer_usable"] and page["png"] is None and page["error"] is None
    assert page["dpi"] is None and page["image_sha256"] is None and page["width_pt"] > 0
    assert pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet")["source"].to_list() == ["text_layer"]
    assert pl.read_parquet(wh / "bpmn_models" / f"{doc_id}.parquet").height == 1  # found on the PDF itself
    # Only ocr_pages again, now with policy "ocr": the page is rendered at the OCR resolution first.
    from pdf_ocr_pipeline.assets import ocr_pages
    from pdf_ocr_pipeline.resources import WarehouseResource

    dg.materialize([ocr_pages], partition_key=doc_id, instance=instance, resources={
        "warehouse": WarehouseResource(data_dir=str(tmp_path / "data"), inbox_dir=str(inbox)),
        "ocr_engine": FakeEngineResource(dpi=200, pages="ocr")})
    # the first run read only the page's picture (A.1.0's logo), as a region at its resolution; this one the page
    assert BUILT[0].seen == [(doc_id, 1)] and 200 <= BUILT[0].dpis[0] <= REGION_MAX_DPI
    assert [round(d) for d in BUILT[-1].dpis] == [200]


def test_a_preview_dpi_stores_previews_of_text_layer_pages(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("A.1.0.pdf", inbox)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource(dpi=200, preview_dpi=72))
    page = pl.read_parquet(wh / "rendered_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert result.success and page["text_layer_usable"] and page["png"][:4] == b"\x89PNG"
    assert page["dpi"] == pytest.approx(72, abs=0.5)


def test_a_page_the_bpmn_search_fails_on_costs_only_that_page(tmp_path: Path, inbox: Path, monkeypatch):
    """Nothing lost: the search failing on one page (a damaged page, an image it cannot handle) is counted and
    logged, and the document's other diagrams are still found and written."""
    import pymupdf

    from pdf_ocr_pipeline.bpmn import document

    doc = pymupdf.open()
    for _ in range(2):
        doc.insert_pdf(pymupdf.open(copy_fixture("A.1.0.pdf", tmp_path)))
    pdf = inbox / "two diagrams.pdf"
    doc.save(pdf)
    search = document.search_page

    def fails_on_page_1(page, row):
        if row["page_no"] == 1:
            raise ValueError("an image the search cannot handle")
        return search(page, row)

    monkeypatch.setattr(document, "search_page", fails_on_page_1)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource())
    assert result.success
    assert pl.read_parquet(wh / "bpmn_models" / f"{doc_id}.parquet")["page_no"].to_list() == [2]
    assert set(pl.read_parquet(wh / "bpmn_elements" / f"{doc_id}.parquet")["page_no"]) == {2}
    mat = result.asset_materializations_for_node("bpmn_elements")[0]
    assert mat.metadata["failures"].value == 1
    assert "page 1: ValueError: an image the search cannot handle" in mat.metadata["failed_pages"].value
    metrics = pl.read_parquet(wh / "run_metrics" / f"{doc_id}.parquet")
    assert metrics.filter(pl.col("stage") == "bpmn_elements")["failures"].to_list() == [1]
