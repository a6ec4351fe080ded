"""The Parquet schemas of every table: the contract with notebooks. Change them only deliberately.

Each field carries its meaning as Parquet field metadata (``doc``), and the README's tables are generated from
this module (``python -m pdf_ocr_pipeline.schemas``), so the two never drift apart.
"""

from __future__ import annotations

import pyarrow as pa


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


BOX_FIELDS = [
    _f("x0", pa.float32(), "left, PDF points from the displayed page's left edge"),
    _f("y0", pa.float32(), "top, PDF points from the displayed page's top edge"),
    _f("x1", pa.float32(), "right, PDF points"),
    _f("y1", pa.float32(), "bottom, PDF points"),
]

BLOCK_TYPE = pa.struct(
    [
        pa.field("label", pa.string()),
        pa.field("text", pa.string()),
        *[pa.field(f.name, f.type) for f in BOX_FIELDS],
        pa.field("confidence", pa.float32()),
        pa.field("source", pa.string()),
    ]
)

#: A picture on a page, in points of the displayed page, with the id of its content (``pdf.regions``).
REGION_FIELDS = [
    *[pa.field(f.name, f.type) for f in BOX_FIELDS],
    pa.field("content", pa.string()),
    pa.field("ppi", pa.float32()),
]

RAW_PDFS = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key, readable, from the file name", nullable=False),
        _f("file_name", pa.string(), "the file's name"),
        _f("path", pa.string(), "absolute path the document was read from"),
        _f("sha256", pa.string(), "sha256 of the file's bytes"),
        _f("bytes", pa.int64(), "file size"),
        _f("page_count", pa.int32(), "pages in the document (0 when it could not be opened)"),
        _f("pdf_version", pa.string(), "PDF header version, e.g. PDF-1.7"),
        _f("title", pa.string(), "document metadata: title"),
        _f("author", pa.string(), "document metadata: author"),
        _f("creator", pa.string(), "document metadata: creating application"),
        _f("producer", pa.string(), "document metadata: PDF producer"),
        _f("metadata_json", pa.string(), "all document metadata as JSON"),
        _f("was_repaired", pa.bool_(), "MuPDF had to repair a broken file to open it"),
        _f("is_encrypted", pa.bool_(), "the file is encrypted (owner-password-only files still open)"),
        _f("notes", pa.string(), "what MuPDF had to say while opening the file (repairs, broken objects)"),
        _f("ingested_at", pa.timestamp("us", tz="UTC"), "when this row was written"),
        _f("error", pa.string(), "why the document cannot be processed; null when it can"),
    ]
)

RENDERED_PAGES = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("page_no", pa.int32(), "1-based page number", nullable=False),
        _f("width_pt", pa.float32(), "displayed page width in PDF points (rotation applied)"),
        _f("height_pt", pa.float32(), "displayed page height in PDF points"),
        _f("rotation", pa.int16(), "the page's /Rotate in degrees (0, 90, 180, 270)"),
        _f("dpi", pa.float32(), "effective resolution: the OCR dpi (lower when capped by max_pixels), or the preview "
           "dpi for pages read from their text layer when one is set; null when the page was not rendered"),
        _f("width_px", pa.int32(), "image width in pixels; null when the page was not rendered"),
        _f("height_px", pa.int32(), "image height in pixels; null when the page was not rendered"),
        _f("text_chars", pa.int32(), "non-space characters in the page's text layer"),
        _f("image_coverage", pa.float32(), "share of the page area covered by raster images, 0..1"),
        _f("text_layer_usable", pa.bool_(), "the text layer can replace OCR for this page"),
        _f("text_layer_kind", pa.string(), "none | born_digital | invisible_ocr (an earlier OCR's invisible text "
           "over a page picture)"),
        _f("text_layer_score", pa.float32(), "how plausible the layer's words are for the document's languages, "
           "0..1 (dictionary hits less broken words); null when too few words to score"),
        _f("text_layer_verdict", pa.string(), "kept, or why OCR reads the page instead: too little text, garbage "
           "characters, pictures without text over them, or e.g. invisible OCR layer implausible for rus+eng "
           "(score 0.08)"),
        _f("png", pa.binary(), "the rendered page, PNG, RGB; null for a page read from its text layer (not "
           "rendered unless PDF_OCR_PREVIEW_DPI is set: overlays render it from the PDF) and when rendering failed"),
        _f("image_sha256", pa.string(), "sha256 of the PNG bytes (the OCR cache key); null without png"),
        _f("picture_regions", pa.list_(pa.struct(REGION_FIELDS)), "pictures large enough to hold text and with no "
           "text-layer words over them: box (points), content id (a hash of the picture as stored, the same wherever it is placed) and resolution as "
           "placed (pixels per inch); under auto they are OCR'd on pages read from their text layer"),
        _f("render_s", pa.float64(), "seconds to inspect, render and encode this page"),
        _f("error", pa.string(), "why the page could not be rendered; null when it was or needed no image"),
    ]
)

