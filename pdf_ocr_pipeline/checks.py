"""Asset checks on every stage. Each reads the stage's Parquet for the run's document and says what is wrong."""

import dagster as dg
import polars as pl

from .deploy_k8s import CPU_STEP_TAGS
from .resources import WarehouseResource


def _doc_id(context: dg.AssetCheckExecutionContext) -> str:
    # Checks of partitioned assets run in the run of one partition.
    return context.run.tags["dagster/partition"]


@dg.asset_check(asset="rendered_pages", op_tags=CPU_STEP_TAGS, description="Every page of the document was rendered.")
def rendered_pages_complete(context: dg.AssetCheckExecutionContext,
                            warehouse: WarehouseResource) -> dg.AssetCheckResult:
    doc_id = _doc_id(context)
    store = warehouse.warehouse
    expected = int(store.read("raw_pdfs", doc_id, columns=["page_count"])["page_count"][0] or 0)
    pages = store.read("rendered_pages", doc_id, columns=["page_no", "error"])
    failed = pages.filter(pl.col("error").is_not_null())["page_no"].to_list()
    return dg.AssetCheckResult(
        passed=pages.height == expected and not failed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"expected_pages": expected, "rows": pages.height, "failed_pages": str(failed[:50])},
    )


@dg.asset_check(asset="ocr_pages", description="Every page of the document is present exactly once; "
                "pages that failed are counted (their errors are in the table).", op_tags=CPU_STEP_TAGS)
def ocr_pages_complete(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    doc_id = _doc_id(context)
    store = warehouse.warehouse
    expected = int(store.read("raw_pdfs", doc_id, columns=["page_count"])["page_count"][0] or 0)
    pages = store.read("ocr_pages", doc_id, columns=["page_no", "error"])
    numbers = pages["page_no"].to_list()
    failed = pages.filter(pl.col("error").is_not_null()).height
    complete = sorted(numbers) == list(range(1, expected + 1))
    return dg.AssetCheckResult(
        passed=complete and failed == 0,
        severity=dg.AssetCheckSeverity.ERROR if not complete else dg.AssetCheckSeverity.WARN,
        metadata={"doc_id": doc_id, "expected_pages": expected, "rows": len(numbers), "failed_pages": failed},
    )


@dg.asset_check(asset="ocr_pages", description="No page came back empty without saying why (a blank page is "
                "possible, but a run of them usually means a wrong page policy or a broken text layer).",
                op_tags=CPU_STEP_TAGS)
def ocr_pages_no_silent_blanks(context: dg.AssetCheckExecutionContext,
                               warehouse: WarehouseResource) -> dg.AssetCheckResult:
    pages = warehouse.warehouse.read("ocr_pages", _doc_id(context), columns=["page_no", "text", "error"])
    blank = pages.filter(pl.col("error").is_null() & (pl.col("text").str.strip_chars().str.len_chars() == 0))
    return dg.AssetCheckResult(passed=blank.height == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"blank_pages": blank.height, "pages": str(blank["page_no"].to_list()[:50])})


def build_fallback_rate_check(max_fallback_rate: float) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset="ocr_pages", name="ocr_fallback_rate",
                    description=f"At most {max_fallback_rate:.0%} of the pages fell back from the GPU engine to "
                                "Tesseract or failed (PDF_OCR_MAX_FALLBACK_RATE).",
                    op_tags=CPU_STEP_TAGS)
    def ocr_fallback_rate(context: dg.AssetCheckExecutionContext,
                          warehouse: WarehouseResource) -> dg.AssetCheckResult:
        pages = warehouse.warehouse.read("ocr_pages", _doc_id(context), columns=["source"])
        bad = pages.filter(pl.col("source").is_in(["fallback", "none"])).height
        share = bad / pages.height if pages.height else 0.0
        return dg.AssetCheckResult(passed=share <= max_fallback_rate,
                                   metadata={"fallback_or_failed_pages": bad, "share": share,
                                             "limit": max_fallback_rate})

    return ocr_fallback_rate


@dg.asset_check(asset="bpmn_elements", description="Element ids are unique per page, flows join shapes of "
                "their own page, and most flows have both ends.", op_tags=CPU_STEP_TAGS)
def bpmn_elements_sane(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    elements = warehouse.warehouse.read("bpmn_elements", _doc_id(context))
    problems = []
    for (page_no,), group in elements.group_by("page_no", maintain_order=True):
        ids = group["element_id"].to_list()
        if len(ids) != len(set(ids)):
            problems.append(f"page {page_no}: duplicate element ids")
        flows = group.filter(pl.col("source_id").is_not_null() | pl.col("target_id").is_not_null())
        ends = set(flows["source_id"].drop_nulls()) | set(flows["target_id"].drop_nulls())
        if not ends <= set(ids):
            problems.append(f"page {page_no}: flows point at elements of no shape")
        loose = group.filter(pl.col("type").str.ends_with("Flow") &
                             (pl.col("source_id").is_null() | pl.col("target_id").is_null())).height
        total = group.filter(pl.col("type").str.ends_with("Flow")).height
        if total and loose / total > 0.5:
            problems.append(f"page {page_no}: {loose} of {total} flows have a loose end")
    return dg.AssetCheckResult(passed=not problems, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"diagram_pages": elements["page_no"].n_unique() if elements.height else 0,
                                         "problems": "; ".join(problems[:20]) or "none"})


def build_checks(max_fallback_rate: float = 0.05) -> list[dg.AssetChecksDefinition]:
    return [rendered_pages_complete, ocr_pages_complete, ocr_pages_no_silent_blanks,
            build_fallback_rate_check(max_fallback_rate), bpmn_elements_sane]


PIPELINE_CHECKS = build_checks()
