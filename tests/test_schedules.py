from pathlib import Path

import dagster as dg

from pdf_ocr_pipeline.resources import WarehouseResource
from pdf_ocr_pipeline.schedules import build_catchup_schedule
from pdf_ocr_pipeline.storage import Warehouse


def test_catchup_reruns_documents_with_missing_outputs_only(tmp_path: Path):
    warehouse = WarehouseResource(data_dir=str(tmp_path), inbox_dir=str(tmp_path / "in"))
    store = Warehouse(tmp_path / "warehouse")
    for table in ("raw_pdfs", "rendered_pages", "ocr_pages", "bpmn_elements", "bpmn_models", "figures",
                  "document_markdown", "run_metrics"):
        store.write(table, "complete", [])
    store.write("raw_pdfs", "half_done", [{"doc_id": "half_done", "error": None}])
    store.write("raw_pdfs", "bad_file", [{"doc_id": "bad_file", "error": "not a PDF"}])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", ["complete", "half_done", "bad_file", "never_ran"])
        schedule = build_catchup_schedule("*/5 * * * *")
        assert schedule.cron_schedule == "*/5 * * * *"
        ctx = dg.build_schedule_context(instance=instance, resources={"warehouse": warehouse})
        requests = schedule(ctx)
        assert sorted(r.partition_key for r in requests) == ["half_done", "never_ran"]


def test_catchup_skips_when_everything_is_complete(tmp_path: Path):
    warehouse = WarehouseResource(data_dir=str(tmp_path), inbox_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance, resources={"warehouse": warehouse})
        result = build_catchup_schedule()(ctx)
        assert isinstance(result, dg.SkipReason)
