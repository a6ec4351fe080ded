"""``pdf-ocr eval`` across engines: ``--setting``, the pipeline's engine options, a GPU engine stood in for at the
``OcrPage`` boundary (tokens a page, one batch call, a model shared across prompts), settings whose engine cannot
be built, the Parquet columns, and the report's self-check section."""

from __future__ import annotations

import html.parser
from pathlib import Path

import polars as pl
import pymupdf
import pytest

from pdf_ocr_pipeline import evaluate as ev
from pdf_ocr_pipeline.cli import build_parser, main
from pdf_ocr_pipeline.cli_views import eval_settings
from pdf_ocr_pipeline.engines.base import OcrPage
from pdf_ocr_pipeline.errors import MissingDependencyError
from pdf_ocr_pipeline.evaluate import (
    ROW_SCHEMA, Setting, engine_options, evaluate, parse_setting, recommend, rows_frame, setting_errors, summarise,
)
from pdf_ocr_pipeline.pdf.text import page_text
from pdf_ocr_pipeline.report import build_report, eval_chart
from pdf_ocr_pipeline.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = FIXTURES / "ru_report_p3-5_7.pdf"  # abstract (title), contents, introduction, section 1.1 (prose)
SAMPLES = [(REPORT, 1, "title"), (REPORT, 3, "prose"), (REPORT, 4, "prose")]
OCR2 = "engine=deepseek-vllm,model=/models/ocr2,family=deepseek-ocr-2,mode=base,prompt=grounded"


# ------------------------------------------------------------------------------------------------ --setting


def test_a_setting_parses_into_engine_model_family_mode_and_prompt():
    s = parse_setting(OCR2)
    assert (s.engine, s.model, s.family, s.mode, s.prompt, s.dpi, s.transport) == (
        "deepseek-vllm", "/models/ocr2", "deepseek-ocr-2", "base", "grounded", 200, "in-process")
    assert s.name == "deepseek-vllm ocr2 deepseek-ocr-2 base ocr_v1 200dpi"  # the alias named by its version
    t = parse_setting("engine=deepseek-transformers, model = /m/dsocr/ ,prompt=free,max_tokens=1024,batch=8,"
                      "name=users")
    assert (t.name, t.model, t.prompt, dict(t.options)) == ("users", "/m/dsocr/", "free",
                                                            {"max_tokens": 1024, "batch_size": 8})
    assert parse_setting("dpi=300,psm=6", languages="eng") == Setting("tesseract eng 300dpi psm6", dpi=300,
                                                                       languages="eng", psm=6)
    server = parse_setting("engine=deepseek-vllm,transport=server,url=http://gpu:8000,mode=gundam")
    assert server.mode == "gundam" and dict(server.options) == {"server_urls": ("http://gpu:8000",)}


@pytest.mark.parametrize("text, message", [
    ("engine=easyocr", "unknown engine 'easyocr'"),
    ("engine=deepseek-vllm,mode=large", "base or gundam"),
    ("engine=deepseek-vllm,family=qwen", "family='qwen'"),
    ("engine=deepseek-vllm,colour=red", "unknown key 'colour'"),
    ("engine=deepseek-vllm,model", "expected key=value"),
    ("dpi=high", "not a number"),
    ("dpi=20", "between 36 and 600"),
    ("engine=tesseract,model=/m", "not Tesseract settings"),
])
def test_a_bad_setting_is_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_setting(text)


