"""What every OCR engine takes and gives back, and the protocol it follows. No Dagster here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PageImage:
    """A rendered page on its way to an engine. ``dpi`` maps pixels back to PDF points (72 per inch)."""

    doc_id: str
    page_no: int
    png: bytes
    dpi: float
    width_pt: float
    height_pt: float
    image_sha256: str = ""
    #: "page" for a whole page; "region" for a picture cropped from a text-layer page (its words join the
    #: page's); "figure" for a picture to describe (the GPU engine's figure prompt). Engines without prompts
    #: read them all alike.
    kind: str = "page"


@dataclass(frozen=True)
class Block:
    """A word or block of text with its box in PDF points (displayed page frame, origin top left)."""

    label: str
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float | None = None
    #: where the block came from on a page that mixes sources: "text_layer" or "ocr" (a picture's words);
    #: None on pages read by one engine alone (the page's ``source`` says)
    source: str | None = None


@dataclass(frozen=True)
class RegionRead:
    """A picture on a text-layer page, OCR'd as a region of its own (``pdf.regions``): where, which picture,
    and whether it was read (``error`` None), served from the cache, and how many words it gave."""

    x0: float
    y0: float
    x1: float
    y1: float
    content: str
    ppi: float = 0.0
    engine: str = ""
    words: int = 0
    cached: bool = False
    error: str | None = None


@dataclass(frozen=True)
class OcrPage:
    """One page's text from one engine. A failed page has ``error`` set and ``source == "none"``."""

    doc_id: str
    page_no: int
    source: str  # text_layer | ocr | fallback | none
    engine: str
    engine_version: str = ""
    model: str = ""
    #: the model engines' model family (``engines.families``: deepseek-ocr, deepseek-ocr-2); None otherwise
    model_family: str | None = None
    prompt_version: str | None = None
    text: str = ""
    raw_output: str | None = None
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    mean_confidence: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    attempts: int = 1
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None
    regions: tuple[RegionRead, ...] = ()
    #: a text-layer page's paragraphs and headings in reading order (``pdf.blocks.text_layer_blocks``), for its
    #: Markdown: built where the page's text is extracted anyway
    layout: tuple = ()

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    def with_(self, **changes) -> "OcrPage":
        return replace(self, **changes)

    def to_row(self) -> dict:
        """The ``ocr_pages`` row (see ``schemas.OCR_PAGES``)."""
        row = {k: getattr(self, k) for k in (
            "doc_id", "page_no", "source", "engine", "engine_version", "model", "model_family", "prompt_version",
            "text", "raw_output", "mean_confidence", "tokens_in", "tokens_out", "finish_reason", "attempts",
            "latency_s", "cached", "error")}
        row["blocks"] = [b.__dict__ for b in self.blocks]
        row["regions"] = [r.__dict__ for r in self.regions]
        row["regions_ocr"] = sum(1 for r in self.regions if r.error is None)
        row["layout"] = [b.__dict__ for b in self.layout]
        return row

    @classmethod
    def from_row(cls, row: dict) -> "OcrPage":
        """The page again from its ``to_row`` dict (the page cache's JSON, a Parquet row)."""
        data = {k: v for k, v in row.items() if k in _OCR_PAGE_FIELDS}
        data["blocks"] = tuple(Block(**b) for b in data.get("blocks") or ())
        data["regions"] = tuple(RegionRead(**{k: v for k, v in r.items() if k in _REGION_FIELDS})
                                for r in data.get("regions") or ())
        if data.get("layout"):
            from ..pdf.blocks import TextBlock

            data["layout"] = tuple(TextBlock(**b) for b in data["layout"])
        else:
            data["layout"] = ()
        return cls(**data)


@runtime_checkable
class OcrEngine(Protocol):
    """An OCR engine: images in, text with boxes out.

    ``ocr_pages`` takes an iterable (consumed lazily, so memory stays bounded) and yields one ``OcrPage`` per
    input page, in input order. The engine owns its concurrency and batching; a page that fails comes back with
    ``error`` set rather than raising, so one bad page never stops a document.
    """

    name: str

    def version(self) -> str: ...

    def ocr_pages(self, pages: Iterable[PageImage]) -> Iterator[OcrPage]: ...

    def cache_identity(self) -> str:
        """Everything that changes the output for the same image (model, languages, prompt, parameters)."""
        ...

    def close(self) -> None: ...


_OCR_PAGE_FIELDS = frozenset(OcrPage.__dataclass_fields__)
_REGION_FIELDS = frozenset(RegionRead.__dataclass_fields__)
