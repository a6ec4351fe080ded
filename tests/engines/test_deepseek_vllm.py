"""The GPU engine's own code, for real; only what vLLM hands back is faked (its RequestOutput objects, and the
HTTP answers of its OpenAI-compatible server through ``httpx.MockTransport``)."""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine, DeepSeekVllmOptions
from pdf_ocr_pipeline.engines.vllm_server import ServeOptions, serve_command, serve_env
from pdf_ocr_pipeline.engines.vllm_transport import MAX_RESENDS, Sampling
from pdf_ocr_pipeline.errors import EngineUnavailableError
from pdf_ocr_pipeline.pdf.render import render_document

from ..conftest import needs_tesseract

# What DeepSeek-OCR writes (shapes taken from its outputs): a grounded document page, a diagram page read with
# "OCR this image." (one ref with two boxes), a runaway repetition and an output cut inside a box.
DOC = """<|ref|>title<|/ref|><|det|>[[102, 60, 898, 95]]<|/det|>
# Квартальный отчёт

<|ref|>text<|/ref|><|det|>[[100, 120, 900, 300]]<|/det|>
Выручка выросла на 12% по сравнению с прошлым кварталом.

<|ref|>image<|/ref|><|det|>[[150, 320, 850, 600]]<|/det|>


<|ref|>image_caption<|/ref|><|det|>[[300, 610, 700, 630]]<|/det|>
Рис. 1. Динамика продаж

<|ref|>table<|/ref|><|det|>[[100, 650, 900, 900]]<|/det|>
<table><tr><td>Q1</td><td>100</td></tr><tr><td>Q2</td><td>112</td></tr></table><｜end▁of▁sentence｜>"""
BPMN = """<|ref|>Start<|/ref|><|det|>[[40, 410, 90, 440]]<|/det|>
<|ref|>Approve invoice<|/ref|><|det|>[[200, 380, 330, 470]]<|/det|>
<|ref|>Yes<|/ref|><|det|>[[400, 300, 430, 320], [600, 500, 630, 520]]<|/det|>"""
RUNAWAY = "<|ref|>table<|/ref|><|det|>[[100, 100, 900, 900]]<|/det|>\n<table>" + "<tr><td>0</td><td>0</td></tr>" * 300
TRUNCATED = "<|ref|>text<|/ref|><|det|>[[100, 100, 900, 2"


@pytest.fixture(scope="module")
def pages(fixtures: Path) -> list[PageImage]:
    [p] = list(render_document(fixtures / "linn.pdf", dpi=100))  # one page of English prose
    return [PageImage("linn", n, p.png, p.dpi, p.width_pt, p.height_pt, p.image_sha256) for n in (1, 2, 3)]


# ------------------------------------------------------------------ the in-process transport's boundary


@dataclass
class FakeCompletionOutput:  # vllm.outputs.CompletionOutput
    text: str
    finish_reason: str
    token_ids: list[int]


@dataclass
class FakeRequestOutput:  # vllm.outputs.RequestOutput, as LLMEngine.step() returns it (FINAL_ONLY)
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[FakeCompletionOutput]
    finished: bool = True


