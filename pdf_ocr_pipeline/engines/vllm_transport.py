"""How pages reach vLLM: in-process (``vllm.LLM``, streamed through its engine; on several GPUs, one such engine
in a process of its own per GPU) or OpenAI-compatible servers.

Each takes ``pull``, a callable giving the next ``Request`` or None when there is nothing to send right now
(called only when there is room), and yields ``Completion`` in the order they finish; each stops once nothing is
in flight and ``pull`` gives None, so a retry queued while handling a completion is still sent. None parses
output or retries: that is ``deepseek_vllm.DeepSeekVllmEngine``'s job.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import EngineUnavailableError
from .image_prep import PreparedImage
from .prompts import IMAGE_TOKEN

#: Seconds a server that refused a connection is left out of the rotation.
SERVER_REST_S = 30.0
#: Times a page is sent again after its connection dropped before any answer (no attempt is counted).
MAX_RESENDS = 2
#: Pooled connections are dropped after this many idle seconds, below uvicorn's 5 s keep-alive: a request sent on
#: a connection the server is closing fails with ReadError (seen on 2 x H200 with 1,536 requests in flight).
KEEPALIVE_S = 2.0
#: The connection broke before an answer came: a stale keep-alive, a restarting API server.
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Sampling:
    """Per-attempt generation settings (the n-gram filter's are DeepSeek-OCR's recipe by default)."""

    max_tokens: int
    ngram_size: int = 30
    window_size: int = 90
    whitelist_token_ids: tuple[int, ...] = (128821, 128822)  # <td>, </td>
    repetition_penalty: float = 1.0
    ignore_eos: bool = False

    def extra_args(self) -> dict[str, Any]:
        return {"ngram_size": self.ngram_size, "window_size": self.window_size,
                "whitelist_token_ids": list(self.whitelist_token_ids)}


@dataclass
class Request:
    key: int
    prompt_text: str  # the instruction, without the image placeholder
    image: PreparedImage
    sampling: Sampling
    started: float = field(default=0.0)


@dataclass(frozen=True)
class Completion:
    key: int
    text: str
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_s: float
    server: str = ""
    error: str | None = None
    unreachable: bool = False  # the request never reached the server (it is down or gone)
    dropped: bool = False  # the connection broke before any answer


def vllm_sampling_params(s: Sampling):
    """``vllm.SamplingParams`` for one attempt: greedy, special tokens kept (the grounding tags), final only."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    # detokenize=False: vLLM would otherwise detokenize every token of every request, step by step, in this
    # one front-end process (measured: ~57 us a request a step, the limit at 256+ pages in flight); the
    # transport decodes each finished page once instead.
    return SamplingParams(temperature=0.0, max_tokens=s.max_tokens, skip_special_tokens=False,
                          repetition_penalty=s.repetition_penalty, ignore_eos=s.ignore_eos, detokenize=False,
                          extra_args=s.extra_args(), output_kind=RequestOutputKind.FINAL_ONLY)