OCR_PAGES = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("page_no", pa.int32(), "1-based page number", nullable=False),
        _f("source", pa.string(), "text_layer | ocr | fallback | none (page failed)"),
        _f("engine", pa.string(), "engine that produced the text: text_layer, tesseract, deepseek-vllm, "
           "deepseek-transformers"),
        _f("engine_version", pa.string(), "engine version, e.g. tesseract 5.5.4"),
        _f("model", pa.string(), "model or language data, e.g. rus+eng"),
        _f("model_family", pa.string(), "model engines: the model's family (prompt, image preparation, parser): "
           "deepseek-ocr, deepseek-ocr-2; null for other engines and in files written before the column existed"),
        _f("prompt_version", pa.string(), "prompt name and version for model engines; null otherwise"),
        _f("text", pa.string(), "page text (markdown for model engines; plain lines otherwise)"),
        _f("raw_output", pa.string(), "the engine's raw output where it differs from text"),
        _f("blocks", pa.list_(BLOCK_TYPE), "words or blocks: label, text, box (points), confidence 0..1"),
        _f("mean_confidence", pa.float32(), "mean word confidence 0..1 (null for the text layer)"),
        _f("tokens_in", pa.int32(), "prompt tokens (model engines)"),
        _f("tokens_out", pa.int32(), "output tokens (model engines)"),
        _f("finish_reason", pa.string(), "why generation stopped (model engines)"),
        _f("attempts", pa.int16(), "tries it took; 0 when served from the cache"),
        _f("latency_s", pa.float64(), "seconds the engine spent on this page"),
        _f("cached", pa.bool_(), "served from the page cache, not recomputed"),
        _f("error", pa.string(), "why the page has no text; null when it has"),
        _f("regions_ocr", pa.int16(), "picture regions of a text-layer page read by OCR (their words are in "
           "blocks with source ocr, their text in text at the picture's place)"),
        _f("regions", pa.list_(pa.struct([*REGION_FIELDS, pa.field("engine", pa.string()),
                                          pa.field("words", pa.int32()), pa.field("cached", pa.bool_()),
                                          pa.field("error", pa.string())])),
           "each picture region OCR'd: box, content id, engine, words read, whether a result was reused "
           "(the same picture met before, or the cache), and why it could not be read"),
        _f("layout", pa.list_(pa.struct([pa.field("text", pa.string()), *[pa.field(f.name, f.type) for f in BOX_FIELDS],
                                         pa.field("level", pa.int8()), pa.field("role", pa.string()),
                                         pa.field("size", pa.float32()), pa.field("bold", pa.bool_())])),
           "text-layer pages: paragraphs in reading order with their box, heading level (0 body, 1-6), role "
           "(heading, paragraph, list_item, caption, furniture), font size and boldness; what document_markdown "
           "lays the page out from"),
    ]
)

