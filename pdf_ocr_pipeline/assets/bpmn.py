from dataclasses import replace

import dagster as dg

from ..bpmn.document import PageFailure, clear_stale_files, find_diagrams, model_row, vector_notes
from ..bpmn.rows import diagram_from_rows, element_rows
from ..deploy_k8s import CPU_STEP_TAGS
from ..metrics import StageClock, peak_rss_mb, rate
from ..overlay import page_thumbnail, thumbnail_markdown
from ..partitions import document_partitions_def
from ..resources import WarehouseResource
from ._errors import pipeline_errors

#: What the BPMN search takes of ``rendered_pages`` (``bpmn.document.find_diagrams``); the words come from ocr_pages.
RENDERED_COLUMNS = ["page_no", "png", "dpi", "picture_regions"]


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    deps=["rendered_pages", "ocr_pages"],
    group_name="bpmn",
    kinds={"bpmn", "parquet"},
    description="One row per BPMN element (shapes and flows) of every diagram page: type, label, box, waypoints.",
)
def bpmn_elements(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    path = store.read("raw_pdfs", doc_id, columns=["path"])["path"][0]
    stats = {"pages": 0, "diagrams": 0, "elements": 0}
    failed: list[str] = []
    to_raster: list[str] = []  # diagram pages read as pictures: their drawings could not carry the vector path

    def page_failed(failure: PageFailure) -> None:
        failed.append(f"page {failure.page_no}: {failure.error}")
        context.log.warning(f"{doc_id}: the BPMN search failed on page {failure.page_no} ({failure.error}); "
                            "the other pages go on")

    def pages():
        # Both tables are in page order: walk them side by side, one row group at a time (memory stays flat).
        words = store.iter_rows("ocr_pages", doc_id, columns=["page_no", "blocks"])
        rendered = store.iter_rows("rendered_pages", doc_id, columns=RENDERED_COLUMNS)
        for row, text in zip(rendered, words):
            stats["pages"] += 1
            assert row["page_no"] == text["page_no"], "rendered_pages and ocr_pages disagree on page order"
            yield {**row, "blocks": text["blocks"]}

    def rows():
        for diagram in find_diagrams(path, pages(), workers=warehouse.page_workers, on_error=page_failed):
            stats["diagrams"] += 1
            if diagram.vector_note:
                to_raster.append(f"page {diagram.page_no}: {diagram.vector_note}")
            batch = element_rows(diagram, doc_id)
            stats["elements"] += len(batch)
            yield batch

    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        store.write("bpmn_elements", doc_id, rows(), batched=True)
    return dg.MaterializeResult(metadata={
        "pages": stats["pages"], "diagram_pages": stats["diagrams"], "elements": stats["elements"],
        "seconds": clock.seconds, "pages_per_s": rate(stats["pages"], clock.seconds), "peak_rss_mb": peak_rss_mb(),
        "engine": "bpmn", "dagster/row_count": stats["elements"], "failures": len(failed),
        **({"failed_pages": dg.MetadataValue.md("\n".join(f"- {f}" for f in failed[:50]))} if failed else {}),
        **_to_raster_metadata(to_raster),
    })


def _to_raster_metadata(to_raster: list[str]) -> dict:
    """How many diagram pages went to the raster path because their drawings are unusable, and why."""
    metadata: dict = {"vector_unusable_pages": len(to_raster)}
    if to_raster:
        metadata["vector_unusable"] = dg.MetadataValue.md("\n".join(f"- {r}" for r in to_raster[:50]))
    return metadata


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    deps=["bpmn_elements"],
    group_name="bpmn",
    kinds={"bpmn", "parquet"},
    check_specs=[dg.AssetCheckSpec("bpmn_xml_valid", asset="bpmn_models",
                                   description="every diagram's XML parses and its flows join its shapes")],
    description="One row per diagram page: BPMN 2.0 XML with diagram interchange; also written as "
                "warehouse/bpmn/<document>/page-<n>.bpmn for bpmn.io and Camunda Modeler.",
)
def bpmn_models(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    elements = store.read("bpmn_elements", doc_id)
    sizes = {r["page_no"]: (r["width_pt"], r["height_pt"])
             for r in store.iter_rows("rendered_pages", doc_id, columns=["page_no", "width_pt", "height_pt"])}
    folder = store.root / "bpmn" / doc_id
    rows = []
    with StageClock() as clock, store.document_lock(doc_id):
        diagrams = [diagram_from_rows(group.to_dicts(), page_no, *sizes[page_no])
                    for (page_no,), group in elements.group_by("page_no", maintain_order=True)]
        # the rows do not keep why a vector page went to the raster path: ask its drawings again
        raster = [d.page_no for d in diagrams if d.method != "vector"]
        notes = vector_notes(store.read("raw_pdfs", doc_id, columns=["path"])["path"][0], raster) if raster else {}
        for diagram in diagrams:
            diagram = replace(diagram, vector_note=notes.get(diagram.page_no))
            rows.append(model_row(diagram, doc_id, folder / f"page-{diagram.page_no}.bpmn"))
        store.write("bpmn_models", doc_id, rows)
        clear_stale_files(folder, {folder / f"page-{r['page_no']}.bpmn" for r in rows})
    invalid = [r["page_no"] for r in rows if not r["xml_valid"]]
    metadata = {"diagrams": len(rows), "shapes": sum(r["shapes"] for r in rows),
                "flows": sum(r["flows"] for r in rows), "seconds": clock.seconds, "peak_rss_mb": peak_rss_mb(),
                "pages": len(rows), "engine": "bpmn", "folder": dg.MetadataValue.path(str(folder)),
                "dagster/row_count": len(rows),
                **_to_raster_metadata([f"page {r['page_no']}: {r['vector_note']}" for r in rows if r["vector_note"]])}
    if rows:  # the first diagram page with its elements drawn, shown by the UI under "Show Markdown"
        thumbnail = page_thumbnail(store.root.parent, doc_id, rows[0]["page_no"])
        if thumbnail:
            metadata["overlay"] = dg.MetadataValue.md(thumbnail_markdown(thumbnail))
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[dg.AssetCheckResult(check_name="bpmn_xml_valid", passed=not invalid,
                                           metadata={"invalid_pages": str(invalid)})],
    )

