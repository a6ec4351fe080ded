"""The Transformers engine against the page-at-a-time loop the users run today, in one process, same model.

    python3 bench/transformers_engine.py --out DIR [--baseline-pages 3] [--engine-pages 64] [--batch 32]
                                         [--max-tokens 1024] [--tiny]

No weights can be had on the lent GPU machine, and transformers 5.17 there has no class of its own for
DeepSeek-OCR (its code is the model folder's remote code, on the hub only): what runs is transformers' own
DeepSeek-OCR-2 class (``DeepseekOcr2ForConditionalGeneration``) with random weights, bf16, on a config of the
published architecture (SAM ViT-B + a Qwen2-0.5B-sized encoder, DeepSeek-3B-MoE decoder: 12 layers, 64 routed
experts, 6 active, 2 shared, vocabulary 129,280), and a word-level tokenizer of the real vocabulary size with the
real special ids. Every page writes ``--max-tokens`` tokens (EOS suppressed), so both sides do the same work.

Phases, baseline first (a run short of time keeps it), one timer rule for both: from the page's PNG bytes to its
parsed text and blocks, model loading and one warm-up excluded.
- ``baseline``: the users' loop (DeepSeek-OCR's ``infer``): per page decode the PNG, pad it to 1024 (``ImageOps.pad``,
  mean grey), normalise, ``generate`` one sequence (greedy, ``no_repeat_ngram_size=20`` as ``infer`` passes),
  decode, parse.
- ``engine``: ``DeepSeekTransformersEngine.ocr_pages`` (prep workers, batches of ``--batch``, the family's
  windowed n-gram ban, the shared parser).
Each phase appends one JSON line to ``DIR/transformers_engine.jsonl`` as soon as it ends. ``--tiny`` runs the same
on a tiny random config on the CPU (a plumbing check, seconds).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pdf_ocr_pipeline.engines.base import PageImage  # noqa: E402
from pdf_ocr_pipeline.engines.families import DEEPSEEK_OCR_2, EOS_TEXT  # noqa: E402

SPECIAL = {0: "<｜begin▁of▁sentence｜>", 1: EOS_TEXT, 2: "<｜▁pad▁｜>", 3: "<unk>", 128815: "<image>"}


def realistic_config(transformers):
    """DeepSeek-OCR-2's published shapes (random weights: benchmarks only)."""
    return transformers.DeepseekOcr2Config(
        vision_config={"sam_config": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                                      "image_size": 1024, "patch_size": 16, "window_size": 14,
                                      "global_attn_indexes": [2, 5, 8, 11], "downsample_channels": [512, 896]},
                       "encoder_config": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                                          "num_attention_heads": 14, "num_key_value_heads": 2,
                                          "vocab_size": 1024, "max_position_embeddings": 32768}},
        text_config={"vocab_size": 129280, "hidden_size": 1280, "intermediate_size": 6848,
                     "moe_intermediate_size": 896, "n_routed_experts": 64, "n_shared_experts": 2,
                     "num_experts_per_tok": 6, "num_hidden_layers": 12, "num_attention_heads": 10,
                     "num_key_value_heads": 10, "max_position_embeddings": 8192,
                     "mlp_layer_types": ["dense"] + ["sparse"] * 11, "topk_method": "greedy",
                     "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2},
        image_token_id=128815)


def tiny_config(transformers):
    return transformers.DeepseekOcr2Config(
        vision_config={"sam_config": {"hidden_size": 32, "output_channels": 16, "num_hidden_layers": 2,
                                      "num_attention_heads": 4, "image_size": 16, "patch_size": 2, "window_size": 4,
                                      "global_attn_indexes": [1], "downsample_channels": [32, 64]},
                       "encoder_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                          "num_attention_heads": 4, "num_key_value_heads": 4,
                                          "max_position_embeddings": 512}},
        text_config={"vocab_size": 129280, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 4096,
                     "n_routed_experts": 4, "n_shared_experts": 1, "mlp_layer_types": ["dense", "sparse"],
                     "moe_intermediate_size": 32, "num_experts_per_tok": 2, "bos_token_id": 0, "eos_token_id": 1,
                     "pad_token_id": 2},
        image_token_id=128815)


def placeholder_tokenizer(transformers, vocab_size: int):
    """A word-level tokenizer of the real vocabulary size and special ids (as shared/gpu/make_dummy_model.py)."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = {SPECIAL.get(i, f"t{i}"): i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens([AddedToken(SPECIAL[i], special=True, normalized=False) for i in sorted(SPECIAL)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIAL[0], eos_token=SPECIAL[1],
                                                pad_token=SPECIAL[2], unk_token="<unk>")


def synthetic_pages(n: int, seed: int = 7) -> list[PageImage]:
    """A4 pages at 150 dpi with lines of dark "words" (PNG, as the pipeline renders them)."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    pages = []
    for i in range(n):
        img = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(img)
        for y in range(120, 1640, 34):
            x = 110
            while x < 1100:
                w = rnd.randint(20, 110)
                draw.rectangle((x, y, min(x + w, 1130), y + 16), fill=(rnd.randint(0, 60),) * 3)
                x += w + rnd.randint(8, 16)
        buf = io.BytesIO()
        img.save(buf, "PNG", compress_level=1)
        pages.append(PageImage("bench", i + 1, buf.getvalue(), 150.0, 595.0, 842.0))
    return pages