RUN_METRICS = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("stage", pa.string(), "asset name: raw_pdfs, rendered_pages, ocr_pages, bpmn_elements, bpmn_models", nullable=False),
        _f("run_id", pa.string(), "Dagster run that materialized the stage"),
        _f("pages", pa.int32(), "pages the stage handled"),
        _f("pages_ocr", pa.int32(), "pages that went through an OCR engine"),
        _f("pages_text_layer", pa.int32(), "pages read from the text layer"),
        _f("pages_fallback", pa.int32(), "pages the GPU engine gave up on and Tesseract read instead"),
        _f("failures", pa.int32(), "pages (or documents) that failed"),
        _f("seconds", pa.float64(), "wall seconds of the stage"),
        _f("pages_per_s", pa.float64(), "pages / seconds"),
        _f("tokens_out", pa.int64(), "output tokens (model engines)"),
        _f("tokens_per_s", pa.float64(), "output tokens per second (model engines)"),
        _f("engine_busy_share", pa.float64(), "share of the stage's wall time the OCR workers were busy, 0..1"),
        _f("peak_rss_mb", pa.float64(), "peak resident memory of the process that ran the stage, MiB"),
        _f("gpu_memory_mb", pa.float64(), "GPU memory in use on the host after the stage, MiB (GPU engine)"),
        _f("engine", pa.string(), "OCR engine (ocr_pages) or library (other stages)"),
        _f("model", pa.string(), "ocr_pages with a model engine: the model (folder or hub name); null otherwise"),
        _f("model_family", pa.string(), "ocr_pages with a model engine: the model's family, e.g. deepseek-ocr-2; "
           "null otherwise"),
        _f("recorded_at", pa.timestamp("us", tz="UTC"), "when the stage finished"),
    ]
)

BPMN_ELEMENTS = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("page_no", pa.int32(), "1-based page number of the diagram", nullable=False),
        _f("element_id", pa.string(), "unique within the page; the id in the BPMN XML"),
        _f("type", pa.string(), "BPMN 2.0 element: task, userTask, subProcess, startEvent, endEvent, "
           "intermediateCatchEvent, boundaryEvent, exclusiveGateway, parallelGateway, inclusiveGateway, "
           "eventBasedGateway, participant, lane, dataObjectReference, dataStoreReference, textAnnotation, "
           "sequenceFlow, messageFlow, association, ..."),
        _f("label", pa.string(), "the text attached to the element (\"\" when none)"),
        *[pa.field(f.name, pa.float64(), metadata={"doc": (f.metadata[b"doc"].decode() + "; for flows, the "
                                                         "waypoints' extent")}) for f in BOX_FIELDS],
        _f("waypoints", pa.list_(pa.struct([pa.field("x", pa.float64()), pa.field("y", pa.float64())])),
           "flows only: points from source to target, in points"),
        _f("source_id", pa.string(), "flows: the element the flow leaves (null when its end touches no shape)"),
        _f("target_id", pa.string(), "flows: the element the flow enters"),
        _f("parent_id", pa.string(), "the lane, pool or sub-process holding the shape; a boundary event's host"),
        _f("event_definition", pa.string(), "events: message, timer, error, signal, terminate, ..."),
        _f("markers", pa.list_(pa.string()), "loop, multiInstance, compensation, collapsed, adHoc, nonInterrupting"),
        _f("confidence", pa.float64(), "0..1, how sure the detector is of the type"),
        _f("method", pa.string(), "vector (PDF drawings) | detector (the trained detector on the page image) | "
           "raster (the rule-based search of the page image) | grounding (model boxes)"),
        _f("label_x0", pa.float64(), "where the label sits, when it is outside the shape: left"),
        _f("label_y0", pa.float64(), "label top"),
        _f("label_x1", pa.float64(), "label right"),
        _f("label_y1", pa.float64(), "label bottom"),
    ]
)

