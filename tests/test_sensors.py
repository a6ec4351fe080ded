import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from pdf_ocr_pipeline.resources import WarehouseResource
from pdf_ocr_pipeline.sensors import build_new_documents_sensor

from .conftest import copy_fixture


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(sensor, instance, warehouse, cursor):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse})
    result = sensor(ctx)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result, result.cursor


def aged(path: Path, seconds: float = 120) -> Path:
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


@pytest.fixture
def warehouse(tmp_path: Path, inbox: Path) -> WarehouseResource:
    return WarehouseResource(data_dir=str(tmp_path / "data"), inbox_dir=str(inbox))


def test_new_file_gets_a_partition_and_one_run(instance, warehouse, inbox: Path):
    sensor = build_new_documents_sensor(min_file_age_s=10)
    aged(copy_fixture("A.1.0.pdf", inbox, "Диаграмма процесса.pdf"))
    result, cursor = tick(sensor, instance, warehouse, None)
    [request] = result.run_requests
    key = request.partition_key
    assert key.startswith("Диаграмма_процесса-")
    assert instance.get_dynamic_partitions("documents") == [key]
    assert request.run_key.startswith(f"{key}:") and len(request.run_key) == len(key) + 65
    # unchanged on the next tick: no second run
    result, cursor = tick(sensor, instance, warehouse, cursor)
    assert result.run_requests == []


def test_changed_content_runs_again_with_a_new_run_key(instance, warehouse, inbox: Path):
    sensor = build_new_documents_sensor(min_file_age_s=10)
    f = aged(copy_fixture("A.1.0.pdf", inbox, "doc.pdf"))
    first, cursor = tick(sensor, instance, warehouse, None)
    f.write_bytes((Path(__file__).parent / "fixtures" / "linn.pdf").read_bytes())
    aged(f, 60)
    second, cursor = tick(sensor, instance, warehouse, cursor)
    assert [r.partition_key for r in second.run_requests] == ["doc"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert instance.get_dynamic_partitions("documents") == ["doc"]  # same partition, new run


def test_partially_written_file_waits(instance, warehouse, inbox: Path):
    sensor = build_new_documents_sensor(min_file_age_s=30)
    f = inbox / "copying.pdf"
    f.write_bytes(b"%PDF-1.7 first half")
    result, cursor = tick(sensor, instance, warehouse, None)
    assert result.run_requests == []
    f.write_bytes(b"%PDF-1.7 first half, second half")
    result, cursor = tick(sensor, instance, warehouse, cursor)
    assert result.run_requests == []
    result, cursor = tick(sensor, instance, warehouse, cursor)
    assert [r.partition_key for r in result.run_requests] == ["copying"]


def test_bad_files_are_reported_and_never_stop_the_sensor(instance, warehouse, inbox: Path):
    sensor = build_new_documents_sensor(min_file_age_s=10)
    for name, content in [("empty.pdf", b""), ("page.pdf", b"<html></html>"), ("random.pdf", os.urandom(500))]:
        aged_path = inbox / name
        aged_path.write_bytes(content)
        aged(aged_path)
    aged(copy_fixture("A.1.0.pdf", inbox))
    (inbox / "dangling.pdf").symlink_to(inbox / "missing-target.pdf")
    result, cursor = tick(sensor, instance, warehouse, None)
    # bad files still get a run: raw_pdfs records their error where users look
    assert sorted(r.partition_key for r in result.run_requests) == ["A.1.0", "empty", "page", "random"]
    assert json.loads(cursor)["done"].keys() == {"A.1.0.pdf", "empty.pdf", "page.pdf", "random.pdf"}


def test_same_content_under_two_names_runs_each_name_once(instance, warehouse, inbox: Path):
    sensor = build_new_documents_sensor(min_file_age_s=10)
    aged(copy_fixture("A.1.0.pdf", inbox, "one.pdf"))
    aged(copy_fixture("A.1.0.pdf", inbox, "two.pdf"))
    result, cursor = tick(sensor, instance, warehouse, None)
    assert sorted(r.partition_key for r in result.run_requests) == ["one", "two"]
