from datetime import datetime, timezone

import dagster as dg

from ..deploy_k8s import CPU_STEP_TAGS
from ..partitions import document_partitions_def
from ..resources import WarehouseResource

STAGES = ("raw_pdfs", "rendered_pages", "ocr_pages", "bpmn_elements", "bpmn_models", "figures", "document_markdown")


def _value(metadata: dict, key: str, default=None):
    entry = metadata.get(key)
    return default if entry is None else entry.value


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    deps=list(STAGES),
    group_name="ocr",
    kinds={"parquet"},
    description="One row per stage of the document's latest materializations: pages, seconds, pages/s, memory.",
)
def run_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    rows = []
    for stage in STAGES:
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[doc_id]), limit=1)
        if not result.records:
            continue
        record = result.records[0]
        md = record.asset_materialization.metadata if record.asset_materialization else {}
        seconds = float(_value(md, "seconds", 0.0))
        pages = int(_value(md, "pages", 0))
        tokens = int(_value(md, "tokens_out", 0))
        rows.append({
            "doc_id": doc_id, "stage": stage, "run_id": record.run_id, "pages": pages,
            "pages_ocr": _value(md, "pages_ocr"), "pages_text_layer": _value(md, "pages_text_layer"),
            "pages_fallback": _value(md, "pages_fallback"), "engine_busy_share": _value(md, "engine_busy_share"),
            "failures": int(_value(md, "failures", 0) or (1 if _value(md, "error") else 0)),
            "seconds": seconds, "pages_per_s": pages / seconds if seconds else 0.0,
            "tokens_out": tokens, "tokens_per_s": tokens / seconds if seconds else 0.0,
            "gpu_memory_mb": _value(md, "gpu_memory_used_mb"),
            "peak_rss_mb": _value(md, "peak_rss_mb"), "engine": _value(md, "engine", "pymupdf"),
            "model": _value(md, "model"), "model_family": _value(md, "model_family"),
            "recorded_at": datetime.fromtimestamp(record.timestamp, tz=timezone.utc),
        })
    with warehouse.warehouse.document_lock(doc_id):
        warehouse.warehouse.write("run_metrics", doc_id, rows)
    total = sum(r["seconds"] for r in rows)
    pages = max((r["pages"] for r in rows), default=0)
    return dg.MaterializeResult(metadata={
        "stages": len(rows), "pages": pages, "seconds_total": total,
        "pages_per_s": pages / total if total else 0.0, "dagster/row_count": len(rows),
    })
