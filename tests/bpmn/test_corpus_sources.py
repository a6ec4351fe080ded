"""The corpus's model sources (issue 15): hdBPMN's train and validation writers only, their layout rescaled to a
renderer's sizes. Real hdBPMN annotations (tests use the copies in ../shared/testdata/hdbpmn, CC BY 4.0)."""

import shutil
from pathlib import Path

import pytest

from bench.bpmn_corpus import sources
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

HDBPMN = Path(__file__).parents[2].parent / "shared" / "testdata" / "hdbpmn"
pytestmark = pytest.mark.skipif(not HDBPMN.is_dir(), reason="needs ../shared/testdata/hdbpmn")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """hdBPMN's own layout (data/annotations/exNN/, data/writer_split.csv) with the shared annotations."""
    data = tmp_path / "hdbpmn" / "data"
    for f in sorted((HDBPMN / "train" / "annotations").glob("ex*_writer*.bpmn")):
        (data / "annotations" / f.stem.split("_")[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, data / "annotations" / f.stem.split("_")[0] / f.name)
    shutil.copy(HDBPMN / "writer_split.csv", data / "writer_split.csv")
    return tmp_path / "hdbpmn"


def test_only_train_and_validation_writers_are_listed_and_test_is_refused(checkout: Path):
    splits = sources.writer_splits(checkout)
    models = sources.list_models(checkout)
    listed = [f for files in models.values() for f in files]
    assert listed and all(splits[f.stem.split("_")[1]] in ("train", "val") for f in listed)
    with pytest.raises(ValueError, match="kept aside"):
        sources.list_models(checkout, splits=("train", "test"))


def test_a_sketch_layout_is_rescaled_to_the_renderers_task_size(checkout: Path, tmp_path: Path):
    [first, *_] = sources.list_models(checkout)["train"]
    xml, scale = sources.prepare_xml(first.read_bytes())
    assert 0.3 <= scale <= 3
    out = tmp_path / "prepared.bpmn"
    out.write_text(xml, encoding="utf-8")
    truth = parse_bpmn(out)
    tasks = [e for e in truth.elements if e.type.endswith("Task") or e.type == "task"]
    events = [e for e in truth.elements if e.type.endswith("Event")]
    areas = sorted((e.box[2] - e.box[0]) * (e.box[3] - e.box[1]) for e in tasks)
    assert tasks and 0.5 * sources.TASK_AREA <= areas[len(areas) // 2] <= 2 * sources.TASK_AREA
    assert all(abs((e.box[2] - e.box[0]) - (e.box[3] - e.box[1])) < 0.5 for e in events)  # circles, as drawn
