"""The Transformers engine's own code for real; what transformers hands back is faked at its boundary (a tokenizer,
``model.generate``'s sequences: ``fake_transformers``). With torch and transformers installed, the last tests run
the real ``generate`` of transformers' DeepSeek-OCR-2 class on a tiny random config; they skip without them (CI:
the registry's torch brings 5.7 GB of CUDA libraries; they run in ``bench/gpu_smoke.sh``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from pdf_ocr_pipeline.engines import make_engine
from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.deepseek_transformers import (DeepSeekTransformersEngine, DeepSeekTransformersOptions,
                                                            NGramBan, decode_batch, encode_batch)
from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine, DeepSeekVllmOptions
from pdf_ocr_pipeline.engines.families import DEEPSEEK_OCR, DEEPSEEK_OCR_2, EOS_TEXT
from pdf_ocr_pipeline.engines.image_prep import prepare
from pdf_ocr_pipeline.engines.vllm_transport import Request, Sampling

from ..conftest import needs_tesseract
from .fake_transformers import BOS, EOS, PAD, CharTokenizer, FakeConfig, FakeModel, ListOps
from .fake_vllm import BPMN, DOC, RUNAWAY, FakeLLM


def _png(color, size=(120, 160)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pages() -> list[PageImage]:
    return [PageImage("doc", n, _png((20 * n, 120, 200)), 72.0, 120.0, 160.0, f"sha{n}") for n in range(1, 6)]


def engine_with(answer, *, family="deepseek-ocr", batch_size=2, model_type="deepseek_vl_v2", **options):
    tok = CharTokenizer()
    model = FakeModel(tok, answer, FakeConfig(model_type))
    opts = DeepSeekTransformersOptions(model="/models/fake", model_family=family, batch_size=batch_size,
                                       prep_workers=0, **options)
    return DeepSeekTransformersEngine(opts, model=model, tokenizer=tok, ops=ListOps()), model


def test_pages_go_through_generate_in_batches_and_come_back_parsed_in_order(pages):
    engine, model = engine_with(lambda prompt, kw: (DOC.removesuffix(EOS_TEXT), True))
    results = list(engine.ocr_pages(pages))
    engine.close()
    assert [r.page_no for r in results] == [1, 2, 3, 4, 5]
    assert engine.transport.batches == [2, 2, 1]
    r = results[0]
    assert (r.source, r.engine, r.model, r.model_family, r.prompt_version, r.finish_reason, r.attempts) == \
        ("ocr", "deepseek-transformers", "/models/fake", "deepseek-ocr", "ocr_v1", "stop", 1)
    assert r.raw_output.endswith(EOS_TEXT) and "<|" not in r.text and r.text.startswith("# Квартальный отчёт")
    assert [b.label for b in r.blocks] == ["title", "text", "image", "image_caption", "table"]
    assert r.tokens_out == len(DOC.removesuffix(EOS_TEXT)) + 1  # the answer and its EOS
    assert r.engine_version.startswith("transformers")
    # what generate was given: left-padded ids with the mask, one image per sequence, the remote code's inputs
    call = model.calls[0]
    assert len(call["input_ids"]) == 2 and len(call["images"]) == 2 and call["images_spatial_crop"] == [[1, 1]] * 2
    row, mask, image_mask = call["input_ids"][0], call["attention_mask"][0], call["images_seq_mask"][0]
    assert row[0] == BOS and sum(image_mask) == 273 and row.count(128815) == 273 and all(mask)
    assert call["do_sample"] is False and call["max_new_tokens"] == 4096 and call["eos_token_id"] == EOS
    assert call["pad_token_id"] == PAD and "min_new_tokens" not in call
    [ban] = call["logits_processor"]
    assert isinstance(ban, NGramBan) and (ban.n, ban.window, ban.whitelist) == (30, 90, [128821, 128822])
    assert ban.prompt_width == len(row)
    metrics = engine.run_metrics()
    assert metrics["pages"] == 5 and metrics["model_family"] == "deepseek-ocr"
    assert metrics["tokens_in"] == 5 * len(row)


def test_prompts_of_different_lengths_are_left_padded(pages):
    def answer(prompt, kw):
        return (BPMN if "OCR this image." in prompt else DOC.removesuffix(EOS_TEXT)), True

    engine, model = engine_with(answer, batch_size=4)
    engine.kind_of = lambda page: "diagram" if page.page_no == 2 else "text"
    results = list(engine.ocr_pages(pages[:2]))
    engine.close()
    assert [r.prompt_version for r in results] == ["ocr_v1", "bpmn_v1"]
    assert [b.text for b in results[1].blocks] == ["Start", "Approve invoice", "Yes", "Yes"]
    ids, mask = model.calls[0]["input_ids"], model.calls[0]["attention_mask"]
    assert len(ids[0]) == len(ids[1])  # one width
    short = 1 if sum(mask[1]) < sum(mask[0]) else 0
    gap = len(ids[short]) - sum(mask[short])
    assert gap > 0 and ids[short][:gap] == [PAD] * gap and mask[short][:gap] == [0] * gap
    assert ids[short][gap] == BOS and model.calls[0]["images_seq_mask"][short][:gap] == [False] * gap
    assert results[0].tokens_in == sum(mask[0]) and results[1].tokens_in == sum(mask[1])


def test_the_same_raw_answer_parses_as_the_vllm_engine_parses_it(pages):
    """The issue's bar: identical parsed output to the vLLM engine for the same raw answer."""
    for raw in (DOC, BPMN + EOS_TEXT):
        hf, _ = engine_with(lambda prompt, kw: (raw.removesuffix(EOS_TEXT), True))
        vllm = DeepSeekVllmEngine(DeepSeekVllmOptions(transport="in-process", prep_workers=0, concurrency=4),
                                  llm=FakeLLM(lambda prompt, params: (raw, "stop")), sampling_factory=lambda s: s)
        a, b = list(hf.ocr_pages(pages[:2])), list(vllm.ocr_pages(pages[:2]))
        hf.close()
        vllm.close()
        for x, y in zip(a, b):
            assert x.raw_output == y.raw_output
            assert (x.text, x.blocks, x.source, x.prompt_version, x.model_family) == \
                (y.text, y.blocks, y.source, y.prompt_version, y.model_family)


