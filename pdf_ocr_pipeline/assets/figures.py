from collections import Counter

import dagster as dg

from ..deploy_k8s import CPU_STEP_TAGS
from ..bpmn.model import SHAPE_TYPES
from ..figures import DESCRIBED_KINDS, describe_figures, document_figures, figure_thumbnail, repeated_contents
from ..metrics import StageClock, peak_rss_mb, rate
from ..overlay import thumbnail_markdown
from ..partitions import document_partitions_def
from ..resources import OcrEngineResource, WarehouseResource
from ._errors import pipeline_errors


def build_figures(pool: str | None = None) -> dg.AssetsDefinition:
    """The ``figures`` asset in Dagster pool ``pool``: the OCR step's where the GPU engine describes figures with
    a model loaded in the step; none with Tesseract (figures then only gather words OCR already read)."""

    @dg.asset(
        op_tags=CPU_STEP_TAGS,
        partitions_def=document_partitions_def,
        deps=["ocr_pages", "bpmn_elements"],
        group_name="ocr",
        kinds={"pymupdf", "parquet"},
        pool=pool,
        description="One row per picture on the document's pages: box, kind (diagram, chart, table, photo, logo, "
                    "other), the text read from it, engine and content id.",
    )
    def figures(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
        return materialize_figures(context, warehouse, ocr_engine)

    return figures


figures = build_figures()


def materialize_figures(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    path = store.read("raw_pdfs", doc_id, columns=["path"])["path"][0]
    regions = store.read("rendered_pages", doc_id, columns=["page_no", "picture_regions"])
    repeated = repeated_contents(regions["picture_regions"].to_list())
    shapes: dict[int, list] = {}
    if store.exists("bpmn_elements", doc_id):
        for r in store.iter_rows("bpmn_elements", doc_id, columns=["page_no", "type", "x0", "y0", "x1", "y1"]):
            if r["type"] in SHAPE_TYPES:
                shapes.setdefault(r["page_no"], []).append((r["x0"], r["y0"], r["x1"], r["y1"]))

    def pages():
        # both tables are in page order: walk them side by side, only pages with pictures need their words
        words = store.iter_rows("ocr_pages", doc_id, columns=["page_no", "blocks", "regions", "engine"])
        for (page_no, pictures), text in zip(regions.iter_rows(), words):
            assert page_no == text["page_no"], "rendered_pages and ocr_pages disagree on page order"
            if pictures:
                yield {"page_no": page_no, "picture_regions": pictures, **text}

    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        rows = list(document_figures(doc_id, path, pages(), repeated, shapes))
        if ocr_engine.engine != "tesseract" and any(r["kind"] in DESCRIBED_KINDS for r in rows):
            rows = describe_figures(rows, path, ocr_engine.get_engine(), warehouse.page_cache,
                                    dpi=ocr_engine.dpi, max_pixels=ocr_engine.max_pixels)
        store.write("figures", doc_id, rows)
    kinds = Counter(r["kind"] for r in rows)
    failed = [r for r in rows if r["error"]]
    for r in failed[:20]:
        context.log.warning(f"{doc_id} page {r['page_no']} figure {r['figure_no']}: {r['error']}")
    pages_n = regions.height
    metadata = {"figures": len(rows), "pages": pages_n, "failures": len(failed), "seconds": clock.seconds,
                "pages_per_s": rate(pages_n, clock.seconds), "peak_rss_mb": peak_rss_mb(), "engine": "figures",
                "kinds": dg.MetadataValue.json(dict(kinds)), "dagster/row_count": len(rows)}
    preview = figure_preview(path, rows)
    if preview:
        metadata["preview"] = dg.MetadataValue.md(preview)
    return dg.MaterializeResult(metadata=metadata)


#: The UI shows this many figures' crops in the materialization's metadata (the event log stores them).
PREVIEW_FIGURES = 4


def figure_preview(pdf_path: str, rows: list[dict]) -> str:
    """Markdown with the first figures' crops, kinds and the start of their text."""
    parts = []
    for r in rows[:PREVIEW_FIGURES]:
        png = figure_thumbnail(pdf_path, r["page_no"], (r["x0"], r["y0"], r["x1"], r["y1"]))
        text = (r["text"] or "").replace("\n", " ")[:200]
        head = f"**page {r['page_no']}, figure {r['figure_no']}: {r['kind']}**"
        parts.append("\n\n".join(p for p in (head, thumbnail_markdown(png, f"figure {r['figure_no']}") if png else "",
                                             f"> {text}" if text else "") if p))
    return "\n\n---\n\n".join(parts)