def emit(out: Path, record: dict) -> None:
    print("RESULT " + json.dumps(record), flush=True)
    with open(out / "transformers_engine.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def baseline(model, tokenizer, pages, max_tokens: int, size: int, n_image: int, device: str, dtype) -> dict:
    """The users' loop: one page at a time, everything inside the timer."""
    import torch
    from PIL import Image, ImageOps

    from pdf_ocr_pipeline.engines.deepseek_transformers import encode_prompt
    from pdf_ocr_pipeline.engines.prompts import ocr_prompt_v1

    ids, _ = encode_prompt(tokenizer, DEEPSEEK_OCR_2, ocr_prompt_v1().text, n_image, model.config.image_token_id)
    started = time.perf_counter()
    tokens = 0
    for page in pages:
        with Image.open(io.BytesIO(page.png)) as src:
            img = src.convert("RGB")
        view = ImageOps.pad(img, (size, size), color=(127, 127, 127))
        x = torch.frombuffer(bytearray(view.tobytes()), dtype=torch.uint8).view(size, size, 3)
        x = ((x.permute(2, 0, 1).float() / 255.0 - 0.5) / 0.5).unsqueeze(0).to(device, dtype)
        input_ids = torch.tensor([ids], device=device)
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=x,
                                 max_new_tokens=max_tokens, min_new_tokens=max_tokens, do_sample=False,
                                 no_repeat_ngram_size=20, eos_token_id=1, pad_token_id=2, use_cache=True)
        new = out[0, input_ids.shape[1]:].tolist()
        tokens += len(new)
        DEEPSEEK_OCR_2.parse(tokenizer.decode(new, skip_special_tokens=False), page_w_pt=page.width_pt,
                             page_h_pt=page.height_pt)
    seconds = time.perf_counter() - started
    return {"phase": "baseline", "pages": len(pages), "seconds": round(seconds, 2),
            "pages_per_s": round(len(pages) / seconds, 4), "tokens_out": tokens,
            "tokens_per_s": round(tokens / seconds, 1)}


def engine_phase(model, tokenizer, pages, max_tokens: int, batch: int, prep_workers: int) -> dict:
    from pdf_ocr_pipeline.engines.deepseek_transformers import DeepSeekTransformersEngine, DeepSeekTransformersOptions

    opts = DeepSeekTransformersOptions(model="dummy-deepseek-ocr-2", model_family="deepseek-ocr-2",
                                       max_tokens=max_tokens, batch_size=batch, ignore_eos=True,
                                       prep_workers=prep_workers, fallback="none")
    engine = DeepSeekTransformersEngine(opts, model=model, tokenizer=tokenizer)
    batches, image_tokens = engine.transport.batches, engine.transport.runner.image_tokens
    try:
        started = time.perf_counter()
        results = list(engine.ocr_pages(pages))
        seconds = time.perf_counter() - started
    finally:
        engine.close()
    bad = [r.error for r in results if r.error]
    return {"phase": f"engine-b{batch}", "pages": len(results), "seconds": round(seconds, 2),
            "pages_per_s": round(len(results) / seconds, 4), "tokens_out": sum(r.tokens_out or 0 for r in results),
            "tokens_per_s": round(sum(r.tokens_out or 0 for r in results) / seconds, 1),
            "batches": batches, "image_tokens": image_tokens,
            "tokens_in": results[0].tokens_in if results else None, "errors": bad[:2],
            "model_family": results[0].model_family if results else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench-out")))
    p.add_argument("--baseline-pages", type=int, default=3)
    p.add_argument("--engine-pages", type=int, default=64)
    p.add_argument("--batch", type=int, nargs="+", default=[32])
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--prep-workers", type=int, default=4)
    p.add_argument("--tiny", action="store_true", help="tiny random config on the CPU (plumbing check)")
    p.add_argument("--budget-s", type=float, default=0, help="skip later engine phases once this much time has "
                                                               "passed since the start (0: no limit)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import torch
    import transformers

    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    config = tiny_config(transformers) if args.tiny else realistic_config(transformers)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(device):
        model = transformers.DeepseekOcr2ForConditionalGeneration._from_config(config, dtype=dtype).eval()
    tokenizer = placeholder_tokenizer(transformers, config.text_config.vocab_size)
    from pdf_ocr_pipeline.engines.deepseek_transformers import TorchOps, native_image_size, probe_image_tokens

    size = native_image_size(model, 1024)
    n_image = probe_image_tokens(model, TorchOps(device, dtype), size)
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    emit(args.out, {"phase": "setup", "device": gpu, "torch": torch.__version__,
                    "transformers": transformers.__version__, "params_m": round(model.num_parameters() / 1e6, 1),
                    "image_size": size, "image_tokens": n_image, "load_s": round(time.perf_counter() - t0, 1),
                    "max_tokens": args.max_tokens, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    pages = synthetic_pages(max(args.baseline_pages, args.engine_pages))
    # warm-up (kernels, cuBLAS handles), outside both timers
    baseline(model, tokenizer, pages[:1], 8, size, n_image, device, dtype)
    emit(args.out, baseline(model, tokenizer, pages[:args.baseline_pages], args.max_tokens, size, n_image, device,
                            dtype))
    for batch in args.batch:
        if args.budget_s and time.perf_counter() - t0 > args.budget_s:
            emit(args.out, {"phase": f"engine-b{batch}", "skipped": "time budget"})
            continue
        emit(args.out, engine_phase(model, tokenizer, pages[:args.engine_pages], args.max_tokens, batch,
                                    args.prep_workers))
    if device == "cuda":
        emit(args.out, {"phase": "memory", "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
