"""DeepSeek-OCR (and DeepSeek-OCR-2: ``families``) on vLLM behind the ``OcrEngine`` protocol: loaded once,
batched, retried, never drops a page.

Pages flow: rendered PNG -> worker processes resize them to what the model consumes (``image_prep``) ->
a transport (``vllm_transport``: in-process ``vllm.LLM`` or one or more vLLM servers) -> the grounded output is
parsed (the model family's parser, ``families``/``grounding``) -> a runaway page (cut at max tokens or looping) is
retried with a stronger repeat filter, then re-run with Tesseract (``source="fallback"``). The loop, retries and
fallback are ``model_engine.ModelOcrEngine``'s, shared with the Transformers engine. Importing this module imports
neither vLLM nor torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import PageImage
# shared with the Transformers engine; re-exported here for the callers that import them from this module
from .model_engine import (PREP_WORKER_NICENESS, PROMPT_FOR_IMAGE_KIND, RunStats,  # noqa: F401
                           _Page, gpu_memory_used_mb, image_prep_pool)
from .model_engine import ModelEngineOptions, ModelOcrEngine, PageKind
from .vllm_plugin import ENGINE_THREADS_ENV, NGRAM_SAMPLER_ENV, RESOLUTION_ENV
from .vllm_transport import EngineProcessesTransport, InProcessTransport, ServerTransport, gpu_devices

NgramImpl = Literal["sampler", "batched", "upstream", "none"]
NGRAM_PROCESSORS = {  # where the no-repeat n-gram ban runs; any custom logits processor means vLLM's V1 runner
    "sampler": None,  # our Triton kernel in Model Runner V2's sampler (``ngram_sampler``, via our plugin)
    "batched": "pdf_ocr_pipeline.engines.ngram_filter:BatchedNGramLogitsProcessor",
    "upstream": "vllm.model_executor.models.deepseek_ocr:NGramPerReqLogitsProcessor",
    "none": None,  # no filter (diagnostics)
}


def ngram_env(impl: str) -> dict[str, str]:
    """Environment vLLM's processes need for ``impl``: the sampler ban needs our plugin and Model Runner V2."""
    if impl == "sampler":
        return {NGRAM_SAMPLER_ENV: "1", "VLLM_USE_V2_MODEL_RUNNER": "1"}
    return {NGRAM_SAMPLER_ENV: "0"}


def plugin_env(resolution: str, ngram_impl: str, engine_threads: int = 0) -> dict[str, str]:
    """Environment our vLLM plugin reads in each vLLM process: the resolution mode, the n-gram ban's place and
    torch's CPU threads in the engine core (0: as vLLM leaves them)."""
    return {RESOLUTION_ENV: resolution, **ngram_env(ngram_impl), ENGINE_THREADS_ENV: str(engine_threads or "")}