def test_a_runaway_page_is_retried_in_a_batch_of_its_own_then_falls_back(pages):
    seen = []

    def answer(prompt, kw):
        seen.append(kw["logits_processor"][0].n)
        return RUNAWAY, False  # never stops: cut at max tokens

    engine, model = engine_with(answer, max_tokens=64, fallback="none", max_retries=1)
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    assert (r.source, r.attempts, r.finish_reason) == ("none", 2, "length") and "runaway" in r.error
    assert r.tokens_out == 64 and seen == [30, 12]  # the retry's stronger ban (retry_ngram_size)
    assert model.calls[1].get("repetition_penalty") == 1.05


@needs_tesseract
def test_a_page_that_keeps_running_away_is_read_by_tesseract(fixtures: Path):
    pytest.importorskip("pymupdf")
    from pdf_ocr_pipeline.pdf.render import render_document

    [p] = list(render_document(fixtures / "linn.pdf", dpi=100))
    page = PageImage("linn", 1, p.png, p.dpi, p.width_pt, p.height_pt, p.image_sha256)
    engine, _ = engine_with(lambda prompt, kw: (RUNAWAY, False), max_tokens=32, max_retries=0)
    [r] = list(engine.ocr_pages([page]))
    engine.close()
    assert r.source == "fallback" and r.error is None and r.model.startswith("tesseract") and r.text
    assert r.model_family == "deepseek-ocr" and r.engine == "deepseek-transformers"


