"""Paths and defaults: one typed object, read from the environment (prefix ``PDF_OCR_``) in one place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

PagePolicy = Literal["auto", "ocr", "text"]
EngineName = Literal["tesseract", "deepseek-vllm", "deepseek-transformers"]
ExecutorName = Literal["multiprocess", "in_process", "k8s"]


class Settings(BaseModel):
    """Everything the pipeline needs to know that is not in code.

    ``from_env`` is the only code that reads the environment; ``definitions.defs()`` and ``cli.main()`` call it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    inbox_dir: Path = Path("data/input")
    data_dir: Path = Path("data")
    engine: EngineName = "tesseract"
    pages: PagePolicy = "auto"
    dpi: int = Field(200, ge=36, le=600)
    preview_dpi: int = Field(0, ge=0, le=600, description="preview images of pages read from their text layer; "
                             "0: none (overlays render them from the PDF)")
    max_pixels: int = Field(40_000_000, ge=100_000, description="cap on pixels per rendered page")
    max_pages: int = Field(10_000, ge=1, description="documents with more pages are refused with a clear error")
    page_timeout_s: float = Field(300, gt=0, description="an OCR engine gives up on a page after this long")
    languages: str = "rus+eng"
    model: str = Field("deepseek-ai/DeepSeek-OCR", description="the GPU engine's model: local folder or hub name")
    model_family: Literal["auto", "deepseek-ocr", "deepseek-ocr-2"] = Field(
        "auto", description="the model's family (prompt, image preparation, parser); auto: from the model "
                            "folder's config.json, else from its name")
    transformers_batch_size: int = Field(16, ge=1, le=1024, description="deepseek-transformers: pages per "
                                         "generate call")
    transformers_device: str = Field("auto", description="deepseek-transformers: torch device; auto: cuda when "
                                     "there is one")
    transformers_dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="deepseek-transformers: auto is bfloat16 on a GPU, float32 on the CPU")
    vllm_transport: Literal["server", "in-process"] = "server"
    vllm_urls: tuple[str, ...] = ("http://127.0.0.1:8000",)
    vllm_concurrency: int = Field(256, ge=1, le=4096)
    vllm_gpus: int = Field(1, ge=1, le=64, description="in-process transport: GPUs to use, one vLLM engine "
                           "process each")
    vllm_prep_workers: int = Field(4, ge=0, le=256, description="processes preparing page images for the GPU "
                                   "engine; 0: threads of the run's process")
    vllm_render_threads: int = Field(2, ge=0, le=16, description="in-process transport: threads per GPU running "
                                     "vLLM's image processor ahead of the engine")
    vllm_engine_threads: int = Field(4, ge=0, le=256, description="in-process transport: torch's CPU threads in "
                                     "each vLLM engine core once started; 0: one per core")
    tessdata_dir: str | None = None
    workers: int = Field(0, ge=0, description="OCR workers; 0 = one per core")
    page_workers: int = Field(1, ge=1, le=64, description="processes for the render and BPMN stages' pages "
                              "(documents of 200 pages or more); 1: the run's process, pictures looked at in threads")
    sensor_interval_s: int = Field(15, ge=1)
    min_file_age_s: float = Field(10.0, ge=0, description="a file this old and unchanged is considered complete")
    max_files_per_tick: int = Field(500, ge=1, description="new files a sensor tick takes on; the rest wait")
    catchup_cron: str = "0 * * * *"
    max_fallback_rate: float = Field(0.05, ge=0, le=1)
    executor: ExecutorName = Field("in_process", description="Dagster's executor: in_process (a run's steps in its "
                                   "own process: they form one chain), multiprocess (a process per step, Dagster's "
                                   "default), or k8s (one Kubernetes Job per step; the k8s extra)")
    k8s_image: str | None = Field(None, description="k8s executor: the steps' image; unset: the code location's")
    k8s_namespace: str | None = Field(None, description="k8s executor: the steps' namespace; unset: the run launcher's")

    @field_validator("vllm_urls", mode="before")
    @classmethod
    def _split_urls(cls, v):
        return tuple(u.strip() for u in v.split(",") if u.strip()) if isinstance(v, str) else v

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            key = f"PDF_OCR_{name.upper()}"
            if key in env and env[key] != "":
                values[name] = env[key]
        if "tessdata_dir" not in values and env.get("TESSDATA_PREFIX"):
            values["tessdata_dir"] = env["TESSDATA_PREFIX"]  # Tesseract's own variable
        return cls.model_validate(values)

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"