class InProcessTransport:
    """One ``vllm.LLM`` in this process; requests streamed into its engine, up to ``max_in_flight`` at once (pages
    being rendered count: the GPU batch runs up to ``2 x render_threads`` below it while pages are admitted).

    vLLM's front end (the DeepSeek-OCR processor's image transform, tokenizing, packing the request) runs in this
    process while the engine core (its own process) keeps the GPU busy. With ``render_threads`` the processor
    runs in that many threads, pages ahead of the one that adds them to the engine: its image work releases the
    GIL, and vLLM's renderer allows concurrent use with its multimodal processor cache off (``build_llm`` turns it
    off; the cache is not thread-safe). Not thread-safe: one ``run`` at a time.
    """

    name = "in-process"

    def __init__(self, llm, *, max_in_flight: int, sampling_factory: Callable[[Sampling], Any] = vllm_sampling_params,
                 render_threads: int = 0):
        """Raises:
            ValueError: ``render_threads`` with vLLM's multimodal processor cache on.
        """
        mm_config = getattr(getattr(llm, "model_config", None), "multimodal_config", None)
        if render_threads and getattr(mm_config, "mm_processor_cache_gb", 0):
            raise ValueError("render_threads needs vLLM's multimodal processor cache off (mm_processor_cache_gb=0): "
                             "the cache is not thread-safe")
        self.llm = llm
        self.engine = llm.llm_engine
        self.max_in_flight = max_in_flight
        self._params = sampling_factory
        self._ids = itertools.count()
        self._tokenizer = None
        self.add_per_step = 32  # new requests per engine step: results keep flowing while pages are added
        self._render_pool = (ThreadPoolExecutor(render_threads, thread_name_prefix="vllm-render")
                             if render_threads else None)
        self._render_ahead = 2 * render_threads or 1  # pages rendering at once: each thread has the next one waiting

    def _text(self, o) -> str:
        if o.text or not o.token_ids:
            return o.text or ""
        if self._tokenizer is None:
            self._tokenizer = self.llm.get_tokenizer()
        return self._tokenizer.decode(list(o.token_ids), skip_special_tokens=False)

    def _render(self, req: Request):
        """The page as vLLM's engine takes it: rendered by vLLM's processor (vLLM >= 0.1x), else the raw prompt."""
        prompt = {"prompt": f"{IMAGE_TOKEN}\n{req.prompt_text}", "multi_modal_data": {"image": req.image.to_pil()}}
        render = getattr(self.llm, "_preprocess_cmpl_one", None)
        return render(prompt) if callable(render) else prompt

    def run(self, pull: Callable[[], Request | None], *,
            cancelled: Callable[[], bool] = lambda: False) -> Iterator[Completion]:
        """As the module says; ``cancelled`` is asked once an engine step and ends the run early when true."""
        in_flight: dict[str, Request] = {}
        rendering: deque[tuple[Request, Future]] = deque()  # pulled, being rendered, in pull order
        try:
            yield from self._run(pull, in_flight, rendering, cancelled)
        finally:  # the caller stopped early: free the GPU and the render threads from pages nobody will read
            for _, future in rendering:
                future.cancel()
            if in_flight and hasattr(self.engine, "abort_request"):
                self.engine.abort_request(list(in_flight))

    def _start_render(self, req: Request) -> Future:
        req.started = time.perf_counter()
        if self._render_pool is not None:
            return self._render_pool.submit(self._render, req)
        done: Future = Future()  # no render threads: rendered here and now
        try:
            done.set_result(self._render(req))
        except Exception as e:
            done.set_exception(e)
        return done

    def _next_rendered(self, pull: Callable[[], Request | None], rendering: deque, room: int,
                       wait: bool) -> tuple[Request, Future] | None:
        """The next page for the engine and its render (done, unless ``wait`` let it be taken unfinished); None
        when there is no room or nothing to pull, or (unless ``wait``) the oldest render is not done. ``room``:
        pages the engine may still take, those in ``rendering`` included."""
        while len(rendering) < min(self._render_ahead, room):  # keep every render thread busy
            req = pull()
            if req is None:
                break
            rendering.append((req, self._start_render(req)))
        if not rendering or not (wait or rendering[0][1].done()):
            return None
        return rendering.popleft()

    def _run(self, pull: Callable[[], Request | None], in_flight: dict[str, Request], rendering: deque,
             cancelled: Callable[[], bool]) -> Iterator[Completion]:
        while not cancelled():
            added = 0
            while added < self.add_per_step or not in_flight:
                ready = self._next_rendered(pull, rendering, self.max_in_flight - len(in_flight), wait=not in_flight)
                if ready is None:
                    break
                added += 1
                req, rendered = ready
                rid = f"p{next(self._ids)}"
                try:  # what rendering raised comes out of result() here
                    self.engine.add_request(rid, rendered.result(), self._params(req.sampling))
                except Exception as e:  # a bad image must not stop the batch
                    yield Completion(req.key, "", None, None, None, 0.0, error=f"vLLM refused the page: {e}")
                    continue
                in_flight[rid] = req
            if not in_flight:  # (with nothing rendering either: waiting for it would have added it)
                return
            for out in self.engine.step():
                if not getattr(out, "finished", True) or out.request_id not in in_flight:
                    continue
                req = in_flight.pop(out.request_id)
                o = out.outputs[0]
                yield Completion(req.key, self._text(o), o.finish_reason, len(out.prompt_token_ids or ()),
                                 len(o.token_ids), time.perf_counter() - req.started, server=self.name)

    def close(self) -> None:
        if self._render_pool is not None:
            self._render_pool.shutdown(wait=True, cancel_futures=True)
        self.engine = None
        self.llm = None


