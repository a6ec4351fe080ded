import dagster as dg

from .assets import PIPELINE_ASSETS
from .jobs import ocr_documents_job
from .partitions import document_partitions_def
from .resources import WarehouseResource

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]


def documents_to_catch_up(warehouse: WarehouseResource, doc_ids: list[str]) -> list[str]:
    """Documents with a missing output table, except those whose file is known to be bad (same error again)."""
    store = warehouse.warehouse
    out = []
    for doc_id in doc_ids:
        if all(store.exists(a.key.path[-1], doc_id) for a in PIPELINE_ASSETS):
            continue
        if store.exists("raw_pdfs", doc_id):
            error = store.read("raw_pdfs", doc_id, columns=["error"])["error"][0]
            if error:
                continue
        out.append(doc_id)
    return out


def build_catchup_schedule(cron: str = "0 * * * *") -> dg.ScheduleDefinition:
    @dg.schedule(
        name="catchup_schedule",
        cron_schedule=cron,
        job=ocr_documents_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Re-runs documents whose runs failed or whose outputs are missing.",
    )
    def catchup_schedule(context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource):
        doc_ids = context.instance.get_dynamic_partitions(document_partitions_def.name)
        requests = []
        for doc_id in documents_to_catch_up(warehouse, doc_ids):
            active = context.instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/partition": doc_id}, statuses=ACTIVE), limit=1)
            if not active:
                requests.append(dg.RunRequest(partition_key=doc_id, tags={"pdf_ocr/trigger": "catchup"}))
        if not requests:
            return dg.SkipReason(f"all {len(doc_ids)} documents are complete")
        return requests

    return catchup_schedule
