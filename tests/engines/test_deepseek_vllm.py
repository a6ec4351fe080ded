"""The GPU engine's own code, for real; only what vLLM hands back is faked (its RequestOutput objects, and the
HTTP answers of its OpenAI-compatible server through ``httpx.MockTransport``)."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine, DeepSeekVllmOptions
from pdf_ocr_pipeline.engines.vllm_server import ServeOptions, serve_command, serve_env
from pdf_ocr_pipeline.engines.image_prep import prepare
from pdf_ocr_pipeline.engines.vllm_transport import MAX_RESENDS, InProcessTransport, Request, Sampling
from pdf_ocr_pipeline.errors import EngineUnavailableError
from pdf_ocr_pipeline.pdf.render import render_document

from ..conftest import needs_tesseract
from .fake_vllm import (BPMN, DOC, FIGURE, RUNAWAY, TRUNCATED, FakeCompletionOutput, FakeLLM, FakeRenderingLLM,
                        FakeRequestOutput,
                        build_fake_llm, build_fake_rendering_llm, build_llm_stuck_on_exit, fail_to_load,
                        gpu1_dies, gpu_of_this_process,
                        runaway_on_first_attempt, same_params)


@pytest.fixture(scope="module")
def pages(fixtures: Path) -> list[PageImage]:
    [p] = list(render_document(fixtures / "linn.pdf", dpi=100))  # one page of English prose
    return [PageImage("linn", n, p.png, p.dpi, p.width_pt, p.height_pt, p.image_sha256) for n in (1, 2, 3)]


# ------------------------------------------------------------------ the in-process transport's boundary


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


def test_picture_regions_get_the_diagram_prompt_and_figures_the_figure_prompt(pages):
    def answer(prompt, params):
        if prompt.endswith("Parse the figure."):
            return FIGURE, "stop"
        return (BPMN if prompt.endswith("OCR this image.") else DOC), "stop"

    engine, llm = in_process(answer)
    kinds = ["page", "region", "figure"]
    results = list(engine.ocr_pages([p.__class__(**{**p.__dict__, "kind": k}) for p, k in zip(pages, kinds)]))
    engine.close()
    assert [r.prompt_version for r in results] == ["ocr_v1", "bpmn_v1", "figure_v1"]
    prompts = [added[1]["prompt"] for added in llm.added]
    assert any(p.endswith("Parse the figure.") for p in prompts) and any(p.endswith("OCR this image.") for p in prompts)
    figure = results[2]
    assert figure.text.startswith("<table>") and "Договоры" in figure.text and "end" not in figure.text
    assert figure.blocks == () and figure.error is None  # no grounding: a description, not words with boxes
    assert [b.text for b in results[1].blocks] == ["Start", "Approve invoice", "Yes", "Yes"]


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


@pytest.mark.parametrize("render_threads", [2, 0])
def test_pages_rendered_ahead_or_not_and_a_page_vllm_refuses_fails_alone(pages, render_threads):
    llm = FakeRenderingLLM(lambda prompt, params: (DOC, "stop"), refuse="OCR this image.")
    opts = DeepSeekVllmOptions(transport="in-process", prep_workers=0, concurrency=4,
                               render_threads=render_threads, max_retries=0, fallback="none")
    engine = DeepSeekVllmEngine(opts, llm=llm, sampling_factory=same_params)
    engine.kind_of = lambda page: "diagram" if page.page_no == 2 else "text"  # the diagram prompt is refused
    results = list(engine.ocr_pages(pages * 4))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] * 4
    assert [r.error is None for r in results] == [True, False, True] * 4
    assert all("vLLM refused the page: cannot identify image file" in r.error for r in results[1::3])
    assert all(r.text.startswith("# Квартальный отчёт") for r in results[0::3] + results[2::3])
    assert len(llm.added) == 8  # the refused pages never reached the engine
    threads = {f"vllm-render_{i}" for i in range(render_threads)} if render_threads else {"MainThread"}
    assert llm.rendered_in and llm.rendered_in <= threads


def test_pages_being_rendered_count_against_the_pages_in_flight(pages):
    llm = FakeRenderingLLM(lambda prompt, params: (DOC, "stop"), per_step=1)
    transport = InProcessTransport(llm, max_in_flight=3, sampling_factory=same_params, render_threads=2)
    pulled, most = [], []
    image = prepare(pages[0].png)
    todo = [Request(k, "OCR", image, Sampling(64)) for k in range(15)]

    def pull():
        if not todo:
            return None
        pulled.append(todo[0].key)
        return todo.pop(0)

    done = []
    for c in transport.run(pull):
        most.append(len(pulled) - len(done))
        done.append(c.key)
    transport.close()
    assert sorted(done) == list(range(15)) and max(most) <= 3


def test_a_run_stopped_while_pages_render_leaves_them_behind(pages):
    llm = FakeRenderingLLM(lambda prompt, params: (DOC, "stop"), render_s=0.2)
    transport = InProcessTransport(llm, max_in_flight=8, sampling_factory=same_params, render_threads=2)
    image = prepare(pages[0].png)
    todo = [Request(k, "OCR", image, Sampling(64)) for k in range(12)]
    run = transport.run(lambda: todo.pop(0) if todo else None)
    next(run)  # the first page is back; pages behind it are rendering or waiting for a render thread
    run.close()
    pulled = 12 - len(todo)
    time.sleep(1.0)  # time enough for every pulled page to have been rendered, had the run not dropped them
    assert llm.renders < pulled and len(todo) == 12 - pulled  # those waiting for a thread never were
    transport.close()


def test_render_threads_on_several_gpus(pages):
    """Each engine process renders in threads of its own: the page's text names the thread that rendered it."""
    engine = on_gpus(gpu_of_this_process, builder=build_fake_rendering_llm)
    try:
        results = list(engine.ocr_pages(pages * 3))
    finally:
        engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] * 3 and all(r.error is None for r in results)
    assert all("rendered in vllm-render_" in r.raw_output for r in results)


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


