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
    page_workers: int = Field(1, ge=1, le=64, description="processes the render and BPMN stages spread a "
                              "document's pages over (200 pages or more); each adds about 115 MiB")

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

    engine: Literal["tesseract", "deepseek-vllm", "deepseek-transformers"] = "tesseract"
    pages: Literal["auto", "ocr", "text"] = Field("auto", description="auto: OCR only pages without a usable text layer")
    dpi: int = Field(200, ge=36, le=600, description="resolution of pages that go to the OCR engine")
    preview_dpi: int = Field(0, ge=0, le=600, description="resolution of preview images of pages read from "
                             "their text layer; 0: not rendered (overlays render them from the PDF)")
    max_pixels: int = Field(40_000_000, ge=100_000)
    max_pages: int = Field(10_000, ge=1, description="documents with more pages are refused")
    page_timeout_s: float = Field(300, gt=0)
    languages: str = Field("rus+eng", description="Tesseract languages (also the GPU engine's fallback)")
    tessdata_dir: Optional[str] = None
    workers: int = Field(0, ge=0, description="Tesseract workers; 0 = one per core")
    # The GPU engines: DeepSeek-OCR on vLLM (engines/deepseek_vllm.py) or Transformers
    # (engines/deepseek_transformers.py); see those modules for every option.
    model: str = Field("deepseek-ai/DeepSeek-OCR", description="local folder or hub name")
    model_family: Literal["auto", "deepseek-ocr", "deepseek-ocr-2"] = Field(
        "auto", description="the model's family (engines/families.py); auto: from the model folder's config.json")
    batch_size: int = Field(16, ge=1, le=1024, description="deepseek-transformers: pages per generate call")
    device: str = Field("auto", description="deepseek-transformers: torch device (auto: cuda when there is one)")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="deepseek-transformers: auto is bfloat16 on a GPU, float32 on the CPU")
    transport: Literal["server", "in-process"] = Field(
        "server", description="server: send pages to `pdf-ocr serve` (the model loads once for every run); "
                              "in-process: load vLLM inside the run")
    server_urls: list[str] = Field(["http://127.0.0.1:8000"], description="vLLM servers; pages spread over all")
    resolution: Literal["base", "gundam"] = "base"
    max_tokens: int = Field(4096, ge=16, le=8192)
    concurrency: int = Field(256, ge=1, le=4096, description="pages in flight per server or GPU")
    gpus: int = Field(1, ge=1, le=64, description="in-process transport: GPUs to use, one vLLM engine process "
                      "each (pages go to the least busy); 1: vLLM in the run's process")
    prep_workers: int = Field(4, ge=0, le=256, description="processes preparing page images ahead of the GPU "
                              "(at a lower CPU priority than vLLM's); 0: threads of this process")
    render_threads: int = Field(2, ge=0, le=16, description="in-process transport: threads per GPU running "
                                "vLLM's image processor ahead of the engine")
    engine_threads: int = Field(4, ge=0, le=256, description="in-process transport: torch's CPU threads in each "
                                "vLLM engine core once started (0: one per core); for servers: pdf-ocr serve "
                                "--engine-threads")
    max_retries: int = Field(2, ge=0, le=5, description="retries of a runaway page before the Tesseract fallback")
    gpu_memory_utilization: float = Field(0.9, ge=0.05, le=0.99, description="in-process transport only")
    _engine: Optional[OcrEngine] = PrivateAttr(default=None)

    def engine_options(self) -> dict:
        """The chosen engine's own options, from this resource's fields."""
        if self.engine == "deepseek-vllm":
            return {"model": self.model, "transport": self.transport, "server_urls": tuple(self.server_urls),
                    "resolution": self.resolution, "max_tokens": self.max_tokens, "concurrency": self.concurrency,
                    "gpus": self.gpus, "prep_workers": self.prep_workers, "max_retries": self.max_retries,
                    "render_threads": self.render_threads, "engine_threads": self.engine_threads,
                    "gpu_memory_utilization": self.gpu_memory_utilization, "model_family": self.model_family,
                    "tesseract_languages": self.languages, "tesseract_tessdata_dir": self.tessdata_dir}
        if self.engine == "deepseek-transformers":
            return {"model": self.model, "model_family": self.model_family, "max_tokens": self.max_tokens,
                    "batch_size": self.batch_size, "device": self.device, "dtype": self.dtype,
                    "prep_workers": self.prep_workers, "max_retries": self.max_retries,
                    "tesseract_languages": self.languages, "tesseract_tessdata_dir": self.tessdata_dir}
        return {"languages": self.languages, "tessdata_dir": self.tessdata_dir, "workers": self.workers,
                "page_timeout_s": self.page_timeout_s}

    def get_engine(self) -> OcrEngine:
        """The engine, built on first use (a vLLM server is health-checked then) and kept for the process.

        Raises:
            EngineUnavailableError: no vLLM server answers.
            MissingDependencyError: Tesseract's language data or vLLM is missing.
        """
        if self._engine is None:
            self._engine = make_engine(self.engine, self.engine_options())
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
