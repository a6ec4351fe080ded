import dagster as dg

from .partitions import document_partitions_def
from .resources import WarehouseResource


@dg.asset_check(asset="ocr_pages", description="Every page of the document is present exactly once; "
                "pages that failed are counted (their errors are in the table).")
def ocr_pages_complete(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    # Asset checks on partitioned assets run for the partition of the run.
    doc_id = context.run.tags.get("dagster/partition")
    store = warehouse.warehouse
    expected = int(store.read("raw_pdfs", doc_id, columns=["page_count"])["page_count"][0] or 0)
    pages = store.read("ocr_pages", doc_id, columns=["page_no", "error"])
    numbers = pages["page_no"].to_list()
    failed = pages.filter(pages["error"].is_not_null()).height
    complete = sorted(numbers) == list(range(1, expected + 1))
    return dg.AssetCheckResult(
        passed=complete and failed == 0,
        severity=dg.AssetCheckSeverity.ERROR if not complete else dg.AssetCheckSeverity.WARN,
        metadata={"doc_id": doc_id, "expected_pages": expected, "rows": len(numbers), "failed_pages": failed},
    )


PIPELINE_CHECKS = [ocr_pages_complete]
_ = document_partitions_def  # checks follow their asset's partitions