@dataclass
class FakeLLM:
    """Stands in for ``vllm.LLM``: ``llm_engine.add_request`` / ``step``. Finishes up to ``per_step`` requests a
    step, newest first (so results come back out of order, as they do on a GPU)."""

    answer: callable
    per_step: int = 2
    added: list = field(default_factory=list)
    queue: list = field(default_factory=list)

    @property
    def llm_engine(self):
        return self

    def add_request(self, request_id, prompt, params):
        assert prompt["prompt"].startswith("<image>\n") and prompt["multi_modal_data"]["image"].size == (1024, 1024)
        self.added.append((request_id, prompt, params))
        self.queue.append((request_id, prompt, params))

    def step(self):
        done, self.queue = self.queue[-self.per_step:], self.queue[:-self.per_step]
        outs = []
        for rid, prompt, params in reversed(done):
            text, reason = self.answer(prompt["prompt"], params)
            outs.append(FakeRequestOutput(rid, [0] * 285, [FakeCompletionOutput(text, reason, [5] * (len(text) // 3))]))
        return outs


def in_process(answer, **options) -> tuple[DeepSeekVllmEngine, FakeLLM]:
    llm = FakeLLM(answer)
    opts = DeepSeekVllmOptions(transport="in-process", prep_workers=0, concurrency=4, **options)
    return DeepSeekVllmEngine(opts, llm=llm, sampling_factory=lambda s: s), llm


def test_in_process_parses_grounded_pages_in_input_order(pages):
    engine, llm = in_process(lambda prompt, params: (DOC, "stop"))
    results = list(engine.ocr_pages(pages))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3]
    r = results[0]
    assert (r.source, r.engine, r.prompt_version, r.attempts, r.finish_reason) == ("ocr", "deepseek-vllm", "ocr_v1", 1, "stop")
    assert r.raw_output == DOC and r.tokens_in == 285 and r.tokens_out > 0
    assert r.text.startswith("# Квартальный отчёт") and "<|" not in r.text and "![](image-1)" in r.text
    assert [b.label for b in r.blocks] == ["title", "text", "image", "image_caption", "table"]
    page = pages[0]
    assert all(0 <= b.x0 < b.x1 <= page.width_pt and 0 <= b.y0 < b.y1 <= page.height_pt for b in r.blocks)
    params = llm.added[0][2]
    assert isinstance(params, Sampling) and (params.ngram_size, params.window_size) == (30, 90)
    assert params.whitelist_token_ids == (128821, 128822)
    metrics = engine.run_metrics()
    assert metrics["pages"] == 3 and metrics["attempts"] == 3 and metrics["tokens_in"] == 3 * 285


def test_diagram_pages_get_the_ocr_prompt_and_multi_box_refs(pages):
    def answer(prompt, params):
        return (BPMN if "OCR this image." in prompt else DOC), "stop"

    engine, llm = in_process(answer)
    engine.kind_of = lambda page: "diagram" if page.page_no == 2 else "text"
    results = list(engine.ocr_pages(pages))
    engine.close()
    assert [r.prompt_version for r in results] == ["ocr_v1", "bpmn_v1", "ocr_v1"]
    diagram = results[1]
    assert [b.text for b in diagram.blocks] == ["Start", "Approve invoice", "Yes", "Yes"]
    yes = [b for b in diagram.blocks if b.text == "Yes"]
    assert yes[0].x0 < yes[1].x0 and yes[0].y0 < yes[1].y0


def test_runaway_is_retried_with_a_stronger_filter_and_then_succeeds(pages):
    calls = []

    def answer(prompt, params):
        calls.append(params)
        return (RUNAWAY, "length") if len(calls) == 1 else (DOC, "stop")

    engine, llm = in_process(answer)
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    assert (r.source, r.attempts, r.error) == ("ocr", 2, None)
    assert calls[1].ngram_size < calls[0].ngram_size and calls[1].window_size > calls[0].window_size
    assert calls[1].repetition_penalty > 1.0


@needs_tesseract
def test_runaway_and_truncated_pages_fall_back_to_tesseract(pages):
    engine, llm = in_process(lambda prompt, params: (RUNAWAY, "length") if "p0" in str(llm.added[-1][0])
                             else (TRUNCATED, "length"), max_retries=2)
    results = list(engine.ocr_pages(pages[:2]))
    engine.close()
    for r in results:
        assert r.source == "fallback" and r.is_fallback and r.error is None
        assert r.attempts == 3 and r.finish_reason == "length" and r.raw_output in (RUNAWAY, TRUNCATED)
        assert r.model.startswith("tesseract") and len(r.text) > 50 and r.blocks
    assert len(llm.added) == 6
    assert engine.run_metrics()["fallback_pages"] == 2


@needs_tesseract
def test_the_fallback_reads_language_data_from_the_configured_folder(pages, tmp_path):
    """Found on the GPU smoke run: the fallback ignored PDF_OCR_TESSDATA_DIR / TESSDATA_PREFIX."""
    import shutil

    from pdf_ocr_pipeline.engines.tesseract import find_tessdata
    from pdf_ocr_pipeline.resources import OcrEngineResource

    own = tmp_path / "tessdata"
    own.mkdir()
    for lang in ("rus", "eng"):
        shutil.copy(Path(find_tessdata(None, lang), f"{lang}.traineddata"), own)
    options = OcrEngineResource(engine="deepseek-vllm", tessdata_dir=str(own)).engine_options()
    assert options["tesseract_tessdata_dir"] == str(own)
    engine, _ = in_process(lambda prompt, params: (RUNAWAY, "length"), max_retries=0,
                           tesseract_tessdata_dir=options["tesseract_tessdata_dir"])
    [r] = list(engine.ocr_pages(pages[:1]))
    assert r.source == "fallback" and r.error is None and engine._tesseract().tessdata == str(own)
    engine.close()


def test_without_fallback_a_runaway_page_is_an_error_never_dropped(pages):
    engine, _ = in_process(lambda prompt, params: (RUNAWAY, "length"), max_retries=1, fallback="none")
    results = list(engine.ocr_pages(pages))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3]
    assert all(r.source == "none" and "runaway" in r.error and r.attempts == 2 for r in results)
    assert all(r.raw_output == RUNAWAY for r in results)


def test_image_preparation_runs_in_worker_processes(pages):
    llm = FakeLLM(lambda prompt, params: (DOC, "stop"))
    opts = DeepSeekVllmOptions(transport="in-process", prep_workers=2, concurrency=2)
    engine = DeepSeekVllmEngine(opts, llm=llm, sampling_factory=lambda s: s)
    results = list(engine.ocr_pages(iter(pages)))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] and all(r.error is None for r in results)
    assert engine.run_metrics()["prep_s"] > 0


def test_image_preparation_yields_the_cpu_to_vllm():
    """Found on a two-GPU host: preparation workers at normal priority slowed vLLM's own processes."""
    import os

    from pdf_ocr_pipeline.engines.deepseek_vllm import PREP_WORKER_NICENESS

    engine = DeepSeekVllmEngine(DeepSeekVllmOptions(transport="in-process", prep_workers=1),
                                llm=FakeLLM(lambda prompt, params: (DOC, "stop")), sampling_factory=lambda s: s)
    worker_niceness = engine._prep.submit(os.nice, 0).result()
    engine.close()
    assert worker_niceness == min(19, os.nice(0) + PREP_WORKER_NICENESS)


def test_a_caller_that_stops_early_aborts_the_pages_still_on_the_gpu(pages):
    aborted = []
    engine, llm = in_process(lambda prompt, params: (DOC, "stop"))
    llm.abort_request = aborted.extend

    def oldest_first():
        rid, _, _ = llm.queue.pop(0)
        return [FakeRequestOutput(rid, [0] * 285, [FakeCompletionOutput(DOC, "stop", [5] * 10)])]

    llm.step = oldest_first
    results = engine.ocr_pages(pages * 3)
    first = next(results)
    results.close()
    engine.close()
    assert first.page_no == 1 and aborted and set(aborted) <= {rid for rid, _, _ in llm.added}


# ------------------------------------------------------------------ the server transport's boundary


def chat_body(text: str, reason: str = "stop") -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "deepseek-ai/DeepSeek-OCR",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason}],
            "usage": {"prompt_tokens": 285, "completion_tokens": 412, "total_tokens": 697}}


