"""DeepSeek-OCR on vLLM behind the ``OcrEngine`` protocol: loaded once, batched, retried, never drops a page.

Pages flow: rendered PNG -> worker processes resize them to what the model consumes (``image_prep``) ->
a transport (``vllm_transport``: in-process ``vllm.LLM`` or one or more vLLM servers) -> the grounded output is
parsed (``grounding``) -> a runaway page (cut at max tokens or looping) is retried with a stronger repeat
filter, then re-run with Tesseract (``source="fallback"``). Importing this module imports neither vLLM nor torch.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .base import OcrPage, PageImage
from .grounding import is_runaway, parse_grounded
from .image_prep import PreparedImage, prepare
from .prompts import get_prompt
from .vllm_plugin import ENGINE_THREADS_ENV, NGRAM_SAMPLER_ENV, RESOLUTION_ENV
from .vllm_transport import (Completion, EngineProcessesTransport, InProcessTransport, Request, Sampling,
                             ServerTransport, gpu_devices)

PageKind = Literal["text", "diagram", "figure"]
#: The prompt for a ``PageImage.kind`` other than a whole page: a picture cropped from a text page is read as
#: a diagram page is (every text element with its box: what labels and the page's words need); a figure to
#: describe gets the figure prompt.
PROMPT_FOR_IMAGE_KIND: dict[str, PageKind] = {"region": "diagram", "figure": "figure"}
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


class DeepSeekVllmOptions(BaseModel):
    """Everything the GPU engine needs; a plain dict from the resource or the CLI validates into this."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("deepseek-ai/DeepSeek-OCR", min_length=1, description="local folder or hub name")
    transport: Literal["server", "in-process"] = "server"
    server_urls: tuple[str, ...] = ("http://127.0.0.1:8000",)
    served_model_name: str | None = Field(None, description="the name servers answer to; default: model")
    resolution: Literal["base", "gundam"] = Field("base", description="base: 1024 view, 273 image tokens")
    text_prompt: str = "ocr_v1"
    diagram_prompt: str = "bpmn_v1"
    figure_prompt: str = "figure_v1"
    max_tokens: Annotated[int, Field(ge=16, le=8192)] = 4096
    ngram_size: Annotated[int, Field(ge=2, le=256)] = 30
    window_size: Annotated[int, Field(ge=2, le=4096)] = 90
    whitelist_token_ids: tuple[int, ...] = (128821, 128822)
    max_retries: Annotated[int, Field(ge=0, le=5)] = 2
    retry_ngram_size: Annotated[int, Field(ge=2, le=256)] = 12
    retry_window_size: Annotated[int, Field(ge=2, le=4096)] = 512
    retry_repetition_penalty: Annotated[float, Field(ge=1.0, le=2.0)] = 1.05
    runaway_threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    fallback: Literal["tesseract", "none"] = "tesseract"
    tesseract_languages: str = "rus+eng"
    tesseract_tessdata_dir: str | None = Field(None, description="the fallback's language data; None: search")
    concurrency: Annotated[int, Field(ge=1, le=4096, description="pages in flight per server / GPU")] = 256
    gpus: Annotated[int, Field(ge=1, le=64, description="in-process transport: GPUs to use, one vLLM engine "
                                                        "process each; 1: vLLM in this process")] = 1
    render_threads: Annotated[int, Field(ge=0, le=16, description="in-process transport: threads per GPU running "
                                                                  "vLLM's image processor ahead; 0: in the one "
                                                                  "that feeds the engine")] = 2
    engine_threads: Annotated[int, Field(ge=0, le=256, description="torch's CPU threads in each vLLM engine core "
                                                                   "once started; 0: vLLM's (one per core)")] = 4
    request_timeout_s: Annotated[float, Field(ge=1, le=3600)] = 900
    prep_workers: Annotated[int, Field(ge=0, le=256, description="0 = prepare in threads of this process")] = 4
    image_encoding: Literal["png", "jpeg"] = "png"
    gpu_memory_utilization: Annotated[float, Field(ge=0.05, le=0.99)] = 0.9
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] = 512
    max_model_len: Annotated[int, Field(ge=1024, le=32768)] = 8192
    ngram_impl: NgramImpl = "sampler"
    load_format: Literal["auto", "dummy"] = Field("auto", description="dummy: random weights, benchmarks only")
    ignore_eos: bool = Field(False, description="benchmarks only: force max_tokens per page")

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