#: Seconds an engine process may take to load the model (a first start compiles and captures CUDA graphs).
ENGINE_START_TIMEOUT_S = 1800.0
#: Seconds between checks that the engine processes are alive while waiting for a page.
ENGINE_POLL_S = 1.0
#: Seconds an engine process is given to shut vLLM down before its process group is killed.
ENGINE_STOP_S = 60.0
#: What to do when an engine process cannot load the model.
LOAD_HINT = ("check the model folder and that each GPU has the free memory gpu_memory_utilization asks for "
             "(nvidia-smi); or use fewer GPUs")


def gpu_devices(count: int) -> list[str]:
    """The first ``count`` GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them.

    Raises:
        ValueError: ``CUDA_VISIBLE_DEVICES`` lists fewer GPUs than ``count``.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [str(i) for i in range(count)]
    names = [d.strip() for d in visible.split(",") if d.strip()]
    if len(names) < count:
        raise ValueError(f"{count} GPUs asked for, CUDA_VISIBLE_DEVICES={visible!r} lists {len(names)}")
    return names[:count]


class _Inbox:
    """The parent's end of an engine process's inbox. A thread of its own writes the pages (3 MB each), so a
    process busy with its GPU never stalls the run; when the process is gone the write fails (broken pipe) and
    the thread ends, where a ``multiprocessing.Queue`` would keep its feeder thread blocked, and the interpreter
    waiting for it at exit."""

    _STOP = object()

    def __init__(self, conn: mp_connection.Connection, name: str):
        self._conn = conn
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name=name, daemon=True)
        self._thread.start()

    def put(self, item) -> None:
        self._queue.put(item)

    def _write(self) -> None:
        while (item := self._queue.get()) is not self._STOP:
            try:
                self._conn.send(item)
            except OSError:  # the process is gone; what is left in the queue goes nowhere
                return

    def close(self, timeout: float) -> None:
        self._queue.put(self._STOP)
        self._thread.join(timeout)
        self._conn.close()


class EngineProcessesTransport:
    """Data parallel on one host without HTTP: one in-process vLLM engine per GPU, each in a process of its own
    pinned to its GPU (``CUDA_VISIBLE_DEVICES``); a page goes to the process with the fewest pages outstanding.

    Each process runs ``InProcessTransport``, so each GPU's front end (vLLM's image processing, a core's worth at
    full speed) has a process of its own instead of sharing one interpreter. Each process has a pipe for its pages
    (raw RGB, 3 MB each) and one for its answers, so one that dies blocks no other and is seen at once (end of
    file). Its pages go to the others at no attempt's cost; with none left, pages come back with the error. Not
    thread-safe: one ``run`` at a time.
    """

    name = "engine-processes"

    def __init__(self, build_llm: Callable[[], Any], devices: Sequence[str], *, max_in_flight: int,
                 sampling_factory: Callable[[Sampling], Any] = vllm_sampling_params, render_threads: int = 0,
                 start_timeout_s: float = ENGINE_START_TIMEOUT_S):
        """Start one process per device and wait until each has loaded the model.

        Args:
            build_llm: picklable; builds the ``vllm.LLM`` inside each process (after its GPU is pinned).
            devices: a ``CUDA_VISIBLE_DEVICES`` value per process.
            max_in_flight: pages in flight per process.
            sampling_factory: picklable; ``Sampling -> vllm.SamplingParams``.
            render_threads: each process's ``InProcessTransport.render_threads``.
        Raises:
            EngineUnavailableError: a process failed to load the model (or did not within ``start_timeout_s``).
        """
        ctx = mp.get_context("spawn")  # vLLM must not inherit a parent's CUDA state; spawn is what it expects
        self.devices = list(devices)
        self.max_in_flight = max_in_flight
        # runs up to this number were stopped by their caller; one writer (this process), so no lock that a
        # process dying at the wrong moment could leave taken
        self._cancelled = ctx.Value("q", 0, lock=False)
        self._run_no = 0
        self._inboxes: list[_Inbox] = []
        self._answers: list[mp_connection.Connection] = []
        self._procs: list[mp.process.BaseProcess] = []
        for i, device in enumerate(self.devices):
            pages_out, pages_in = ctx.Pipe(duplex=False)
            answers, answer = ctx.Pipe(duplex=False)
            self._procs.append(ctx.Process(target=_engine_process, name=f"vllm-gpu{device}", args=(
                build_llm, device, i, pages_out, answer, self._cancelled, max_in_flight, sampling_factory,
                render_threads)))
            self._procs[-1].start()
            pages_out.close()  # the process holds the only ends it uses: either side's exit is the other's
            answer.close()  # end of file (or broken pipe)
            self._inboxes.append(_Inbox(pages_in, name=f"vllm-gpu{device}-inbox"))
            self._answers.append(answers)
        self._alive = [False] * len(self.devices)
        self._loading = set(range(len(self.devices)))
        try:
            self._wait_ready(start_timeout_s)
        except BaseException:
            self.close()
            raise

    def _receive(self, timeout: float) -> list[tuple[str, int, Any]]:
        """What the processes said within ``timeout``: ("ready" | "failed" | "done" | "gone", process, detail)."""
        listening = {self._answers[i]: i for i in range(len(self._procs)) if self._alive[i] or i in self._loading}
        said = []
        for conn in mp_connection.wait(list(listening), timeout):
            i = listening[conn]
            try:
                said.append(conn.recv())
            except (EOFError, OSError):
                self._alive[i] = False
                self._loading.discard(i)
                said.append(("gone", i, self._procs[i].exitcode))
        return said

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._loading:
            if time.monotonic() > deadline:
                raise EngineUnavailableError(f"the vLLM engines did not load within {timeout_s:.0f} s",
                                             hint=LOAD_HINT)
            for kind, i, detail in self._receive(ENGINE_POLL_S):
                if kind == "failed":
                    raise EngineUnavailableError(f"the vLLM engine on GPU {self.devices[i]} failed to load: "
                                                 f"{detail}", hint=LOAD_HINT)
                if kind == "gone":
                    raise EngineUnavailableError(f"the vLLM engine process on GPU {self.devices[i]} exited while "
                                                 f"loading", hint=LOAD_HINT)
                self._loading.discard(i)
                self._alive[i] = True

    def run(self, pull: Callable[[], Request | None]) -> Iterator[Completion]:
        self._run_no += 1
        run_no = self._run_no
        in_flight: dict[int, tuple[int, Request]] = {}  # key -> (process, request)
        outstanding = [0] * len(self.devices)
        backlog: deque[Request] = deque()  # pages of a process that died, sent again first
        try:
            while True:
                while True:
                    open_ = [i for i, alive in enumerate(self._alive) if alive and outstanding[i] < self.max_in_flight]
                    if not open_ and any(self._alive):
                        break
                    req = backlog.popleft() if backlog else pull()
                    if req is None:
                        break
                    if not open_:  # every engine process is gone: the page fails, the caller decides
                        yield Completion(req.key, "", None, None, None, 0.0, server=self.name,
                                         error="every vLLM engine process has exited")
                        continue
                    i = min(open_, key=outstanding.__getitem__)
                    self._inboxes[i].put((run_no, req))
                    in_flight[req.key] = (i, req)
                    outstanding[i] += 1
                if not in_flight:
                    return
                for kind, i, detail in self._receive(ENGINE_POLL_S):
                    if kind == "gone":
                        lost = [key for key, (j, _) in in_flight.items() if j == i]
                        backlog.extend(in_flight.pop(key)[1] for key in lost)
                        outstanding[i] = 0
                        continue
                    if kind != "done":
                        continue
                    done_run, c = detail
                    if done_run != run_no or c.key not in in_flight:
                        continue  # a page of a run its caller stopped
                    in_flight.pop(c.key)
                    outstanding[i] -= 1
                    yield c
        finally:
            if in_flight:  # the caller stopped early: the processes drop this run's pages
                self._cancelled.value = run_no

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        deadline = time.monotonic() + ENGINE_STOP_S
        for p in self._procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.exitcode is None:  # stuck: it and vLLM's processes (its group) go at once
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    p.kill()
                p.join(timeout=10)
        for inbox in self._inboxes:
            inbox.close(timeout=10)
        for conn in self._answers:
            conn.close()
        self._alive = [False] * len(self._procs)
        self._loading.clear()


def _engine_process(build_llm, device: str, index: int, inbox: mp_connection.Connection,
                    answer: mp_connection.Connection, cancelled, max_in_flight: int, sampling_factory,
                    render_threads: int = 0) -> None:
    """One GPU's engine process: loads the model, says ("ready" | "failed", index, detail), serves, stops vLLM."""
    os.setpgid(0, 0)  # a group of its own with vLLM's processes, so that the parent can stop them all
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    try:
        llm = build_llm()
    except BaseException as e:
        answer.send(("failed", index, f"{type(e).__name__}: {e}"))
        return
    try:
        answer.send(("ready", index, None))
        transport = InProcessTransport(llm, max_in_flight=max_in_flight, sampling_factory=sampling_factory,
                                       render_threads=render_threads)
        try:
            _serve_requests(transport, device, index, inbox, answer, cancelled)
        finally:
            transport.close()
    finally:
        # Now, not at exit: a multiprocessing child joins its own children (vLLM's engine core) before the
        # interpreter's exit hooks would have told vLLM to stop them, and would wait for ever.
        shutdown = getattr(getattr(getattr(llm, "llm_engine", None), "engine_core", None), "shutdown", None)
        if callable(shutdown):
            shutdown()


