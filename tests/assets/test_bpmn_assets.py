"""The BPMN stages in real Dagster runs: a vector diagram page becomes element rows, a model row and a .bpmn file."""

import xml.etree.ElementTree as ET
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from pdf_ocr_pipeline.schemas import TABLES

from ..conftest import copy_fixture
from ..fakes import FakeEngineResource
from .test_pipeline import run

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def test_a_vector_diagram_becomes_elements_a_model_and_a_file(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("A.1.0.pdf", inbox, "Процесс A.1.0.pdf")
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource())
    assert result.success
    for table in ("bpmn_elements", "bpmn_models"):
        assert pq.read_schema(wh / table / f"{doc_id}.parquet").equals(TABLES[table], check_metadata=False)
    elements = pl.read_parquet(wh / "bpmn_elements" / f"{doc_id}.parquet")
    types = elements["type"].value_counts().sort("type")
    assert dict(types.iter_rows()) == {"endEvent": 1, "sequenceFlow": 4, "startEvent": 1, "task": 3}
    tasks = elements.filter(pl.col("type") == "task")
    assert sorted(tasks["label"]) == ["Task 1", "Task 2", "Task 3"]
    flows = elements.filter(pl.col("type") == "sequenceFlow")
    shape_ids = set(elements.filter(pl.col("type") != "sequenceFlow")["element_id"])
    assert set(flows["source_id"]) <= shape_ids and set(flows["target_id"]) <= shape_ids
    assert all(len(w) >= 2 for w in flows["waypoints"])
    model = pl.read_parquet(wh / "bpmn_models" / f"{doc_id}.parquet").row(0, named=True)
    assert model["xml_valid"] and model["shapes"] == 5 and model["flows"] == 4 and model["unresolved_flows"] == 0
    path = Path(model["xml_path"])
    assert path == wh / "bpmn" / doc_id / "page-1.bpmn" and path.read_text("utf-8") == model["xml"]
    root = ET.parse(path).getroot()
    assert len(root.findall(f".//{BPMN}task")) == 3 and len(root.findall(f".//{BPMN}sequenceFlow")) == 4
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "bpmn_xml_valid"]
    assert check.passed


def test_pages_without_diagrams_give_no_rows(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("ru_report_p3-5_7.pdf", inbox)
    doc_id, result, wh = run(tmp_path, pdf, FakeEngineResource())
    assert result.success
    assert pl.read_parquet(wh / "bpmn_elements" / f"{doc_id}.parquet").height == 0
    assert pl.read_parquet(wh / "bpmn_models" / f"{doc_id}.parquet").height == 0
    assert not (wh / "bpmn" / doc_id).exists()


def test_a_rerun_removes_files_of_pages_that_are_no_longer_diagrams(tmp_path: Path, inbox: Path):
    pdf = copy_fixture("A.1.0.pdf", inbox)
    instance = dg.DagsterInstance.ephemeral()
    doc_id, _, wh = run(tmp_path, pdf, FakeEngineResource(), instance)
    stale = wh / "bpmn" / doc_id / "page-7.bpmn"
    stale.write_text("left over from an older version of the file")
    run(tmp_path, pdf, FakeEngineResource(), instance)
    assert not stale.exists() and (wh / "bpmn" / doc_id / "page-1.bpmn").exists()
