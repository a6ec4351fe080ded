"""Pages of the warehouse with their OCR blocks and BPMN elements drawn on them: for the CLI, the report,
notebooks and the UI. Reading pages is here; the drawing itself is ``overlay_draw`` (its API is re-exported).
No Dagster here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .errors import PipelineError
from .overlay_draw import (BLOCK_COLOURS, ELEMENT_COLOURS, LOW_CONFIDENCE, category, data_uri, draw_page, thumbnail,
                           thumbnail_markdown)

__all__ = ["BLOCK_COLOURS", "ELEMENT_COLOURS", "LOW_CONFIDENCE", "PageNotFoundError", "category", "data_uri",
           "draw_page", "list_documents", "load_page", "page_thumbnail", "show_page", "table_path", "thumbnail",
           "thumbnail_markdown"]


class PageNotFoundError(PipelineError):
    """The document or page is not in the data directory's warehouse."""

    exit_code = 2
    hint = "run `pdf-ocr run` on the document first, or pick one of the known documents"

    def __init__(self, message: str, *, known: Sequence[str] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.known = list(known)


def show_page(data_dir: str | os.PathLike, doc_id: str, page_no: int, *, blocks: bool = True,
              elements: bool = True) -> Image.Image:
    """Read one page of the warehouse and draw its OCR blocks and (if the table exists) BPMN elements.

    Args:
        data_dir: the pipeline's data directory (tables under ``<data_dir>/warehouse``).
        doc_id: the document's partition key.
        page_no: 1-based page number.
        blocks: draw ``ocr_pages`` blocks when that table has the page.
        elements: draw ``bpmn_elements`` rows of the page when that table exists.

    Returns:
        The drawn page (``draw_page``).

    Raises:
        PageNotFoundError: the document has no rendered pages, or not this page (``known`` lists what there is).
    """
    page = load_page(data_dir, doc_id, page_no)
    return draw_page(page["png"], page["width_pt"], page["height_pt"], page["blocks"] if blocks else (),
                     page["elements"] if elements else None)


def page_thumbnail(data_dir: str | os.PathLike, doc_id: str, page_no: int | None = None, *,
                   max_side: int = 480) -> bytes | None:
    """A thumbnail of one page of the warehouse, for an asset's metadata (``thumbnail_markdown``).

    Args:
        data_dir: the pipeline's data directory.
        doc_id: the document's partition key.
        page_no: the page; ``None`` picks the first page with BPMN elements, else page 1.
        max_side: the longer side in pixels.

    Returns:
        PNG bytes, or ``None`` when the page is not rendered (a failed document); never raises for that.
    """
    import polars as pl

    try:
        if page_no is None:
            elements = table_path(Path(data_dir) / "warehouse", "bpmn_elements", doc_id)
            pages = pl.read_parquet(elements, columns=["page_no"])["page_no"] if elements.is_file() else None
            page_no = int(pages.min()) if pages is not None and pages.len() else 1
        page = load_page(data_dir, doc_id, page_no)
    except PageNotFoundError:
        return None
    return thumbnail(page["png"], page["width_pt"], page["height_pt"], page["blocks"], page["elements"],
                     max_side=max_side)


def load_page(data_dir: str | os.PathLike, doc_id: str, page_no: int) -> dict:
    """The rendered image, size, OCR blocks and BPMN elements of one page, read from the warehouse.

    Args:
        data_dir: the pipeline's data directory.
        doc_id: the document's partition key.
        page_no: 1-based page number.

    Returns:
        ``{"png", "width_pt", "height_pt", "blocks", "elements"}``; lists are empty where a table is missing.

    Raises:
        PageNotFoundError: unknown document or page.
    """
    import polars as pl

    warehouse = Path(data_dir) / "warehouse"
    rendered = table_path(warehouse, "rendered_pages", doc_id)
    if not rendered.is_file():
        known = list_documents(data_dir)
        raise PageNotFoundError(f"no document {doc_id!r} in {warehouse}", known=known)
    # Pages without an error are rendered, or read from their text layer (drawn from the PDF). Only the page's
    # own row group is read for its image: the whole png column of a scanned document is hundreds of MiB.
    frame = pl.read_parquet(rendered, columns=["page_no", "error"])
    pages = sorted(frame.filter(pl.col("error").is_null())["page_no"].to_list())
    if page_no not in pages:
        raise PageNotFoundError(f"document {doc_id!r} has no rendered page {page_no} (pages: {_ranges(pages)})",
                                known=[doc_id], hint="pick a page number from the list")
    row = (pl.scan_parquet(rendered).filter(pl.col("page_no") == page_no)
           .select("png", "width_pt", "height_pt", "dpi").collect().row(0, named=True))
    png = row["png"]
    if (row["dpi"] or 0) < SHARP_DPI:  # a text-layer page (no image, or a preview): render it from the PDF
        png = _render_sharper(warehouse, doc_id, page_no) or png
    if png is None:
        raise PageNotFoundError(f"document {doc_id!r} page {page_no} was read from its text layer and not rendered, "
                                "and its PDF cannot be read any more", known=[doc_id],
                                hint="put the file back where raw_pdfs.path says, or re-run the document")
    return {"png": png, "width_pt": row["width_pt"], "height_pt": row["height_pt"],
            "blocks": _page_rows(warehouse, "ocr_pages", doc_id, page_no, explode="blocks"),
            "elements": _page_rows(warehouse, "bpmn_elements", doc_id, page_no)}


#: Pages stored without an image or at a lower resolution (pages read from their text layer) are rendered at this
#: resolution for drawing, from the PDF, while it is still where ``raw_pdfs`` says.
SHARP_DPI = 150


def _render_sharper(warehouse: Path, doc_id: str, page_no: int) -> bytes | None:
    import polars as pl

    from .pdf.render import render_document

    try:
        path = pl.read_parquet(table_path(warehouse, "raw_pdfs", doc_id), columns=["path"])["path"][0]
        [page] = render_document(path, dpi=SHARP_DPI, pages=[page_no])
        return page.png
    except Exception:  # the file moved or broke since: the stored preview (if any) will do
        return None


def list_documents(data_dir: str | os.PathLike) -> list[str]:
    """Documents that have rendered pages under ``<data_dir>/warehouse``, sorted."""
    folder = Path(data_dir) / "warehouse" / "rendered_pages"
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def table_path(warehouse: str | os.PathLike, table: str, doc_id: str) -> Path:
    """``<warehouse>/<table>/<doc_id>.parquet``, by the storage module's rules (unsafe keys refused).

    Raises:
        PageNotFoundError: the key cannot name a document.
    """
    from .storage import Warehouse

    try:
        return Warehouse(warehouse).path(table, doc_id)
    except ValueError as e:
        raise PageNotFoundError(f"not a document key: {doc_id!r}") from e


def _page_rows(warehouse: Path, table: str, doc_id: str, page_no: int, explode: str | None = None) -> list[dict]:
    import polars as pl

    path = table_path(warehouse, table, doc_id)
    if not path.is_file():
        return []
    frame = pl.scan_parquet(path)
    if "page_no" not in frame.collect_schema().names():
        return []
    frame = frame.filter(pl.col("page_no") == page_no)
    if explode:
        rows = frame.select(explode).collect()
        return [b for blocks in rows[explode].to_list() for b in (blocks or []) if b]
    return frame.collect().to_dicts()


def _ranges(numbers: Sequence[int]) -> str:
    if not numbers:
        return "none"
    parts, start, prev = [], numbers[0], numbers[0]
    for n in list(numbers[1:]) + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