def test_a_batch_that_fails_is_split_and_a_page_that_fails_alone_gets_the_error(pages):
    def answer(prompt, kw):
        if len(kw["input_ids"]) > 1:
            raise RuntimeError("CUDA out of memory")
        return DOC.removesuffix(EOS_TEXT), True

    engine, model = engine_with(answer, batch_size=4)
    results = list(engine.ocr_pages(pages[:3]))
    engine.close()
    # 3 fail -> 1 + 2; the 2 fail -> 1 + 1: every page read once, alone
    assert all(r.source == "ocr" for r in results) and [len(c["input_ids"]) for c in model.calls] == [3, 1, 2, 1, 1]
    assert engine.transport.batches == [1, 1, 1] and all(r.attempts == 1 for r in results)

    def broken(prompt, kw):
        raise RuntimeError("bad weights")

    engine, _ = engine_with(broken, batch_size=2, max_retries=0, fallback="none")
    results = list(engine.ocr_pages(pages[:2]))
    engine.close()
    assert [r.source for r in results] == ["none", "none"] and "generate failed: RuntimeError" in results[0].error


def test_ignore_eos_forces_max_tokens_for_benchmarks(pages):
    engine, model = engine_with(lambda prompt, kw: ("x" * kw["max_new_tokens"], False), max_tokens=50,
                                ignore_eos=True)
    results = list(engine.ocr_pages(pages[:2]))
    engine.close()
    assert model.calls[0]["min_new_tokens"] == 50
    assert all(r.source == "ocr" and r.tokens_out == 50 and r.finish_reason == "length" for r in results)


def test_deepseek_ocr_2_family_and_transformers_own_class(pages):
    engine, model = engine_with(lambda prompt, kw: (DOC.removesuffix(EOS_TEXT), True), family="auto",
                                model_type="deepseek_ocr2")
    assert engine.family is DEEPSEEK_OCR  # auto, and a folder without config.json: the default
    engine.close()
    engine, model = engine_with(lambda prompt, kw: (DOC.removesuffix(EOS_TEXT), True), family="deepseek-ocr-2",
                                model_type="deepseek_ocr2")
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    call = model.calls[0]
    assert "pixel_values" in call and "images" not in call and len(call["pixel_values"]) == 1
    assert call["input_ids"][0].count(128815) == 257 and call["logits_processor"][0].n == 20
    assert r.model_family == "deepseek-ocr-2" and [b.label for b in r.blocks][0] == "title"
    assert "family:deepseek-ocr-2" in engine.cache_identity()


def test_encode_and_decode_at_the_boundary():
    tok = CharTokenizer()
    reqs = [Request(0, "<|grounding|>OCR this image.", None, Sampling(10)),
            Request(1, "<|grounding|>Convert the document to markdown.", None, Sampling(10))]
    batch = encode_batch(reqs, tok, DEEPSEEK_OCR_2)
    assert [len(r) for r in batch.input_ids] == [max(batch.prompt_tokens)] * 2
    assert batch.prompt_tokens[1] - batch.prompt_tokens[0] == len("Convert the document to markdown.") - \
        len("OCR this image.")
    text_ids = [t for t, m, a in zip(batch.input_ids[0], batch.image_masks[0], batch.attention_mask[0]) if a and not m]
    assert tok.decode(text_ids) == \
        "<｜begin▁of▁sentence｜>\n<|grounding|>OCR this image."
    width = len(batch.input_ids[0])
    seqs = [batch.input_ids[0] + tok.encode("ab", False) + [EOS, PAD, PAD],
            batch.input_ids[1] + tok.encode("abcde", False)]
    assert decode_batch(seqs, width, tok, DEEPSEEK_OCR_2) == [("ab" + EOS_TEXT, "stop", 3), ("abcde", "length", 5)]