class DeepSeekVllmOptions(ModelEngineOptions):
    """Everything the vLLM engine needs (``ModelEngineOptions`` and vLLM's own); a plain dict from the resource or
    the CLI validates into this."""

    transport: Literal["server", "in-process"] = "server"
    server_urls: tuple[str, ...] = ("http://127.0.0.1:8000",)
    served_model_name: str | None = Field(None, description="the name servers answer to; default: model")
    concurrency: Annotated[int, Field(ge=1, le=4096, description="pages in flight per server / GPU")] = 256
    gpus: Annotated[int, Field(ge=1, le=64, description="in-process transport: GPUs to use, one vLLM engine "
                                                        "process each; 1: vLLM in this process")] = 1
    render_threads: Annotated[int, Field(ge=0, le=16, description="in-process transport: threads per GPU running "
                                                                  "vLLM's image processor ahead; 0: in the one "
                                                                  "that feeds the engine")] = 2
    engine_threads: Annotated[int, Field(ge=0, le=256, description="torch's CPU threads in each vLLM engine core "
                                                                   "once started; 0: vLLM's (one per core)")] = 4
    request_timeout_s: Annotated[float, Field(ge=1, le=3600)] = 900
    image_encoding: Literal["png", "jpeg"] = "png"
    gpu_memory_utilization: Annotated[float, Field(ge=0.05, le=0.99)] = 0.9
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] = 512
    max_model_len: Annotated[int, Field(ge=1024, le=32768)] = 8192
    ngram_impl: NgramImpl = "sampler"
    load_format: Literal["auto", "dummy"] = Field("auto", description="dummy: random weights, benchmarks only")

    @field_validator("server_urls")
    @classmethod
    def _urls(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or any(not u.startswith(("http://", "https://")) for u in v):
            raise ValueError("server_urls needs at least one http(s):// URL")
        return v

    @model_validator(mode="after")
    def _gpus_in_process(self):
        if self.gpus > 1 and self.transport != "in-process":
            raise ValueError(f"gpus={self.gpus} applies to the in-process transport; with servers, start one "
                             "pdf-ocr serve per GPU (CUDA_VISIBLE_DEVICES) and list every URL in server_urls")
        return self


def build_llm(options: DeepSeekVllmOptions, **llm_kwargs):
    """The in-process ``vllm.LLM`` with DeepSeek-OCR's recipe. Imports vLLM here, and only here.

    Call before anything touches CUDA in this process; vLLM forks its engine process from it. ``llm_kwargs`` go to
    ``vllm.LLM`` as they are (benchmarks pass a profiler config).
    """
    from .vllm_plugin import register

    # for the vLLM processes that load our plugin
    os.environ.update(plugin_env(options.resolution, options.ngram_impl, options.engine_threads))
    register()  # and this process, which prepares the images: what the plugin does in each vLLM process
    from vllm import LLM

    return LLM(model=options.model, enable_prefix_caching=False, mm_processor_cache_gb=0,
               logits_processors=[p] if (p := NGRAM_PROCESSORS[options.ngram_impl]) else None,
               limit_mm_per_prompt={"image": 1},
               gpu_memory_utilization=options.gpu_memory_utilization, max_num_seqs=options.max_num_seqs,
               max_model_len=options.max_model_len, load_format=options.load_format, **llm_kwargs)


class DeepSeekVllmEngine(ModelOcrEngine):
    """DeepSeek-OCR through vLLM. ``ocr_pages`` batches: up to ``concurrency`` pages per server (or in-process)
    are in flight, pages of every caller's documents share the GPU batch. One ``ocr_pages`` at a time per
    engine (not thread-safe); build one engine per process and keep it (the model loads once).
    """

    name = "deepseek-vllm"

    def __init__(self, options: DeepSeekVllmOptions | None = None, *, llm=None, sampling_factory=None,
                 http_transport=None, kind_of: Callable[[PageImage], PageKind] | None = None, llm_builder=None):
        """Args:
            options: the engine's options.
            llm: an existing ``vllm.LLM`` (in-process, one GPU); built from options when None.
            sampling_factory: ``Sampling -> vllm.SamplingParams`` (tests pass a stand-in; picklable with ``gpus``).
            http_transport: an ``httpx`` transport for the server mode (tests pass ``httpx.MockTransport``).
            kind_of: picks the prompt per page (``text`` or ``diagram``); every page is ``text`` when None.
            llm_builder: in-process on several GPUs: a picklable callable that builds the ``vllm.LLM`` in each
                GPU's process (tests pass a stand-in); ``build_llm`` with the options when None.
        Raises:
            EngineUnavailableError: server mode and no server answers ``GET /v1/models``; or an engine process
                failed to load the model.
        """
        o = options or DeepSeekVllmOptions()
        self._setup(o, kind_of)
        kw = {"sampling_factory": sampling_factory} if sampling_factory else {}
        if o.transport == "in-process":
            kw["render_threads"] = o.render_threads
            self.transport = (
                EngineProcessesTransport(llm_builder or partial(build_llm, o), gpu_devices(o.gpus),
                                         max_in_flight=o.concurrency, **kw) if o.gpus > 1
                else InProcessTransport(llm if llm is not None else build_llm(o), max_in_flight=o.concurrency, **kw))
            self._encoding = "raw"
        else:
            self.transport = ServerTransport(list(o.server_urls), o.served_model_name or o.model,
                                             concurrency=o.concurrency, timeout_s=o.request_timeout_s,
                                             http_transport=http_transport)
            self.transport.health()
            self._encoding = o.image_encoding
        self._version: str | None = None
        self._start_prep()

    def health(self) -> dict[str, str]:
        """What answers: served models by server URL (server mode) or the in-process model.

        Raises:
            EngineUnavailableError: server mode and no server answers ``GET /v1/models``.
        """
        if isinstance(self.transport, ServerTransport):
            return self.transport.health()
        if isinstance(self.transport, EngineProcessesTransport):
            return {f"in-process gpu{d}": self.options.model for d in self.transport.devices}
        return {"in-process": self.options.model}

    def version(self) -> str:
        if self._version is None:  # asked for every page: look the package up once
            try:
                from importlib.metadata import version
                self._version = (f"vllm {version('vllm')}" if self.options.transport == "in-process"
                                 else "vllm server")
            except Exception:
                self._version = "vllm"
        return self._version

    def cache_identity(self) -> str:
        o = self.options
        return (f"deepseek-vllm {o.model} {o.resolution} {self.prompts['text'].version}/"
                f"{self.prompts['diagram'].version} max{o.max_tokens} ngram{self.ngram_size}/{o.window_size}/"
                f"{','.join(map(str, o.whitelist_token_ids))} retries{o.max_retries} fallback:{o.fallback}"
                f"{self._identity_suffix()}")

    def _slots(self) -> int:
        """Pages in flight at most: ``concurrency`` per server or per GPU."""
        o = self.options
        return o.concurrency * (len(o.server_urls) if o.transport == "server" else o.gpus)