@dataclass
class RunStats:
    """Per-run figures for ``run_metrics`` and the Dagster metadata."""

    pages: int = 0
    fallback_pages: int = 0
    failed_pages: int = 0
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    prep_s: float = 0.0
    busy_s: float = 0.0  # sum of request latencies / slots: the share of the engine's slots kept busy
    wall_s: float = 0.0
    first_page_s: float | None = None
    started: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict:
        wall = self.wall_s or 1e-9
        return {"pages": self.pages, "fallback_pages": self.fallback_pages, "failed_pages": self.failed_pages,
                "attempts": self.attempts, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "seconds": round(self.wall_s, 3), "pages_per_s": round(self.pages / wall, 3),
                "tokens_out_per_s": round(self.tokens_out / wall, 1), "prep_s": round(self.prep_s, 3),
                "engine_busy_share": round(min(1.0, self.busy_s / wall), 3), "first_page_s": self.first_page_s}


@dataclass
class _Page:
    page: PageImage
    kind: PageKind
    image: PreparedImage | None = None
    attempts: int = 0
    last: Completion | None = None
    result: OcrPage | Future | None = None


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


#: Image preparation runs at this lower CPU priority: on a host that also runs vLLM, its engine and API processes
#: feed the GPU and must not wait for a core behind page preparation (the pages are prepared well ahead anyway).
PREP_WORKER_NICENESS = 10


def _yield_cpu_to_engine() -> None:
    try:
        os.nice(PREP_WORKER_NICENESS)
    except (AttributeError, OSError):  # no os.nice (Windows) or not allowed: run at normal priority
        pass


def image_prep_pool(workers: int) -> Executor:
    """Where pages are prepared: ``workers`` processes at a lower CPU priority, or two threads when 0."""
    if workers:
        return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_yield_cpu_to_engine)
    return ThreadPoolExecutor(2, thread_name_prefix="image-prep")