BPMN_MODELS = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("page_no", pa.int32(), "1-based page number of the diagram", nullable=False),
        _f("method", pa.string(), "vector | detector | raster"),
        _f("xml", pa.large_string(), "BPMN 2.0 XML with diagram interchange (shapes and edges in points)"),
        _f("xml_path", pa.string(), "the same XML as a file, for bpmn.io / Camunda Modeler"),
        _f("xml_valid", pa.bool_(), "the XML parses and every flow's ends are shapes of the model"),
        _f("shapes", pa.int32(), "shapes on the page"),
        _f("flows", pa.int32(), "connectors on the page"),
        _f("unresolved_flows", pa.int32(), "flows with an end on no shape (left out of the XML, kept in the table)"),
        _f("counts_json", pa.string(), "elements per type, as JSON"),
        _f("error", pa.string(), "why the page's model could not be written; null when it was"),
        _f("vector_note", pa.string(), "why a vector page was read as a picture (method raster): its drawings "
           "cannot carry the vector path (text as curves, the diagram in one path, sketchy strokes); null "
           "otherwise"),
    ]
)

FIGURES = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("page_no", pa.int32(), "1-based page number", nullable=False),
        _f("figure_no", pa.int16(), "1-based number of the picture on its page, largest first"),
        *[_f(f.name, f.type, f.metadata[b"doc"].decode()) for f in BOX_FIELDS],
        _f("kind", pa.string(), "diagram (a BPMN diagram was found on it), logo (the same picture on 3 or more "
           "pages), chart, table, photo (judged from its pixels), other (screenshots, text, drawings)"),
        _f("text", pa.string(), "what was read from it: its words as lines (Tesseract, or the text layer over it); "
           "with the GPU engine, charts, tables, photos and other pictures are described by the model's figure "
           "prompt (markdown)"),
        _f("words", pa.int32(), "OCR or text-layer words inside the picture"),
        _f("engine", pa.string(), "engine that read its text: tesseract, deepseek-vllm, text_layer"),
        _f("prompt_version", pa.string(), "the GPU engine's prompt for the text (figure_v1); null otherwise"),
        _f("content", pa.string(), "id of the picture (a hash of it as stored): equal for the same picture wherever "
           "it is placed, in any document"),
        _f("bpmn_page", pa.bool_(), "a BPMN diagram of this page lies on the picture (see bpmn_models)"),
        _f("error", pa.string(), "why the picture could not be read or looked at; null when it was"),
    ]
)

DOCUMENT_MARKDOWN = pa.schema(
    [
        _f("doc_id", pa.string(), "partition key", nullable=False),
        _f("pages", pa.int32(), "pages in the document"),
        _f("markdown", pa.large_string(), "the document as Markdown: pages in order, headings, figures' text "
           "at their place, each BPMN diagram summarised with a link to its .bpmn file"),
        _f("path", pa.string(), "the same Markdown as a file: warehouse/markdown/<document>.md"),
        _f("chars", pa.int64(), "characters of markdown"),
        _f("figures", pa.int32(), "figures placed in the text"),
        _f("diagrams", pa.int32(), "BPMN diagrams summarised"),
        _f("written_at", pa.timestamp("us", tz="UTC"), "when the Markdown was written"),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "raw_pdfs": RAW_PDFS,
    "rendered_pages": RENDERED_PAGES,
    "ocr_pages": OCR_PAGES,
    "bpmn_elements": BPMN_ELEMENTS,
    "bpmn_models": BPMN_MODELS,
    "figures": FIGURES,
    "document_markdown": DOCUMENT_MARKDOWN,
    "run_metrics": RUN_METRICS,
}


def markdown_tables() -> str:
    """The README's schema section, generated from the schemas above."""
    out = []
    for name, schema in TABLES.items():
        out.append(f"#### `{name}`\n\n| column | type | meaning |\n|---|---|---|")
        for field in schema:
            doc = (field.metadata or {}).get(b"doc", b"").decode()
            type_ = {"blocks": "list<block>", "waypoints": "list<{x, y}>"}.get(field.name, str(field.type))
            out.append(f"| `{field.name}` | {type_} | {doc} |")
        out.append("")
    out.append("A `block` is a struct: `label` (word, line, text, title, ...), `text`, `x0`, `y0`, `x1`, `y1`"
               " (points), `confidence` (0..1), `source` (`text_layer` or `ocr` on pages that mix both: a picture's "
               "words on a text-layer page; null where one engine read the whole page).")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown_tables())