# ------------------------------------------------------------------ several GPUs: one engine process each


def on_gpus(answer, gpus: int = 2, builder=build_fake_llm, **options) -> DeepSeekVllmEngine:
    opts = DeepSeekVllmOptions(transport="in-process", gpus=gpus, prep_workers=0, concurrency=2, **options)
    return DeepSeekVllmEngine(opts, llm_builder=partial(builder, answer), sampling_factory=same_params)


def test_pages_spread_over_one_engine_process_per_gpu(pages, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6")  # the processes take the first two GPUs this one may use
    engine = on_gpus(gpu_of_this_process)
    try:
        assert engine.health() == {"in-process gpu3": engine.options.model, "in-process gpu5": engine.options.model}
        results = list(engine.ocr_pages(pages * 4))
    finally:
        engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] * 4 and all(r.error is None for r in results)
    assert {r.raw_output.rsplit("gpu ", 1)[1] for r in results} == {"3 -->", "5 -->"}
    assert all(r.text.startswith("# Квартальный отчёт") and len(r.blocks) == 5 for r in results)
    metrics = engine.run_metrics()
    assert metrics["pages"] == 12 and metrics["attempts"] == 12 and metrics["tokens_in"] == 12 * 285


def test_on_several_gpus_a_runaway_page_is_retried(pages):
    engine = on_gpus(runaway_on_first_attempt)
    try:
        results = list(engine.ocr_pages(pages))
    finally:
        engine.close()
    assert [(r.source, r.attempts, r.error) for r in results] == [("ocr", 2, None)] * 3


def test_the_pages_of_an_engine_process_that_dies_go_to_the_others(pages):
    engine = on_gpus(gpu1_dies)
    try:
        results = list(engine.ocr_pages(pages * 2))
        again = list(engine.ocr_pages(pages))  # the next run uses the GPU that is left
    finally:
        engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] * 2
    assert all(r.error is None and r.attempts == 1 and r.raw_output.endswith("gpu 0 -->") for r in results + again)


def test_an_engine_process_that_cannot_load_the_model_is_a_clear_error():
    opts = DeepSeekVllmOptions(transport="in-process", gpus=2, prep_workers=0)
    with pytest.raises(EngineUnavailableError, match="GPU [01] failed to load: RuntimeError: CUDA out of memory"):
        DeepSeekVllmEngine(opts, llm_builder=fail_to_load, sampling_factory=same_params)