def test_options_resource_and_cli_start_it_the_same_ways(monkeypatch):
    pytest.importorskip("dagster")  # (the GPU machine runs this file without the pipeline's Dagster side)
    from pdf_ocr_pipeline.cli import build_parser
    from pdf_ocr_pipeline.resources import OcrEngineResource
    from pdf_ocr_pipeline.settings import Settings

    with pytest.raises(ValueError, match="base mode"):
        DeepSeekTransformersOptions(resolution="gundam")
    res = OcrEngineResource(engine="deepseek-transformers", model="/m", model_family="deepseek-ocr-2",
                            batch_size=8, dtype="bfloat16")
    opts = DeepSeekTransformersOptions(**res.engine_options())
    assert (opts.model, opts.model_family, opts.batch_size, opts.dtype) == ("/m", "deepseek-ocr-2", 8, "bfloat16")
    assert DeepSeekVllmOptions(**OcrEngineResource(engine="deepseek-vllm", model_family="deepseek-ocr-2")
                               .engine_options()).model_family == "deepseek-ocr-2"
    s = Settings.from_env({"PDF_OCR_ENGINE": "deepseek-transformers", "PDF_OCR_MODEL_FAMILY": "deepseek-ocr-2",
                           "PDF_OCR_TRANSFORMERS_BATCH_SIZE": "32"})
    assert (s.engine, s.model_family, s.transformers_batch_size) == ("deepseek-transformers", "deepseek-ocr-2", 32)
    args = build_parser().parse_args(["run", "--engine", "deepseek-transformers", "--model-family", "deepseek-ocr-2"])
    assert (args.engine, args.model_family) == ("deepseek-transformers", "deepseek-ocr-2")
    from pdf_ocr_pipeline.definitions import build_definitions, ocr_pool

    assert ocr_pool(s) == "gpu"  # the model is in the step: one at a time
    resource = build_definitions(s).resources["ocr_engine"]
    assert (resource.engine, resource.model_family, resource.batch_size) == \
        ("deepseek-transformers", "deepseek-ocr-2", 32)