def _serve_requests(transport: InProcessTransport, device: str, index: int, inbox: mp_connection.Connection,
                    answer: mp_connection.Connection, cancelled) -> None:
    """Takes (run, request) from ``inbox`` and answers ("done", index, (run, completion)) on ``answer``.

    Stops on ``None`` or when the parent is gone. Pages of runs up to ``cancelled.value`` are dropped (in the
    inbox) or aborted (on the GPU).
    """
    tags = itertools.count()
    owners: dict[int, tuple[int, int]] = {}  # the transport's key -> (run, the caller's key)
    newest = 0
    stop = False

    def take(block: bool):
        nonlocal stop, newest
        while not stop:
            try:
                if not inbox.poll(ENGINE_POLL_S if block else 0):
                    if block:
                        continue
                    return None
                item = inbox.recv()
            except (EOFError, OSError):  # the parent is gone
                item = None
            if item is None:
                stop = True
                return None
            run, req = item
            if run <= cancelled.value:
                continue
            newest = max(newest, run)
            tag = next(tags)
            owners[tag] = (run, req.key)
            req.key = tag
            return req
        return None

    while not stop:
        first = take(block=True)
        if first is None:
            break
        pending = [first]
        pull = lambda: pending.pop() if pending else take(block=False)  # noqa: E731
        for c in transport.run(pull, cancelled=lambda: cancelled.value >= newest):
            run, key = owners.pop(c.key)
            answer.send(("done", index, (run, dataclasses.replace(c, key=key, server=f"gpu{device}"))))
        owners.clear()  # what is left was aborted with its run