def test_a_run_stopped_early_leaves_nothing_behind_for_the_next(pages):
    engine = on_gpus(gpu_of_this_process)
    try:
        first = engine.ocr_pages(pages * 20)
        assert next(first).page_no == 1
        first.close()
        results = list(engine.ocr_pages(pages))
    finally:
        engine.close()
    assert [r.page_no for r in results] == [1, 2, 3] and all(r.error is None for r in results)
    assert engine.run_metrics()["attempts"] == 3


def test_closing_stops_an_engine_process_stuck_on_the_way_out_with_what_it_started(pages, tmp_path, monkeypatch):
    """Found on the GPU machine: the engine processes hung on exit, and vLLM's engine cores kept the GPU."""
    from pdf_ocr_pipeline.engines import vllm_transport

    monkeypatch.setattr(vllm_transport, "ENGINE_STOP_S", 2.0)
    opts = DeepSeekVllmOptions(transport="in-process", gpus=2, prep_workers=0, concurrency=2)
    engine = DeepSeekVllmEngine(opts, llm_builder=partial(build_llm_stuck_on_exit, str(tmp_path)),
                                sampling_factory=same_params)
    assert [r.error for r in engine.ocr_pages(pages)] == [None] * 3
    engine.close()
    helpers = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    assert len(helpers) == 2 and not any(p.is_alive() for p in engine.transport._procs)
    assert not [pid for pid in helpers if _running(pid)]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_more_gpus_than_visible_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(ValueError, match="2 GPUs asked for"):
        DeepSeekVllmEngine(DeepSeekVllmOptions(transport="in-process", gpus=2), llm_builder=build_fake_llm)


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
    {"resolution": "large"}, {"max_retries": 9}, {"retry_repetition_penalty": 0.5}, {"gpus": 0},
    {"gpus": 2, "transport": "server"}, {"render_threads": -1}, {"engine_threads": -1},
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
    assert env["PDF_OCR_ENGINE_TORCH_THREADS"] == "4"  # measured best on 2 x H200 (BENCHMARKS.md)
    assert serve_env(ServeOptions(engine_threads=0), {})["PDF_OCR_ENGINE_TORCH_THREADS"] == ""


def test_the_plugin_limits_torch_threads_in_the_engine_core_once_it_has_started(monkeypatch):
    """vLLM's worker class is the boundary: stood in for, with torch, in ``sys.modules``."""
    import types

    from pdf_ocr_pipeline.engines import vllm_plugin

    import functools

    calls = []

    def traced(method):  # vLLM's @instrument: a functools.wraps wrapper that must keep running
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            calls.append("traced")
            return method(*args, **kwargs)
        return wrapper

    class Worker:  # vllm.v1.worker.gpu_worker.Worker
        @traced
        def compile_or_warm_up_model(self):
            calls.append("warm-up")
            return "compilation times"

    worker_module = types.ModuleType("vllm.v1.worker.gpu_worker")
    worker_module.Worker = Worker
    for name in ("vllm", "vllm.v1", "vllm.v1.worker"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setattr(sys.modules["vllm.v1.worker"], "gpu_worker", worker_module, raising=False)
    monkeypatch.setitem(sys.modules, "vllm.v1.worker.gpu_worker", worker_module)
    torch = types.ModuleType("torch")
    torch.set_num_threads = lambda n: calls.append(("torch threads", n))
    monkeypatch.setitem(sys.modules, "torch", torch)
    for name in ("PDF_OCR_DEEPSEEK_RESOLUTION", "PDF_OCR_NGRAM_IN_SAMPLER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PDF_OCR_BATCHED_ENCODER", "0")
    monkeypatch.setenv("PDF_OCR_ENGINE_TORCH_THREADS", "4")
    original = Worker.compile_or_warm_up_model

    vllm_plugin.register()  # in the front end: the engine core vLLM forks from it inherits the patched class
    assert Worker.compile_or_warm_up_model is not original and calls == []  # nothing changes before start-up
    vllm_plugin.register()  # loaded again (a spawned process): still one limit, after the warm-up
    assert Worker().compile_or_warm_up_model() == "compilation times"
    assert calls == ["traced", "warm-up", ("torch threads", 4)]
    monkeypatch.setenv("PDF_OCR_ENGINE_TORCH_THREADS", "four")
    with pytest.warns(UserWarning, match="left as they are"):
        vllm_plugin.register()  # a bad value must not stop vLLM from starting


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
