"""The GPU engine through the whole pipeline on CI: the real engine code and a stand-in for `vllm serve`.

Only the server is faked: a local HTTP server answering the OpenAI API the way vLLM does for DeepSeek-OCR, with
grounded output. Everything else (the CLI, Dagster, the engine's batching, parsing, metrics) runs for real.
"""

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from pdf_ocr_pipeline.cli import main

from .conftest import copy_fixture
from .fakes import OpenAIServerStandIn

GROUNDED = ("<|ref|>title<|/ref|><|det|>[[200, 50, 800, 90]]<|/det|>\n# The LinnSequencer\n\n"
            "<|ref|>text<|/ref|><|det|>[[200, 120, 800, 400]]<|/det|>\n32 Track MIDI Sequence Recorder\n\n")


class FakeVllm(OpenAIServerStandIn):
    requests: list[dict] = []

    def do_POST(self):
        body = self.read_body()
        FakeVllm.requests.append(body)
        self.send_json(self.completion(GROUNDED, 282, 41))


@pytest.fixture
def fake_vllm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVllm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeVllm.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_pdf_ocr_run_with_the_gpu_engine(tmp_path: Path, inbox: Path, fake_vllm, monkeypatch, capsys):
    monkeypatch.setenv("PDF_OCR_VLLM_URLS", fake_vllm)
    copy_fixture("linn.pdf", inbox, "scan.pdf")
    copy_fixture("A.1.0.pdf", inbox)
    code = main(["run", str(inbox), "--engine", "deepseek-vllm", "--data-dir", str(tmp_path), "--dpi", "100"])
    out = capsys.readouterr().out
    assert code == 0, out
    # the scan; A.1.0 reads its text layer, and its one picture (a logo) is read as a region (grounded OCR) and
    # described as a figure (the figure prompt)
    prompts = sorted(r["messages"][0]["content"][1]["text"] for r in FakeVllm.requests)
    assert prompts == ["<|grounding|>Convert the document to markdown.", "<|grounding|>OCR this image.",
                       "Parse the figure."]
    [request] = [r for r in FakeVllm.requests if r["messages"][0]["content"][1]["text"].endswith("markdown.")]
    assert request["temperature"] == 0.0 and request["skip_special_tokens"] is False
    image = request["messages"][0]["content"][0]["image_url"]["url"]
    assert image.startswith("data:image/png;base64,")
    ocr = pl.read_parquet(tmp_path / "warehouse" / "ocr_pages" / "scan.parquet").row(0, named=True)
    assert ocr["engine"] == "deepseek-vllm" and ocr["source"] == "ocr" and ocr["prompt_version"]
    assert ocr["text"].startswith("# The LinnSequencer") and "<|ref|>" in ocr["raw_output"]
    assert [b["label"] for b in ocr["blocks"]] == ["title", "text"]
    title = ocr["blocks"][0]
    assert 0 < title["x0"] < title["x1"] <= 612 and 0 < title["y0"] < title["y1"] < 100  # points, top of page
    assert ocr["tokens_in"] == 282 and ocr["tokens_out"] == 41 and ocr["finish_reason"] == "stop"
    metrics = pl.read_parquet(tmp_path / "warehouse" / "run_metrics" / "scan.parquet")
    row = metrics.filter(pl.col("stage") == "ocr_pages").row(0, named=True)
    assert row["engine"] == "deepseek-vllm" and row["tokens_out"] == 41 and row["tokens_per_s"] > 0
    figure = pl.read_parquet(tmp_path / "warehouse" / "figures" / "A.1.0.parquet").row(0, named=True)
    assert figure["engine"] == "deepseek-vllm" and figure["prompt_version"] == "figure_v1"
    assert figure["text"].startswith("# The LinnSequencer")  # what the stand-in answers every prompt
    # run again: the page, the picture's region and its figure description all come from the cache
    assert main(["run", str(inbox), "--engine", "deepseek-vllm", "--data-dir", str(tmp_path), "--dpi", "100"]) == 0
    assert len(FakeVllm.requests) == 3
    again = pl.read_parquet(tmp_path / "warehouse" / "figures" / "A.1.0.parquet").row(0, named=True)
    assert again["text"] == figure["text"] and again["prompt_version"] == "figure_v1"


def test_no_server_fails_fast_with_a_hint(tmp_path: Path, inbox: Path, monkeypatch, capsys):
    monkeypatch.setenv("PDF_OCR_VLLM_URLS", "http://127.0.0.1:9")  # nothing listens there
    copy_fixture("linn.pdf", inbox)
    code = main(["run", str(inbox), "--engine", "deepseek-vllm", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 4 and "no vLLM server answers" in err and "pdf-ocr serve" in err


def test_serve_without_vllm_says_what_to_install(capsys):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    assert main(["serve"]) == 3
    assert "pip install" in capsys.readouterr().err
