import dagster as dg

from ..deploy_k8s import GPU_STEP_TAGS
from ..engines.router import ocr_document
from ..metrics import StageClock, peak_rss_mb, rate
from ..overlay import page_thumbnail, thumbnail_markdown
from ..partitions import document_partitions_def
from ..resources import OcrEngineResource, WarehouseResource
from ._errors import TRANSIENT_RETRY, pipeline_errors

RENDERED_COLUMNS = ["page_no", "png", "dpi", "width_pt", "height_pt", "image_sha256", "text_layer_usable",
                    "picture_regions", "error"]


def build_ocr_pages(pool: str | None = "gpu") -> dg.AssetsDefinition:
    """The ``ocr_pages`` asset in Dagster pool ``pool``.

    "gpu" (one step at a time) where the step holds the engine itself: Tesseract on every core, vLLM loaded
    in-process. None where it sends pages to vLLM servers: those bound the GPU themselves, and steps of several
    runs side by side put pages of several documents into the same batches.
    """

    @dg.asset(
        partitions_def=document_partitions_def,
        deps=["rendered_pages"],
        group_name="ocr",
        kinds={"tesseract", "vllm", "parquet"},
        pool=pool,
        op_tags=GPU_STEP_TAGS,
        retry_policy=TRANSIENT_RETRY,
        description="One row per page: text and words with boxes, from the text layer or the OCR engine.",
    )
    def ocr_pages(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
        return materialize_ocr_pages(context, warehouse, ocr_engine)

    return ocr_pages


ocr_pages = build_ocr_pages()


def materialize_ocr_pages(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                          ocr_engine: OcrEngineResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    path = store.read("raw_pdfs", doc_id, columns=["path"])["path"][0]
    with pipeline_errors():
        engine = ocr_engine.get_engine()
    counts = {"text_layer": 0, "ocr": 0, "fallback": 0, "none": 0, "cached": 0, "tokens_out": 0}
    preview: list[str] = []

    def rows():
        pages = ocr_document(doc_id, path, store.iter_rows("rendered_pages", doc_id, columns=RENDERED_COLUMNS),
                             engine, policy=ocr_engine.pages, cache=warehouse.page_cache,
                             ocr_dpi=ocr_engine.dpi, max_pixels=ocr_engine.max_pixels)
        for page in pages:
            counts[page.source] = counts.get(page.source, 0) + 1
            counts["cached"] += page.cached
            counts["tokens_out"] += page.tokens_out or 0
            if page.error:
                context.log.warning(f"{doc_id} page {page.page_no}: {page.error}")
            if len(preview) < 2 and page.text:
                preview.append(f"**page {page.page_no}** ({page.source})\n\n{page.text[:600]}")
            yield page.to_row()

    busy_before = getattr(engine, "busy_s", None)
    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        n = store.write("ocr_pages", doc_id, rows())
    busy_share = None
    if busy_before is not None and counts["ocr"] and clock.seconds:
        busy_share = (engine.busy_s - busy_before) / (getattr(engine, "workers", 1) * clock.seconds)
    engine_figures = engine.run_metrics() if hasattr(engine, "run_metrics") and counts["ocr"] else {}
    if engine_figures.get("engine_busy_share") is not None:
        busy_share = engine_figures["engine_busy_share"]
    metadata = {
        "pages": n, "pages_text_layer": counts["text_layer"], "pages_ocr": counts["ocr"],
        "pages_fallback": counts["fallback"], "failures": counts["none"], "pages_cached": counts["cached"],
        "tokens_out": counts["tokens_out"], "seconds": clock.seconds, "pages_per_s": rate(n, clock.seconds),
        "peak_rss_mb": peak_rss_mb(), "engine": engine.name, "engine_version": engine.version(),
        "policy": ocr_engine.pages, "preview": dg.MetadataValue.md("\n\n---\n\n".join(preview) or "(no text)"),
        "dagster/row_count": n,
    }
    if busy_share is not None:
        metadata["engine_busy_share"] = busy_share
    if counts["tokens_out"] and clock.seconds:
        metadata["tokens_per_s"] = counts["tokens_out"] / clock.seconds
    for key in ("tokens_in", "attempts", "first_page_s", "gpu_memory_used_mb", "model", "model_family"):  # GPU
        if engine_figures.get(key) is not None:
            metadata[key] = engine_figures[key]
    thumbnail = page_thumbnail(store.root.parent, doc_id, 1)
    if thumbnail:  # the UI shows it under "Show Markdown": page 1 with its OCR blocks
        metadata["overlay"] = dg.MetadataValue.md(thumbnail_markdown(thumbnail))
    return dg.MaterializeResult(metadata=metadata)