class DeepSeekVllmEngine:
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
        self.options = options or DeepSeekVllmOptions()
        o = self.options
        self.kind_of = kind_of or (lambda page: "text")
        self.prompts = {"text": get_prompt(o.text_prompt), "diagram": get_prompt(o.diagram_prompt),
                        "figure": get_prompt(o.figure_prompt)}
        self.stats = RunStats()
        self._fallback_engine = None
        self._version: str | None = None
        self._fallback_pool: ThreadPoolExecutor | None = None
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
        self._prep: Executor = image_prep_pool(o.prep_workers)

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
                f"{self.prompts['diagram'].version} max{o.max_tokens} ngram{o.ngram_size}/{o.window_size}/"
                f"{','.join(map(str, o.whitelist_token_ids))} retries{o.max_retries} fallback:{o.fallback}")

    def _sampling(self, attempt: int) -> Sampling:
        o = self.options
        if attempt == 0:
            return Sampling(o.max_tokens, o.ngram_size, o.window_size, o.whitelist_token_ids, 1.0, o.ignore_eos)
        return Sampling(o.max_tokens, o.retry_ngram_size, o.retry_window_size, o.whitelist_token_ids,
                        o.retry_repetition_penalty, o.ignore_eos)

    def ocr_pages(self, pages: Iterable[PageImage]) -> Iterator[OcrPage]:
        """OCR pages, yielding one ``OcrPage`` per input page in input order. Batches across pages; pulls
        ``pages`` lazily (at most about 2 x concurrency pages held). Failed pages come back with ``error``."""
        o = self.options
        stats = self.stats = RunStats()
        source = iter(enumerate(pages))
        states: dict[int, _Page] = {}
        prepping: deque[tuple[int, Future]] = deque()
        retries: deque[int] = deque()
        ahead = 2 * self._slots()
        next_out = 0
        exhausted = False

        def fill() -> None:
            nonlocal exhausted
            while not exhausted and len(prepping) < ahead:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    return
                key, page = item
                states[key] = _Page(page, PROMPT_FOR_IMAGE_KIND.get(page.kind) or self.kind_of(page))
                prepping.append((key, self._prep.submit(partial(prepare, page.png, o.resolution, self._encoding))))

        def request(key: int) -> Request:
            st = states[key]
            return Request(key, self.prompts[st.kind].text, st.image, self._sampling(st.attempts))

        def pull() -> Request | None:
            if retries:
                return request(retries.popleft())
            fill()
            while prepping:
                key, fut = prepping.popleft()
                fill()
                try:
                    states[key].image = fut.result()
                    stats.prep_s += states[key].image.prep_s
                    return request(key)
                except Exception as e:
                    states[key].result = self._failed(states[key], f"image preparation failed: {e}")
            return None

        for done in self.transport.run(pull):
            self._handle(states[done.key], done, retries)
            while next_out in states and self._ready(states[next_out]):
                yield self._emit(states.pop(next_out))
                next_out += 1
        while next_out in states:
            yield self._emit(states.pop(next_out))
            next_out += 1
        stats.wall_s = time.perf_counter() - stats.started

    def _slots(self) -> int:
        """Pages in flight at most: ``concurrency`` per server or per GPU."""
        o = self.options
        return o.concurrency * (len(o.server_urls) if o.transport == "server" else o.gpus)

    def _ready(self, st: _Page) -> bool:
        return isinstance(st.result, OcrPage) or (isinstance(st.result, Future) and st.result.done())

    def _emit(self, st: _Page) -> OcrPage:
        page = st.result.result() if isinstance(st.result, Future) else st.result
        s = self.stats
        s.pages += 1
        s.fallback_pages += page.source == "fallback"
        s.failed_pages += page.error is not None
        if s.first_page_s is None:
            s.first_page_s = round(time.perf_counter() - s.started, 3)
        s.wall_s = time.perf_counter() - s.started
        return page

    def _handle(self, st: _Page, c: Completion, retries: deque[int]) -> None:
        st.attempts += 1
        st.last = c
        s = self.stats
        s.attempts += 1
        s.tokens_in += c.tokens_in or 0
        s.tokens_out += c.tokens_out or 0
        s.busy_s += c.latency_s / self._slots()
        runaway = c.error is None and not self.options.ignore_eos and is_runaway(
            c.text, c.finish_reason, threshold=self.options.runaway_threshold)
        if c.error is None and not runaway:
            st.result = self._parsed(st, c)
        elif st.attempts <= self.options.max_retries:
            retries.append(c.key)
        else:
            st.result = self._fall_back(st, c.error or f"runaway output ({c.finish_reason}) after "
                                                      f"{st.attempts} attempts")

    def _base_page(self, st: _Page, c: Completion) -> OcrPage:
        p = st.page
        return OcrPage(doc_id=p.doc_id, page_no=p.page_no, source="ocr", engine=self.name,
                       engine_version=self.version(), model=self.options.model,
                       prompt_version=self.prompts[st.kind].version, raw_output=c.text, tokens_in=c.tokens_in,
                       tokens_out=c.tokens_out, finish_reason=c.finish_reason, attempts=st.attempts,
                       latency_s=c.latency_s)

    def _parsed(self, st: _Page, c: Completion) -> OcrPage:
        p = st.page
        text, blocks = parse_grounded(c.text, page_w_pt=p.width_pt, page_h_pt=p.height_pt)
        return self._base_page(st, c).with_(text=text, blocks=blocks)

    def _failed(self, st: _Page, error: str) -> OcrPage:
        p = st.page
        return OcrPage(doc_id=p.doc_id, page_no=p.page_no, source="none", engine=self.name,
                       model=self.options.model, prompt_version=self.prompts[st.kind].version,
                       attempts=st.attempts, error=error)

    def _fall_back(self, st: _Page, reason: str) -> OcrPage | Future:
        """Tesseract for this page (in a thread), recorded as ``source="fallback"`` with the model's attempts."""
        base = self._base_page(st, st.last) if st.last else self._failed(st, reason)
        if self.options.fallback == "none":
            return base.with_(source="none", error=reason)
        try:
            engine = self._tesseract()
        except Exception as e:
            return base.with_(source="none", error=f"{reason}; Tesseract fallback unavailable: {e}")

        def run() -> OcrPage:
            t = engine.ocr_page(st.page)
            if t.error:
                return base.with_(source="none", error=f"{reason}; Tesseract fallback failed: {t.error}")
            return base.with_(source="fallback", text=t.text, blocks=t.blocks, mean_confidence=t.mean_confidence,
                              model=f"tesseract {engine.version()} {self.options.tesseract_languages}",
                              latency_s=base.latency_s + t.latency_s, error=None)

        return self._fallback_pool.submit(run)

    def _tesseract(self):
        if self._fallback_engine is None:
            from .tesseract import TesseractEngine, TesseractOptions

            self._fallback_engine = TesseractEngine(TesseractOptions(
                languages=self.options.tesseract_languages, tessdata_dir=self.options.tesseract_tessdata_dir,
                workers=2))
            self._fallback_pool = ThreadPoolExecutor(2, thread_name_prefix="ocr-fallback")
        return self._fallback_engine

    def run_metrics(self) -> dict:
        """The last ``ocr_pages`` run's figures (pages/s, tokens/s, attempts, busy share, first page, GPU)."""
        d = self.stats.as_dict()
        d["gpu_memory_used_mb"] = gpu_memory_used_mb()
        return d

    def close(self) -> None:
        self._prep.shutdown(wait=True, cancel_futures=True)
        if self._fallback_pool is not None:
            self._fallback_pool.shutdown(wait=True)
            self._fallback_engine.close()
        self.transport.close()


def gpu_memory_used_mb() -> float | None:
    """GPU memory in use on this host's GPUs (NVML), or None where there is no NVML."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return round(sum(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i)).used
                             for i in range(pynvml.nvmlDeviceGetCount())) / 2**20, 1)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return None