def test_without_torch_the_engine_says_what_to_install(monkeypatch):
    import builtins

    from pdf_ocr_pipeline.errors import MissingDependencyError

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name in ("torch", "transformers"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(MissingDependencyError, match="torch and transformers"):
        make_engine("deepseek-transformers", {"model": "/models/x", "prep_workers": 0})


def test_vllm_engine_uses_the_family_too(pages):
    llm = FakeLLM(lambda prompt, params: (DOC, "stop"))
    engine = DeepSeekVllmEngine(DeepSeekVllmOptions(transport="in-process", prep_workers=0, concurrency=4,
                                                    model_family="deepseek-ocr-2"),
                                llm=llm, sampling_factory=lambda s: s)
    [r] = list(engine.ocr_pages(pages[:1]))
    engine.close()
    assert llm.added[0][2].ngram_size == 20 and r.model_family == "deepseek-ocr-2"
    assert engine.cache_identity().endswith("family:deepseek-ocr-2")
    plain = DeepSeekVllmEngine(DeepSeekVllmOptions(transport="in-process", prep_workers=0),
                               llm=FakeLLM(lambda prompt, params: (DOC, "stop")), sampling_factory=lambda s: s)
    assert "family" not in plain.cache_identity()  # DeepSeek-OCR's cached pages keep their keys
    plain.close()


def test_gundam_tiles_follow_the_family():
    png = _png((255, 255, 255), (1700, 2200))
    assert prepare(png, "gundam").frame.width % 640 == 0
    ocr2 = prepare(png, "gundam", tile=DEEPSEEK_OCR_2.tile_size)
    assert ocr2.frame.width % 768 == 0 and ocr2.frame.height % 768 == 0


# ------------------------------------------------------------- real generate on a tiny random config (torch)


def tiny_deepseek_ocr2():
    """transformers' DeepSeek-OCR-2 class on a tiny random config (the shapes of transformers' own model tests:
    tests/models/deepseek_ocr2/test_modeling_deepseek_ocr2.py), CPU, float32."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "DeepseekOcr2ForConditionalGeneration"):
        pytest.skip(f"transformers {transformers.__version__} has no DeepSeek-OCR-2 class")
    config = transformers.DeepseekOcr2Config(
        vision_config={"sam_config": {"hidden_size": 32, "output_channels": 16, "num_hidden_layers": 2,
                                      "num_attention_heads": 4, "image_size": 16, "patch_size": 2, "window_size": 4,
                                      "global_attn_indexes": [1], "downsample_channels": [32, 64]},
                       "encoder_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                          "num_attention_heads": 4, "num_key_value_heads": 4,
                                          "max_position_embeddings": 512}},
        text_config={"vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 2048,
                     "n_routed_experts": 4, "n_shared_experts": 1, "mlp_layer_types": ["dense", "sparse"],
                     "moe_intermediate_size": 32, "num_experts_per_tok": 2, "bos_token_id": BOS,
                     "eos_token_id": EOS, "pad_token_id": PAD},
        image_token_id=5)
    torch.manual_seed(0)
    return transformers.DeepseekOcr2ForConditionalGeneration(config).eval()


def tiny_engine(model, batch_size: int, **options) -> DeepSeekTransformersEngine:
    from pdf_ocr_pipeline.engines.deepseek_transformers import TorchOps

    import torch

    opts = DeepSeekTransformersOptions(model="tiny", model_family="deepseek-ocr-2", batch_size=batch_size,
                                       prep_workers=0, max_tokens=16, ignore_eos=True, **options)
    return DeepSeekTransformersEngine(opts, model=model, tokenizer=CharTokenizer(), ops=TorchOps("cpu", torch.float32),
                                      kind_of=lambda page: "diagram" if page.page_no % 2 else "text")


def test_tiny_model_real_generate_batched_equals_one_at_a_time(pages):
    model = tiny_deepseek_ocr2()
    batched = tiny_engine(model, batch_size=4)
    assert batched.transport.runner.image_tokens == 145  # asked of the model: 144 queries + the separator
    results = list(batched.ocr_pages(pages))
    batched.close()
    assert batched.transport.batches == [4, 1] and [r.page_no for r in results] == [1, 2, 3, 4, 5]
    assert all(r.source == "ocr" and r.tokens_out == 16 and r.model_family == "deepseek-ocr-2" for r in results)
    single = tiny_engine(model, batch_size=1)
    alone = list(single.ocr_pages(pages))
    single.close()
    # left padding, the attention mask and one image per sequence change nothing: greedy answers are the same
    assert [r.raw_output for r in results] == [r.raw_output for r in alone]
    assert results[0].tokens_in != results[1].tokens_in  # two prompt lengths in one batch


def _banned_reference(out: list[int], n: int, window: int, whitelist: set[int]) -> set[int]:
    """DeepSeek-OCR's NoRepeatNGramLogitsProcessor (process/ngram_norepeat.py), written out: among the last
    ``window`` output tokens, each n-gram whose first n-1 tokens are the last n-1 tokens bans its last one."""
    if len(out) < n:
        return set()
    prefix = tuple(out[-(n - 1):])
    banned = set()
    for i in range(max(0, len(out) - window), len(out) - n + 1):
        if tuple(out[i:i + n - 1]) == prefix:
            banned.add(out[i + n - 1])
    return banned - whitelist


def test_ngram_ban_matches_deepseeks_rule_for_a_whole_batch():
    torch = pytest.importorskip("torch")
    ban = NGramBan(prompt_width=3, ngram_size=2, window_size=90, whitelist=[6])
    ids = torch.tensor([[9, 9, 9, 4, 5, 4], [9, 9, 9, 7, 6, 7]])
    scores = ban(ids, torch.zeros(2, 10))
    assert scores[0, 5] == float("-inf") and torch.isfinite(scores[0, :5]).all()  # "4 5" seen: after 4, no 5
    assert torch.isfinite(scores[1]).all()  # "7 6" seen, but 6 is whitelisted
    gen = torch.Generator().manual_seed(3)
    for n, window in ((2, 90), (3, 20), (5, 40), (30, 90)):
        ids = torch.randint(10, 14, (6, 7 + 120), generator=gen)  # few distinct tokens: many repeats
        scores = NGramBan(7, n, window, [11])(ids, torch.zeros(6, 20))
        for row in range(6):
            got = {int(t) for t in torch.nonzero(torch.isinf(scores[row])).flatten()}
            assert got == _banned_reference(ids[row, 7:].tolist(), n, window, {11})
