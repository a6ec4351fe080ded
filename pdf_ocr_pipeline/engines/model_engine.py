"""What every model engine shares, whatever runs the model (vLLM, Transformers): prompts per page kind, image
preparation ahead of the model, the family's parser, retries of runaway pages with a stronger repeat ban, the
Tesseract fallback, page order and run figures. No torch, no vLLM here.

An engine built on ``ModelOcrEngine`` sets ``transport`` (an object whose ``run(pull)`` yields
``vllm_transport.Completion`` in the order pages finish; ``pull`` gives the next ``Request`` or None) and says how
many pages it keeps in flight (``_slots``); the rest is here.
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

from pydantic import BaseModel, ConfigDict, Field

from .base import OcrPage, PageImage
from .families import FAMILY_NAMES, ModelFamily, resolve_family
from .grounding import is_runaway
from .image_prep import PreparedImage, prepare
from .prompts import get_prompt
from .vllm_transport import Completion, Request, Sampling

PageKind = Literal["text", "diagram", "figure"]
#: The prompt for a ``PageImage.kind`` other than a whole page: a picture cropped from a text page is read as
#: a diagram page is (every text element with its box: what labels and the page's words need); a figure to
#: describe gets the figure prompt.
PROMPT_FOR_IMAGE_KIND: dict[str, PageKind] = {"region": "diagram", "figure": "figure"}
FamilyName = Literal[FAMILY_NAMES]  # type: ignore[valid-type]


class ModelEngineOptions(BaseModel):
    """The options every model engine has: model and family, prompts, output budget, repeat ban, retries,
    fallback, image preparation. Each engine's options add what its runtime needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("deepseek-ai/DeepSeek-OCR", min_length=1, description="local folder or hub name")
    model_family: FamilyName = Field("auto", description="the model's family (families.py); auto: from the "
                                                         "model folder's config.json, else from its name")
    resolution: Literal["base", "gundam"] = Field("base", description="base: one 1024 view (the users' setting)")
    text_prompt: str = "ocr_v1"
    diagram_prompt: str = "bpmn_v1"
    figure_prompt: str = "figure_v1"
    max_tokens: Annotated[int, Field(ge=16, le=8192)] = 4096
    ngram_size: Annotated[int | None, Field(ge=2, le=256, description="None: the family's recipe")] = None
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
    prep_workers: Annotated[int, Field(ge=0, le=256, description="0 = prepare in threads of this process")] = 4
    ignore_eos: bool = Field(False, description="benchmarks only: force max_tokens per page")


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


#: Image preparation runs at this lower CPU priority: on a host that also runs the model, its processes feed the
#: GPU and must not wait for a core behind page preparation (the pages are prepared well ahead anyway).
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


class ModelOcrEngine:
    """The model-independent part of a model engine (see the module). Subclasses call ``_setup`` first, then
    build ``transport``, and set ``_encoding`` (what ``prepare`` hands the transport: ``raw``, ``png``, ``jpeg``).
    One ``ocr_pages`` at a time per engine (not thread-safe)."""

    name = "model"
    options: ModelEngineOptions
    transport = None
    _encoding = "raw"

    def _setup(self, options: ModelEngineOptions, kind_of: Callable[[PageImage], PageKind] | None,
               family: ModelFamily | None = None) -> None:
        self.options = o = options
        self.family = family or resolve_family(o.model_family, o.model)
        self.kind_of = kind_of or (lambda page: "text")
        self.prompts = {"text": get_prompt(o.text_prompt), "diagram": get_prompt(o.diagram_prompt),
                        "figure": get_prompt(o.figure_prompt)}
        self.stats = RunStats()
        self._fallback_engine = None
        self._fallback_pool: ThreadPoolExecutor | None = None
        self._prep: Executor | None = None

    def _start_prep(self) -> None:
        self._prep = image_prep_pool(self.options.prep_workers)

    @property
    def ngram_size(self) -> int:
        """The first attempt's n-gram ban: the options' or the family's recipe."""
        return self.options.ngram_size or self.family.ngram_size

    def _identity_suffix(self) -> str:
        """What the cache key adds for a family other than DeepSeek-OCR (whose keys stay as they were)."""
        return "" if self.family.name == "deepseek-ocr" else f" family:{self.family.name}"

    def _sampling(self, attempt: int) -> Sampling:
        o = self.options
        if attempt == 0:
            return Sampling(o.max_tokens, self.ngram_size, o.window_size, o.whitelist_token_ids, 1.0, o.ignore_eos)
        return Sampling(o.max_tokens, o.retry_ngram_size, o.retry_window_size, o.whitelist_token_ids,
                        o.retry_repetition_penalty, o.ignore_eos)

    def _slots(self) -> int:
        """Pages in flight at most (the transport's batch or concurrency)."""
        raise NotImplementedError

    def ocr_pages(self, pages: Iterable[PageImage]) -> Iterator[OcrPage]:
        """OCR pages, yielding one ``OcrPage`` per input page in input order. Batches across pages; pulls
        ``pages`` lazily (at most about 2 x the engine's slots held). Failed pages come back with ``error``."""
        o = self.options
        stats = self.stats = RunStats()
        source = iter(enumerate(pages))
        states: dict[int, _Page] = {}
        prepping: deque[tuple[int, Future]] = deque()
        retries: deque[int] = deque()
        ahead = 2 * self._slots()
        next_out = 0
        exhausted = False
        tile = self.family.tile_size

        def fill() -> None:
            nonlocal exhausted
            while not exhausted and len(prepping) < ahead:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    return
                key, page = item
                states[key] = _Page(page, PROMPT_FOR_IMAGE_KIND.get(page.kind) or self.kind_of(page))
                prepping.append((key, self._prep.submit(partial(prepare, page.png, o.resolution, self._encoding,
                                                                tile=tile))))

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
                       engine_version=self.version(), model=self.options.model, model_family=self.family.name,
                       prompt_version=self.prompts[st.kind].version, raw_output=c.text, tokens_in=c.tokens_in,
                       tokens_out=c.tokens_out, finish_reason=c.finish_reason, attempts=st.attempts,
                       latency_s=c.latency_s)

    def _parsed(self, st: _Page, c: Completion) -> OcrPage:
        p = st.page
        text, blocks = self.family.parse(c.text, page_w_pt=p.width_pt, page_h_pt=p.height_pt)
        return self._base_page(st, c).with_(text=text, blocks=blocks)

    def _failed(self, st: _Page, error: str) -> OcrPage:
        p = st.page
        return OcrPage(doc_id=p.doc_id, page_no=p.page_no, source="none", engine=self.name,
                       model=self.options.model, model_family=self.family.name,
                       prompt_version=self.prompts[st.kind].version, attempts=st.attempts, error=error)

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

    def version(self) -> str:
        raise NotImplementedError

    def run_metrics(self) -> dict:
        """The last ``ocr_pages`` run's figures (pages/s, tokens/s, attempts, busy share, first page, GPU), with
        the model and its family."""
        d = self.stats.as_dict()
        d["gpu_memory_used_mb"] = gpu_memory_used_mb()
        d["model"] = self.options.model
        d["model_family"] = self.family.name
        return d

    def close(self) -> None:
        if self._prep is not None:
            self._prep.shutdown(wait=True, cancel_futures=True)
        if self._fallback_pool is not None:
            self._fallback_pool.shutdown(wait=True)
            self._fallback_engine.close()
        if self.transport is not None:
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
