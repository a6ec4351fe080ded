from functools import partial

import dagster as dg

from ..deploy_k8s import CPU_STEP_TAGS
from ..metrics import StageClock, peak_rss_mb, rate
from ..partitions import document_partitions_def
from ..engines.router import render_dpi
from ..pdf.render import render_document
from ..resources import OcrEngineResource, WarehouseResource
from ._errors import pipeline_errors


def _row(doc_id: str, page) -> dict:
    tl = page.text_layer
    return {
        "doc_id": doc_id, "page_no": page.page_no, "width_pt": page.width_pt, "height_pt": page.height_pt,
        "rotation": page.rotation, "dpi": page.dpi, "width_px": page.width_px, "height_px": page.height_px,
        "text_chars": tl.chars if tl else None, "image_coverage": tl.image_coverage if tl else None,
        "text_layer_usable": tl.usable if tl else False, "png": page.png, "image_sha256": page.image_sha256,
        "picture_regions": [r.as_row() for r in page.picture_regions],
        "render_s": page.render_s, "error": page.error,
    }


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    deps=["raw_pdfs"],
    group_name="ocr",
    kinds={"pymupdf", "parquet"},
    description="One row per page: its size, whether its text layer is usable, and the page rendered to PNG "
                "when it goes to OCR (pages read from their text layer are not rendered unless a preview dpi is set).",
)
def rendered_pages(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    path = store.read("raw_pdfs", doc_id, columns=["path"])["path"][0]
    stats = {"pages": 0, "usable": 0, "errors": 0}

    def rows():
        choose_dpi = partial(render_dpi, ocr_engine.pages, ocr_engine.dpi, ocr_engine.preview_dpi)
        for page in render_document(path, dpi=ocr_engine.dpi, max_pixels=ocr_engine.max_pixels,
                                    choose_dpi=choose_dpi, workers=warehouse.page_workers):
            stats["pages"] += 1
            stats["usable"] += bool(page.text_layer and page.text_layer.usable)
            stats["errors"] += page.error is not None
            yield _row(doc_id, page)

    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        store.write("rendered_pages", doc_id, rows())
    return dg.MaterializeResult(metadata={
        "pages": stats["pages"], "pages_text_layer_usable": stats["usable"], "failures": stats["errors"],
        "dpi": ocr_engine.dpi, "seconds": clock.seconds, "pages_per_s": rate(stats["pages"], clock.seconds),
        "peak_rss_mb": peak_rss_mb(), "engine": "pymupdf", "dagster/row_count": stats["pages"],
    })
