import dagster as dg

from ..deploy_k8s import CPU_STEP_TAGS
from ..inbox import is_safe_key
from ..metrics import StageClock, peak_rss_mb
from ..partitions import document_partitions_def
from ..pdf.inspect import raw_pdf_row
from ..resources import OcrEngineResource, WarehouseResource


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    group_name="ocr",
    kinds={"pdf", "parquet"},
    check_specs=[dg.AssetCheckSpec("pdf_is_readable", asset="raw_pdfs", blocking=True,
                                   description="the file opens as a PDF with pages; later stages wait for it")],
    description="One row per document: the file, its sha256, pages, metadata, or why it cannot be read.",
)
def raw_pdfs(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    if not is_safe_key(doc_id):
        raise dg.Failure(f"partition key {doc_id!r} cannot name a document: use letters, digits, '-', '_', '.', "
                         "'+' only (keys made by the sensor and the CLI always do)", allow_retries=False)
    store = warehouse.warehouse
    with StageClock() as clock, store.document_lock(doc_id):
        row = raw_pdf_row(doc_id, warehouse.find_document(doc_id), max_pages=ocr_engine.max_pages)
        store.write("raw_pdfs", doc_id, [row])
    error = row["error"]
    if error:
        context.log.error(f"{doc_id}: {error}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(row.get("path") or ""),
            "sha256": row.get("sha256") or "",
            "pages": row.get("page_count") or 0,
            "bytes": row.get("bytes") or 0,
            "error": error or "",
            "notes": row.get("notes") or "",
            "seconds": clock.seconds,
            "peak_rss_mb": peak_rss_mb(),
            "dagster/row_count": 1,
        },
        check_results=[dg.AssetCheckResult(check_name="pdf_is_readable", passed=error is None,
                                           description=error, metadata={"error": error or ""})],
    )