class FakeServers:
    def __init__(self, answer, down=()):
        self.answer, self.down, self.requests = answer, set(down), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "deepseek-ai/DeepSeek-OCR"}]})
        body = json.loads(request.content)
        self.requests.append((request.url.host, body))
        return self.answer(body)


def server_engine(fake: FakeServers, **options) -> DeepSeekVllmEngine:
    opts = DeepSeekVllmOptions(transport="server", server_urls=("http://gpu-a:8000", "http://gpu-b:8000"),
                               prep_workers=0, concurrency=2, **options)
    return DeepSeekVllmEngine(opts, http_transport=httpx.MockTransport(fake))


def test_server_transport_spreads_pages_and_sends_the_recipe(pages):
    fake = FakeServers(lambda body: httpx.Response(200, json=chat_body(DOC)))
    engine = server_engine(fake)
    results = list(engine.ocr_pages(pages * 3))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] * 3 and all(r.source == "ocr" for r in results)
    assert (results[0].tokens_in, results[0].tokens_out) == (285, 412)
    hosts = [h for h, _ in fake.requests]
    assert hosts.count("gpu-a") >= 3 and hosts.count("gpu-b") >= 3
    body = fake.requests[0][1]
    assert body["temperature"] == 0.0 and body["skip_special_tokens"] is False
    assert body["vllm_xargs"] == {"ngram_size": 30, "window_size": 90, "whitelist_token_ids": [128821, 128822]}
    image, text = body["messages"][0]["content"]
    assert text == {"type": "text", "text": "<|grounding|>Convert the document to markdown."}
    assert image["image_url"]["url"].startswith("data:image/png;base64,")
    png = base64.b64decode(image["image_url"]["url"].split(",", 1)[1])
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png)).size == (1024, 1024)


def test_health_check_raises_when_no_server_answers():
    fake = FakeServers(lambda body: httpx.Response(500), down={"gpu-a", "gpu-b"})
    with pytest.raises(EngineUnavailableError, match="no vLLM server answers.*gpu-a.*gpu-b"):
        server_engine(fake)


def test_server_errors_are_retried_then_the_page_fails_with_the_error(pages):
    fake = FakeServers(lambda body: httpx.Response(503, json={"error": "overloaded"}))
    engine = server_engine(fake, max_retries=1, fallback="none")
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    assert r.source == "none" and r.attempts == 2 and "503" in r.error
    assert len(fake.requests) == 2


def test_one_server_down_at_request_time_is_retried_elsewhere(pages):
    fake = FakeServers(lambda body: httpx.Response(200, json=chat_body(DOC)))
    engine = server_engine(fake, max_retries=0)  # moving a page costs it no attempt
    fake.down.add("gpu-a")
    results = list(engine.ocr_pages(pages * 4))
    engine.close()
    assert all(r.source == "ocr" and r.error is None and r.attempts == 1 for r in results)
    assert {host for host, _ in fake.requests} == {"gpu-b"}  # every page answered by the live server