def test_the_command_line_takes_repeated_settings_beside_the_simple_flags(capsys):
    parser = build_parser()
    only = eval_settings(parser.parse_args(["eval", "a.pdf", "--setting", OCR2, "--setting", OCR2 + ",prompt=free"]))
    assert [s.name for s in only] == ["deepseek-vllm ocr2 deepseek-ocr-2 base ocr_v1 200dpi",
                                      "deepseek-vllm ocr2 deepseek-ocr-2 base free_ocr_v1 200dpi"]
    both = eval_settings(parser.parse_args(["eval", "a.pdf", "--dpi", "150", "--setting", OCR2,
                                            "--setting", OCR2]))
    assert [s.name for s in both] == ["tesseract rus+eng 150dpi", "deepseek-vllm ocr2 deepseek-ocr-2 base ocr_v1 "
                                      "150dpi", "deepseek-vllm ocr2 deepseek-ocr-2 base ocr_v1 150dpi #2"]
    plain = eval_settings(parser.parse_args(["eval", "a.pdf"]))  # the simple flags' defaults as before
    assert [s.name for s in plain] == ["tesseract rus+eng 150dpi", "tesseract rus+eng 200dpi"]
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["eval", "a.pdf", "--setting", "engine=deepseek-vllm,mode=large"])
    assert e.value.code == 2 and "base or gundam" in capsys.readouterr().err


def test_engine_options_are_the_pipelines_own():
    from pdf_ocr_pipeline.resources import OcrEngineResource

    base = Settings(model="/models/default", vllm_gpus=2, transformers_batch_size=4, tessdata_dir="/td")
    for engine in ("tesseract", "deepseek-vllm", "deepseek-transformers"):
        s = Setting("x", engine=engine, languages="eng", family="auto", mode="base")
        resource = OcrEngineResource(
            engine=engine, languages="eng", tessdata_dir="/td", model="/models/default", gpus=2, batch_size=4,
            transport="in-process", server_urls=list(base.vllm_urls))
        mine = engine_options(s, base)
        assert {k: v for k, v in mine.items() if k not in ("text_prompt", "psm")} == {
            **resource.engine_options(), **({"resolution": "base"} if s.is_model else {})}
    gpu = engine_options(parse_setting(OCR2 + ",mode=gundam,max_tokens=512"), base)
    assert (gpu["model"], gpu["model_family"], gpu["resolution"], gpu["text_prompt"], gpu["max_tokens"]) == (
        "/models/ocr2", "deepseek-ocr-2", "gundam", "ocr_v1", 512)
    assert engine_options(Setting("t", psm=6), base)["psm"] == 6


# ------------------------------------------------------------------------------- a GPU engine stood in for


