from functools import partial

import dagster as dg

from ..deploy_k8s import CPU_STEP_TAGS
from ..metrics import StageClock, peak_rss_mb, rate
from ..partitions import document_partitions_def
from ..engines.router import render_dpi
from ..pdf.inspect import layer_replaced
from ..pdf.render import render_document
from ..resources import OcrEngineResource, WarehouseResource
from ._errors import pipeline_errors


def _row(doc_id: str, page) -> dict:
    tl = page.text_layer
    return {
        "doc_id": doc_id, "page_no": page.page_no, "width_pt": page.width_pt, "height_pt": page.height_pt,
        "rotation": page.rotation, "dpi": page.dpi, "width_px": page.width_px, "height_px": page.height_px,
        "text_chars": tl.chars if tl else None, "image_coverage": tl.image_coverage if tl else None,
        "text_layer_usable": tl.usable if tl else False, "text_layer_kind": tl.kind if tl else None,
        "text_layer_score": tl.score if tl else None, "text_layer_verdict": tl.verdict if tl else None,
        "png": page.png, "image_sha256": page.image_sha256,
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
    stats = {"pages": 0, "usable": 0, "errors": 0, "replaced": 0, "pictures": 0}
    replaced: list[str] = []

    def rows():
        choose_dpi = partial(render_dpi, ocr_engine.pages, ocr_engine.dpi, ocr_engine.preview_dpi)
        for page in render_document(path, dpi=ocr_engine.dpi, max_pixels=ocr_engine.max_pixels,
                                    choose_dpi=choose_dpi, workers=warehouse.page_workers,
                                    languages=ocr_engine.languages):
            stats["pages"] += 1
            stats["usable"] += bool(page.text_layer and page.text_layer.usable)
            stats["errors"] += page.error is not None
            stats["pictures"] += len(page.picture_regions)
            if page.text_layer and layer_replaced(page.text_layer):
                stats["replaced"] += 1
                if len(replaced) < 20:
                    replaced.append(f"- page {page.page_no}: {page.text_layer.verdict}")
            yield _row(doc_id, page)

    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        store.write("rendered_pages", doc_id, rows())
    if stats["replaced"]:
        context.log.warning(f"{doc_id}: {stats['replaced']} pages have a text layer judged poor; OCR reads them")
    return dg.MaterializeResult(metadata={
        "pages": stats["pages"], "pages_text_layer_usable": stats["usable"], "failures": stats["errors"],
        "pages_text_layer_replaced": stats["replaced"], "picture_regions": stats["pictures"],
        **({"replaced_layers": dg.MetadataValue.md("\n".join(replaced))} if replaced else {}),
        "dpi": ocr_engine.dpi, "seconds": clock.seconds, "pages_per_s": rate(stats["pages"], clock.seconds),
        "peak_rss_mb": peak_rss_mb(), "engine": "pymupdf", "dagster/row_count": stats["pages"],
    })
