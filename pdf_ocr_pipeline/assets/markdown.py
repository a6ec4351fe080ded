from datetime import datetime, timezone

import dagster as dg

from ..bpmn.summary import diagram_summary
from ..deploy_k8s import CPU_STEP_TAGS
from ..markdown import document_markdown as markdown_chunks
from ..markdown import TextBlock, page_markdown
from ..metrics import StageClock, peak_rss_mb, rate
from ..partitions import document_partitions_def
from ..resources import WarehouseResource
from ..storage import write_text_atomic
from ._errors import pipeline_errors

#: The UI shows the Markdown's first characters in the materialization's metadata.
PREVIEW_CHARS = 3000


@dg.asset(
    op_tags=CPU_STEP_TAGS,
    partitions_def=document_partitions_def,
    deps=["ocr_pages", "figures", "bpmn_models"],
    group_name="ocr",
    kinds={"markdown", "parquet"},
    description="The document as Markdown for a person or a language model: pages in order, headings, figures' "
                "text at their place, each BPMN diagram summarised with a link to its .bpmn file; also written "
                "as warehouse/markdown/<document>.md.",
)
def document_markdown(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    doc_id = context.partition_key
    store = warehouse.warehouse
    raw = store.read("raw_pdfs", doc_id, columns=["title", "file_name"])
    title = raw["title"][0] or raw["file_name"][0] or doc_id
    figures = _by_page(store.read("figures", doc_id).to_dicts() if store.exists("figures", doc_id) else [])
    elements = _by_page(store.read("bpmn_elements", doc_id).to_dicts() if store.exists("bpmn_elements", doc_id)
                        else [])
    md_path = store.root / "markdown" / f"{doc_id}.md"
    stats = {"pages": 0, "figures": 0, "diagrams": 0}

    def pages():
        columns = ["page_no", "text", "source", "engine", "error", "layout"]
        for row in store.iter_rows("ocr_pages", doc_id, columns=columns):
            no = row["page_no"]
            stats["pages"] += 1
            blocks = [TextBlock(**b) for b in row["layout"]] if row["layout"] else None
            diagrams = []
            if no in elements:
                link = f"../bpmn/{doc_id}/page-{no}.bpmn"
                diagrams.append({"box": _extent(elements[no]), "summary": diagram_summary(elements[no], link)})
            stats["figures"] += len(figures.get(no, ()))
            stats["diagrams"] += len(diagrams)
            yield no, page_markdown(no, row["text"] or "", row["source"], blocks, figures.get(no, ()), diagrams,
                                    engine=row["engine"], error=row["error"])

    with StageClock() as clock, store.document_lock(doc_id), pipeline_errors():
        markdown = "".join(markdown_chunks(title, pages()))
        write_text_atomic(md_path, markdown)
        store.write("document_markdown", doc_id, [{
            "doc_id": doc_id, "pages": stats["pages"], "markdown": markdown, "path": str(md_path),
            "chars": len(markdown), "figures": stats["figures"], "diagrams": stats["diagrams"],
            "written_at": datetime.now(timezone.utc)}])
    preview = markdown[:PREVIEW_CHARS] + ("\n\n…" if len(markdown) > PREVIEW_CHARS else "")
    return dg.MaterializeResult(metadata={
        "pages": stats["pages"], "figures": stats["figures"], "diagrams": stats["diagrams"],
        "chars": len(markdown), "seconds": clock.seconds, "pages_per_s": rate(stats["pages"], clock.seconds),
        "peak_rss_mb": peak_rss_mb(), "engine": "markdown", "path": dg.MetadataValue.path(str(md_path)),
        "preview": dg.MetadataValue.md(preview), "dagster/row_count": 1,
    })


def _by_page(rows: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["page_no"], []).append(r)
    return out


def _extent(rows: list[dict]) -> tuple[float, float, float, float]:
    return (min(r["x0"] for r in rows), min(r["y0"] for r in rows), max(r["x1"] for r in rows),
            max(r["y1"] for r in rows))
