"""How pages reach vLLM: in-process (``vllm.LLM``, streamed through its engine) or OpenAI-compatible servers.

Both take ``pull``, a callable giving the next ``Request`` or None when there is nothing to send right now
(called only when there is room), and yield ``Completion`` in the order they finish; they stop once nothing is
in flight and ``pull`` gives None, so a retry queued while handling a completion is still sent. Neither parses output nor retries: that is ``deepseek_vllm.DeepSeekVllmEngine``'s job.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
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
    """One ``vllm.LLM`` in this process; requests streamed into its engine, up to ``max_in_flight`` at once.

    The image preprocessing of ``add_request`` runs in this thread while the engine core (its own process)
    keeps the GPU busy. Not thread-safe: one ``run`` at a time.
    """

    name = "in-process"

    def __init__(self, llm, *, max_in_flight: int, sampling_factory: Callable[[Sampling], Any] = vllm_sampling_params):
        self.llm = llm
        self.engine = llm.llm_engine
        self.max_in_flight = max_in_flight
        self._params = sampling_factory
        self._ids = itertools.count()
        self._tokenizer = None
        self.add_per_step = 32  # new requests per engine step: results keep flowing while pages are added

    def _text(self, o) -> str:
        if o.text or not o.token_ids:
            return o.text or ""
        if self._tokenizer is None:
            self._tokenizer = self.llm.get_tokenizer()
        return self._tokenizer.decode(list(o.token_ids), skip_special_tokens=False)

    def run(self, pull: Callable[[], Request | None]) -> Iterator[Completion]:
        in_flight: dict[str, Request] = {}
        try:
            yield from self._run(pull, in_flight)
        finally:  # the caller stopped early: free the GPU from pages nobody will read
            if in_flight and hasattr(self.engine, "abort_request"):
                self.engine.abort_request(list(in_flight))

    def _run(self, pull: Callable[[], Request | None], in_flight: dict[str, Request]) -> Iterator[Completion]:
        while True:
            added = 0
            while len(in_flight) < self.max_in_flight and (added < self.add_per_step or not in_flight):
                added += 1
                req = pull()
                if req is None:
                    break
                rid = f"p{next(self._ids)}"
                req.started = time.perf_counter()
                try:
                    prompt = {"prompt": f"{IMAGE_TOKEN}\n{req.prompt_text}",
                              "multi_modal_data": {"image": req.image.to_pil()}}
                    render = getattr(self.llm, "_preprocess_cmpl_one", None)  # vLLM >= 0.1x: render, then add
                    self.engine.add_request(rid, render(prompt) if callable(render) else prompt,
                                            self._params(req.sampling))
                except Exception as e:  # a bad image must not stop the batch
                    yield Completion(req.key, "", None, None, None, 0.0, error=f"vLLM refused the page: {e}")
                    continue
                in_flight[rid] = req
            if not in_flight:
                return
            for out in self.engine.step():
                if not getattr(out, "finished", True) or out.request_id not in in_flight:
                    continue
                req = in_flight.pop(out.request_id)
                o = out.outputs[0]
                yield Completion(req.key, self._text(o), o.finish_reason, len(out.prompt_token_ids or ()),
                                 len(o.token_ids), time.perf_counter() - req.started, server=self.name)

    def close(self) -> None:
        self.engine = None
        self.llm = None


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