class ServerTransport:
    """One or more OpenAI-compatible vLLM servers; each gets at most ``concurrency`` requests at once and a
    new page goes to the server with the fewest outstanding (data parallel). Thread-safe ``run`` calls share
    the servers' limits; the HTTP client and its event loop live on a private thread.
    """

    name = "server"

    def __init__(self, urls: list[str], model: str, *, concurrency: int, timeout_s: float,
                 http_transport: httpx.AsyncBaseTransport | None = None):
        self.urls = [u.rstrip("/") for u in urls]
        self.model = model
        self.concurrency = concurrency
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vllm-http", daemon=True)
        self._thread.start()
        self._client = self._call(self._make_client(timeout_s, http_transport))
        self._outstanding = {u: 0 for u in self.urls}
        self._sent = {u: 0 for u in self.urls}
        self._down_until = {u: 0.0 for u in self.urls}  # a server that refused a connection rests a while
        self._limits: dict[str, asyncio.Semaphore] = self._call(self._make_limits())

    async def _make_client(self, timeout_s, transport):
        return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0), transport=transport,
                                 limits=httpx.Limits(max_connections=self.concurrency * len(self.urls) + 8,
                                                     keepalive_expiry=KEEPALIVE_S))

    async def _make_limits(self):
        return {u: asyncio.Semaphore(self.concurrency) for u in self.urls}

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def health(self) -> dict[str, str]:
        """``GET /v1/models`` on every server; the served model names by URL.

        Raises:
            EngineUnavailableError: no server answers (the message lists each one's error).
        """
        async def probe(url):
            try:
                r = await self._client.get(f"{url}/v1/models", timeout=10.0)
                r.raise_for_status()
                return url, ",".join(m.get("id", "?") for m in r.json().get("data", [])), None
            except Exception as e:
                return url, None, f"{type(e).__name__}: {e}"

        async def probe_all():
            return await asyncio.gather(*(probe(u) for u in self.urls))

        results = self._call(probe_all())
        ok = {u: models for u, models, err in results if err is None}
        if not ok:
            detail = "; ".join(f"{u}: {err}" for u, _, err in results)
            raise EngineUnavailableError(f"no vLLM server answers ({detail})")
        return ok

    def _body(self, req: Request) -> dict:
        mime = "image/png" if req.image.encoding == "png" else "image/jpeg"
        url = f"data:{mime};base64,{base64.b64encode(req.image.data).decode()}"
        s = req.sampling
        return {"model": self.model, "temperature": 0.0, "max_tokens": s.max_tokens,
                "skip_special_tokens": False, "repetition_penalty": s.repetition_penalty,
                "ignore_eos": s.ignore_eos, "vllm_xargs": s.extra_args(),
                "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": req.prompt_text}]}]}

    def _pick(self) -> str:
        """The live server with the fewest outstanding requests (ties: fewest sent); all, if none is live."""
        now = time.monotonic()
        live = [u for u in self.urls if self._down_until[u] <= now] or self.urls
        return min(live, key=lambda u: (self._outstanding[u], self._sent[u]))

    async def _send(self, req: Request) -> Completion:
        # A request that never reached a server (connection refused, server gone) moves to another server and
        # costs the page no attempt; the server it failed on is skipped for SERVER_REST_S. A request whose
        # connection dropped before any answer is sent again (MAX_RESENDS), also at no attempt's cost: the
        # attempts count what the model did, and a retry would change the sampling settings.
        moves = resends = 0
        while True:
            done = await self._send_once(req, self._pick())
            if done.unreachable and moves < len(self.urls) - 1:
                moves += 1
                self._down_until[done.server] = time.monotonic() + SERVER_REST_S
            elif done.dropped and resends < MAX_RESENDS:
                resends += 1
            else:
                return done

    async def _send_once(self, req: Request, url: str) -> Completion:
        self._outstanding[url] += 1
        self._sent[url] += 1
        try:
            async with self._limits[url]:
                started = time.perf_counter()
                try:
                    r = await self._client.post(f"{url}/v1/chat/completions", json=self._body(req))
                    r.raise_for_status()
                    data = r.json()
                    choice = data["choices"][0]
                    usage = data.get("usage") or {}
                    return Completion(req.key, choice["message"].get("content") or "", choice.get("finish_reason"),
                                      usage.get("prompt_tokens"), usage.get("completion_tokens"),
                                      time.perf_counter() - started, server=url)
                except Exception as e:
                    return Completion(req.key, "", None, None, None, time.perf_counter() - started, server=url,
                                      error=f"{url}: {type(e).__name__}: {e}",
                                      unreachable=isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)),
                                      dropped=isinstance(e, DROPPED))
        finally:
            self._outstanding[url] -= 1

    def run(self, pull: Callable[[], Request | None]) -> Iterator[Completion]:
        limit = self.concurrency * len(self.urls)
        pending: set[Future] = set()
        while True:
            while len(pending) < limit:
                req = pull()
                if req is None:
                    break
                req.started = time.perf_counter()
                pending.add(asyncio.run_coroutine_threadsafe(self._send(req), self._loop))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()

    def close(self) -> None:
        if self._loop.is_running():
            self._call(self._client.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