class FakeModelEngine:
    """A model engine at the narrowest boundary: ``PageImage``s in, ``OcrPage``s with token counts out. It reads
    the page's own text layer (its one typo per page makes the CER small but not zero) and reports 3 characters a
    token."""

    name = "deepseek-vllm"

    def __init__(self, setting: Setting, log: list):
        self.options = type("O", (), {"model": setting.model})()
        self.family = type("F", (), {"name": "deepseek-ocr-2"})()
        self.prompts = {"text": None}
        self.log, self.closed = log, False

    def ocr_pages(self, pages):
        pages = list(pages)  # the whole sample arrives in one call, as a GPU batch
        self.log.append(("batch", self.prompts["text"].version, len(pages)))
        for p in pages:
            with pymupdf.open(p.doc_id) as doc:
                text = "x" + page_text(doc[p.page_no - 1])
            yield OcrPage(p.doc_id, p.page_no, "ocr", self.name, model=self.options.model,
                          model_family="deepseek-ocr-2", prompt_version=self.prompts["text"].version, text=text,
                          tokens_in=273, tokens_out=len(text) // 3, finish_reason="stop", latency_s=0.01)

    def close(self):
        self.closed = True


def fake_builder(log: list, engines: list):
    def build(setting: Setting):
        log.append(("build", setting.name))
        if setting.model == "/models/broken":
            raise MissingDependencyError("the vLLM engine needs vllm", hint="pip install 'pdf-ocr-pipeline[gpu]'")
        if not setting.is_model:
            return ev.build_engine(setting)
        engines.append(FakeModelEngine(setting, log))
        return engines[-1]
    return build


def test_a_gpu_setting_reports_tokens_a_page_and_a_broken_one_loses_nothing():
    log, engines = [], []
    settings = [Setting("tess", dpi=150), parse_setting(OCR2, dpi=100), parse_setting(OCR2 + ",prompt=free", dpi=100),
                parse_setting("engine=deepseek-vllm,model=/models/broken,name=broken")]
    rows = evaluate(SAMPLES, settings, fake_builder(log, engines))
    gpu_names = [settings[1].name, settings[2].name]
    # one engine for the two prompts (the model loads once), each setting's pages in one batch call
    assert [e for e in log if e[0] == "build"] == [("build", "tess"), ("build", gpu_names[0]), ("build", "broken")]
    assert [e for e in log if e[0] == "batch"] == [("batch", "ocr_v1", 3), ("batch", "free_ocr_v1", 3)]
    assert len(engines) == 1 and engines[0].closed
    assert len(rows) == 12 and {r["setting"] for r in rows} == {"tess", *gpu_names, "broken"}
    gpu = [r for r in rows if r["setting"] == gpu_names[0]]
    assert all(r["tokens_out"] > 100 and r["tokens_in"] == 273 and 0 < r["cer"] < 0.01 for r in gpu)
    assert {(r["model"], r["model_family"], r["mode"], r["prompt"], r["dpi"]) for r in gpu} == {
        ("/models/ocr2", "deepseek-ocr-2", "base", "ocr_v1", 100)}
    assert all(r["tokens_out"] is None and r["model"] is None and r["cer"] < 0.2
               for r in rows if r["setting"] == "tess")
    broken = [r for r in rows if r["setting"] == "broken"]
    assert [(r["page_no"], r["kind"], r["cer"]) for r in broken] == [(1, "title", None), (3, "prose", None),
                                                                     (4, "prose", None)]
    assert all("engine not built: MissingDependencyError: the vLLM engine needs vllm (pip install" in r["error"]
               for r in broken)
    assert set(setting_errors(rows)) == {"broken"}

    summary = summarise(rows)
    overall = {s["setting"]: s for s in summary if s["kind"] == "all"}
    expected = sum(r["tokens_out"] for r in gpu) / 3
    assert overall[gpu_names[0]]["tokens_per_page"] == pytest.approx(expected)
    assert overall["tess"]["tokens_per_page"] is None and overall["tess"]["pages_per_s"] > 0
    assert (overall["broken"]["cer"], overall["broken"]["failed"], overall["broken"]["pages"]) == (None, 3, 3)
    advice = recommend(summary)
    assert advice.startswith(f"Recommended: {gpu_names[0]}:") or advice.startswith(f"Recommended: {gpu_names[1]}:")
    assert advice.endswith("Not judged (no page read): broken.")

    frame = rows_frame(rows, evaluated_at="2026-12-07T10:00:00+00:00", seed=7)
    assert frame.columns == [*ROW_SCHEMA, "evaluated_at", "seed"]
    assert {c: str(t) for c, t in frame.schema.items() if c in ROW_SCHEMA} == ROW_SCHEMA
    assert frame.filter(pl.col("setting") == "tess")["tokens_out"].null_count() == 3


def test_an_engine_that_cannot_start_is_one_settings_error(tmp_path: Path):
    folder = tmp_path / "model"
    folder.mkdir()
    settings = [Setting("no folder", engine="deepseek-transformers", model=str(tmp_path / "absent")),
                Setting("gundam", engine="deepseek-transformers", model=str(folder), mode="gundam"),
                Setting("tess", dpi=150)]
    rows = evaluate(SAMPLES[1:2], settings)  # the real factory
    by = {r["setting"]: r for r in rows}
    assert "EngineUnavailableError: no model folder" in by["no folder"]["error"]
    assert "gundam tiling is the vLLM engine's" in by["gundam"]["error"]
    assert by["tess"]["error"] is None and by["tess"]["cer"] < 0.1


def test_the_command_keeps_every_settings_rows_and_the_warehouse_copy(tmp_path: Path, monkeypatch, capsys):
    log, engines = [], []
    real = ev.build_engine
    fake = fake_builder(log, engines)
    monkeypatch.setattr(ev, "build_engine", lambda s, base=None: fake(s) if s.model == "/models/ocr2" else real(s))
    out, data = tmp_path / "eval.parquet", tmp_path / "data"
    code = main(["eval", str(REPORT), "--per-kind", "1", "--setting", OCR2, "--setting",
                 f"engine=deepseek-transformers,model={tmp_path / 'absent'},name=users' model",
                 "--out", str(out), "--data-dir", str(data)])
    captured = capsys.readouterr()
    assert code == 0
    assert "setting \"users' model\" read no page: engine not built: EngineUnavailableError" in captured.err
    assert "Recommended: deepseek-vllm ocr2" in captured.out and "tok/page" in captured.out
    rows = pl.read_parquet(out)
    assert rows.height == 6 and set(rows["setting"]) == {"users' model", parse_setting(OCR2).name}
    assert {"tokens_in", "tokens_out", "model", "model_family", "mode", "prompt", "seconds", "evaluated_at",
            "seed"} <= set(rows.columns)
    [kept] = (data / "warehouse" / "eval_pages").glob("eval-*Z.parquet")
    assert pl.read_parquet(kept).equals(rows)


# ------------------------------------------------------------------------------------------ the report


class Svg(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars, self.svgs, self.text = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.svgs += tag == "svg"
        if tag == "rect" and attrs.get("class") == "bar":
            self.bars.append(float(attrs["width"]))

    def handle_data(self, data):
        self.text.append(data)


def _eval_rows() -> list[dict]:
    def row(setting, kind, page, error, tokens=None, engine="tesseract", failed=False):
        return {"setting": setting, "engine": engine, "kind": kind, "path": "a.pdf", "page_no": page,
                "ref_chars": None if failed else 1000, "ref_words": None if failed else 150,
                "cer": None if failed else error, "wer": None if failed else 3 * error,
                "seconds": None if failed else 0.5, "tokens_out": tokens,
                "error": "engine not built: ImportError: no vllm" if failed else None}

    gpu = "deepseek-vllm ocr2 <base>"
    return [row("tess 200dpi", "prose", 1, 0.02), row("tess 200dpi", "title", 2, 0.10),
            row(gpu, "prose", 1, 0.01, 400, "deepseek-vllm"), row(gpu, "title", 2, 0.03, 90, "deepseek-vllm"),
            row("gundam", "prose", 1, None, failed=True, engine="deepseek-vllm"),
            row("gundam", "title", 2, None, failed=True, engine="deepseek-vllm")]


def test_the_report_plots_cer_by_setting_and_kind(tmp_path: Path):
    data = tmp_path / "data"
    folder = data / "warehouse" / "eval_pages"
    folder.mkdir(parents=True)
    rows_frame(_eval_rows()[:2], evaluated_at="2026-12-06T09:00:00+00:00").write_parquet(
        folder / "eval-20261206T090000Z.parquet")
    rows_frame(_eval_rows(), evaluated_at="2026-12-07T09:00:00+00:00").write_parquet(
        folder / "eval-20261207T090000Z.parquet")
    page = build_report(data)  # no documents: the self-check still shows, from the newest file
    assert "No documents in this data directory yet" in page and "OCR self-check" in page
    assert "eval-20261207T090000Z.parquet" in page and "2026-12-07T09:00:00+00:00" in page
    assert "deepseek-vllm ocr2 &lt;base&gt;" in page and "<base>" not in page  # escaped
    assert "Recommended: deepseek-vllm ocr2 &lt;base&gt;:" in page
    assert "Settings that read no page" in page and "ImportError: no vllm" in page
    parsed = Svg()
    parsed.feed(page)
    assert parsed.svgs == 1
    # tess: prose, title, all; gpu: prose, title, all; gundam: none (not run)
    assert len(parsed.bars) == 6
    widths = dict(zip(["gpu prose", "gpu title", "gpu all", "tess prose", "tess title", "tess all"],
                      parsed.bars))  # settings by name, kinds in KINDS order then "all"
    assert widths["gpu prose"] < widths["gpu title"] < widths["tess title"]  # longer bar, higher CER
    assert "not run: no page read" in "".join(parsed.text)
    assert ">245<" in page  # tokens a page: (400 + 90) / 2, in the table
    given = tmp_path / "given.parquet"
    rows_frame(_eval_rows()[:2]).write_parquet(given)
    assert "given.parquet" in build_report(data, eval_path=given)


def test_the_report_command_shows_an_eval_file_without_documents(tmp_path: Path):
    given = tmp_path / "eval.parquet"
    rows_frame(_eval_rows()).write_parquet(given)
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(tmp_path / "empty"), "--out", str(out), "--eval", str(given)]) == 0
    assert "<svg" in out.read_text(encoding="utf-8")
    assert main(["report", "--data-dir", str(tmp_path / "empty"), "--eval", str(tmp_path / "none.parquet")]) == 2
    assert main(["report", "--data-dir", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert eval_chart(summarise([])).startswith("<figure><svg")


def test_the_transformers_engine_itself_shares_its_model_across_prompts():
    """The real engine (prompts, image preparation, parser, token counts) over transformers faked at its boundary
    (``tests/engines/fake_transformers``): two prompts, one engine, each prompt recorded on its own rows."""
    from pdf_ocr_pipeline.engines.deepseek_transformers import (DeepSeekTransformersEngine,
                                                                DeepSeekTransformersOptions)

    from .engines.fake_transformers import CharTokenizer, FakeConfig, FakeModel, ListOps

    prompts_seen, built = [], []

    def build(setting: Setting):
        tok = CharTokenizer()

        def answer(prompt, kw):
            prompts_seen.append(prompt)
            return "Введение\n\nТекст страницы.", True

        options = {k: v for k, v in engine_options(setting, Settings()).items() if k in
                   DeepSeekTransformersOptions.model_fields}
        opts = DeepSeekTransformersOptions(**{**options, "prep_workers": 0})
        model = FakeModel(tok, answer, FakeConfig("deepseek_vl_v2"))
        built.append(DeepSeekTransformersEngine(opts, model=model, tokenizer=tok, ops=ListOps()))
        return built[-1]

    base = "engine=deepseek-transformers,model=/models/fake,batch=4"
    rows = evaluate(SAMPLES[1:], [parse_setting(base), parse_setting(base + ",prompt=free")], build)
    assert len(built) == 1 and len(rows) == 4
    assert [r["prompt"] for r in rows] == ["ocr_v1", "ocr_v1", "free_ocr_v1", "free_ocr_v1"]
    assert any("Free OCR." in p for p in prompts_seen) and any("<|grounding|>" in p for p in prompts_seen)
    assert all(r["tokens_out"] == len("Введение\n\nТекст страницы.") + 1 and r["tokens_in"] > 273 for r in rows)
    assert all(r["model_family"] == "deepseek-ocr" and r["source"] == "ocr" and r["cer"] > 0.9 for r in rows)
    summary = {(s["setting"], s["kind"]): s for s in summarise(rows)}
    assert summary[(rows[0]["setting"], "all")]["tokens_per_page"] == len("Введение\n\nТекст страницы.") + 1


def test_the_command_fails_only_when_no_setting_read_a_page(capsys):
    assert main(["eval", str(REPORT), "--per-kind", "1", "--setting",
                 "engine=deepseek-transformers,model=/nonexistent/model"]) == 1
    assert "No setting read any page" in capsys.readouterr().out