# ------------------------------------------------------------------ configuration and the serve command


@pytest.mark.parametrize("bad", [
    {"unknown_field": 1}, {"max_tokens": 8}, {"max_tokens": 100_000}, {"concurrency": 0},
    {"gpu_memory_utilization": 1.5}, {"transport": "grpc"}, {"server_urls": ()}, {"server_urls": ("gpu:8000",)},
    {"resolution": "large"}, {"max_retries": 9}, {"retry_repetition_penalty": 0.5},
])
def test_options_are_validated(bad):
    with pytest.raises(ValidationError):
        DeepSeekVllmOptions(**bad)


def test_cache_identity_changes_with_what_changes_the_output(pages):
    a, _ = in_process(lambda p, s: (DOC, "stop"))
    b, _ = in_process(lambda p, s: (DOC, "stop"), resolution="gundam")
    c, _ = in_process(lambda p, s: (DOC, "stop"), text_prompt="free_ocr_v1")
    assert len({a.cache_identity(), b.cache_identity(), c.cache_identity()}) == 3
    for e in (a, b, c):
        e.close()


def test_serve_command_has_the_deepseek_ocr_recipe():
    o = ServeOptions(model="/models/DeepSeek-OCR", port=8123, gpu_memory_utilization=0.5, max_num_seqs=64)
    cmd = serve_command(o)
    assert cmd[:5] == [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", "/models/DeepSeek-OCR"]
    flags = dict(zip(cmd[5::1], cmd[6::1]))
    assert flags["--port"] == "8123" and flags["--gpu-memory-utilization"] == "0.5" and flags["--max-num-seqs"] == "64"
    assert flags["--mm-processor-cache-gb"] == "0" and "--no-enable-prefix-caching" in cmd
    assert json.loads(flags["--override-generation-config"]) == {"temperature": 0.0}
    # The default n-gram ban runs in Model Runner V2's sampler: no logits processor (it would force the V1
    # runner), our plugin told to install the ban, and V2 forced so the patched sampler is the one that runs.
    assert "--logits-processors" not in cmd
    env = serve_env(o, {})
    assert env["PDF_OCR_DEEPSEEK_RESOLUTION"] == "base"
    assert env["PDF_OCR_NGRAM_IN_SAMPLER"] == "1" and env["VLLM_USE_V2_MODEL_RUNNER"] == "1"
    batched = ServeOptions(ngram_impl="batched")
    assert serve_command(batched)[serve_command(batched).index("--logits-processors") + 1].endswith(
        "ngram_filter:BatchedNGramLogitsProcessor")
    assert serve_env(batched, {})["PDF_OCR_NGRAM_IN_SAMPLER"] == "0" and "VLLM_USE_V2_MODEL_RUNNER" not in serve_env(
        batched, {})
    upstream = serve_command(ServeOptions(ngram_impl="upstream"))
    assert "vllm.model_executor.models.deepseek_ocr:NGramPerReqLogitsProcessor" in upstream


def test_importing_the_engine_needs_neither_vllm_nor_torch():
    import subprocess

    code = ("import sys, pdf_ocr_pipeline.engines.deepseek_vllm, pdf_ocr_pipeline.engines.vllm_server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vllm', 'torch', 'dagster')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.gpu
@pytest.mark.parametrize("phase", ["phase_selftest", "phase_selftest_sampler"])
def test_our_ngram_bans_ban_what_vllms_filter_bans(phase):
    """On the GPU machine, against vLLM's per-request filter on random looping histories: our batched logits
    processor (``phase_selftest``) and the Triton ban in Model Runner V2's sampler (``phase_selftest_sampler``)."""
    pytest.importorskip("vllm")
    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    import gpu_engine

    result = getattr(gpu_engine, phase)(None)
    assert result["ok"] and result["banned"] > 0


def test_a_dropped_connection_is_sent_again_at_no_attempts_cost(pages):
    """Seen on 2 x H200: a few of 2,048 requests got ReadError (a keep-alive connection closed by the server)."""
    dropped = []

    def answer(body):
        if len(dropped) < MAX_RESENDS:
            dropped.append(1)
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, json=chat_body(DOC))

    fake = FakeServers(answer)
    engine = server_engine(fake, max_retries=0, fallback="none")
    results = list(engine.ocr_pages(pages))
    engine.close()
    assert all(r.source == "ocr" and r.error is None and r.attempts == 1 for r in results)
    assert len(fake.requests) == len(pages) + MAX_RESENDS


def test_a_connection_that_keeps_dropping_fails_the_page_with_the_error(pages):
    def answer(body):
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    fake = FakeServers(answer)
    engine = server_engine(fake, max_retries=0, fallback="none")
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    assert r.source == "none" and "RemoteProtocolError" in r.error
    assert len(fake.requests) == 1 + MAX_RESENDS
