"""Dagster resources: the warehouse (where tables and files live) and the OCR engine (loaded once per process)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import dagster as dg
from pydantic import Field, PrivateAttr

from .engines import OcrEngine, make_engine
from .engines.cache import PageCache
from .inbox import DocumentRegistry
from .storage import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """Where the input folder, the Parquet tables, the page cache and the document registry live."""

    data_dir: str = Field("data", description="outputs go to <data_dir>/warehouse/<asset>/<doc>.parquet")
    inbox_dir: str = Field("data/input", description="the folder the sensor watches")

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.data_dir) / "warehouse")

    @property
    def registry(self) -> DocumentRegistry:
        return DocumentRegistry(self.data_dir)

    @property
    def page_cache(self) -> PageCache:
        return PageCache(Path(self.data_dir) / "cache" / "ocr")

    def find_document(self, doc_id: str) -> Path | None:
        return self.registry.find(doc_id, self.inbox_dir)


class OcrEngineResource(dg.ConfigurableResource):
    """The OCR engine and how pages reach it. The engine is built on first use and kept for the process.

    ``dpi`` and ``max_pixels`` live here because the engine decides what resolution it needs.
    """

    engine: Literal["tesseract", "deepseek-vllm"] = "tesseract"
    pages: Literal["auto", "ocr", "text"] = Field("auto", description="auto: OCR only pages without a usable text layer")
    dpi: int = Field(200, ge=36, le=600, description="resolution of pages that go to the OCR engine")
    preview_dpi: int = Field(72, ge=36, le=600, description="resolution of pages read from their text layer")
    max_pixels: int = Field(40_000_000, ge=100_000)
    max_pages: int = Field(10_000, ge=1, description="documents with more pages are refused")
    page_timeout_s: float = Field(300, gt=0)
    languages: str = "rus+eng"
    tessdata_dir: Optional[str] = None
    workers: int = Field(0, ge=0, description="0 = one per core")
    _engine: Optional[OcrEngine] = PrivateAttr(default=None)

    def get_engine(self) -> OcrEngine:
        if self._engine is None:
            options = {"languages": self.languages, "tessdata_dir": self.tessdata_dir, "workers": self.workers,
                       "page_timeout_s": self.page_timeout_s}
            self._engine = make_engine(self.engine, options)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
