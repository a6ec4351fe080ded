"""A DeepSeek-OCR-2 model folder without weights, for vLLM's ``load_format="dummy"`` (bench/gpu_engine.py).

Adapted from ``shared/gpu/make_dummy_model.py`` (DeepSeek-OCR's folder). DeepSeek-OCR-2 keeps DeepSeek-OCR's
decoder (DeepSeek3B-MoE: 12 layers, 64 routed experts of which 6 a token, 2 shared, hidden 1280, vocabulary
129,280) and tokenizer, and replaces CLIP-L by a Qwen2-0.5B decoder used as encoder (hidden 896), so the
projector is a linear 896 -> 1280 (github.com/deepseek-ai/DeepSeek-OCR-2, ``DeepSeek-OCR2-vllm``; vLLM 0.26's
``models/deepseek_ocr2.py`` builds SAM-B and the Qwen2 encoder itself and reads from the config only the
language config, ``projector_config``, ``vision_config.image_size``, ``tile_tag`` and ``global_view_pos``).

    python3 bench/make_dummy_model_ocr2.py OUT [--from OCR_MODEL_DIR]

``--from``: copy the placeholder tokenizer of a DeepSeek-OCR dummy folder (same vocabulary and special ids);
without it the tokenizer is built as ``make_dummy_model.py`` builds it (needs ``tokenizers``).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

V = 129280
SPECIAL = {0: "<｜begin▁of▁sentence｜>", 1: "<｜end▁of▁sentence｜>", 2: "<｜▁pad▁｜>", 3: "<unk>", 128815: "<image>"}
LANG = {"architectures": ["DeepseekV2ForCausalLM"], "bos_token_id": 0, "eos_token_id": 1, "first_k_dense_replace": 1,
        "hidden_size": 1280, "intermediate_size": 6848, "kv_lora_rank": None, "lm_head": True,
        "max_position_embeddings": 8192, "moe_intermediate_size": 896, "n_group": 1, "n_routed_experts": 64,
        "n_shared_experts": 2, "num_attention_heads": 10, "num_experts_per_tok": 6, "num_hidden_layers": 12,
        "num_key_value_heads": 10, "q_lora_rank": None, "qk_nope_head_dim": 0, "qk_rope_head_dim": 0,
        "rm_head": False, "topk_group": 1, "topk_method": "greedy", "torch_dtype": "bfloat16", "use_mla": False,
        "v_head_dim": 0, "vocab_size": V}


def config() -> dict:
    cfg = {"architectures": ["DeepseekOCR2ForCausalLM"],
           "auto_map": {"AutoConfig": "modeling_deepseekocr2.DeepseekOCR2Config",
                        "AutoModel": "modeling_deepseekocr2.DeepseekOCR2ForCausalLM"},
           "candidate_resolutions": [[1024, 1024]], "global_view_pos": "head", "language_config": dict(LANG),
           "model_type": "deepseek_vl_v2",
           "projector_config": {"input_dim": 896, "model_type": "mlp_projector", "n_embed": 1280,
                                "projector_type": "linear"},
           "tile_tag": "2D", "torch_dtype": "bfloat16", "transformers_version": "4.46.3",
           "vision_config": {"image_size": 1024, "mlp_ratio": 3.7362, "model_name": "deepencoderv2",
                             "model_type": "vision",
                             "width": {"qwen2-0-5b": {"dim": 896},
                                       "sam_vit_b": {"downsample_channels": [512, 896],
                                                     "global_attn_indexes": [2, 5, 8, 11], "heads": 12,
                                                     "layers": 12, "width": 768}}}}
    for k, v in LANG.items():  # top-level copies of the LM fields, as in the public configs
        if k != "architectures":
            cfg[k] = v
    return cfg


def write_tokenizer(d: Path) -> None:
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = {SPECIAL.get(i, f"t{i}"): i for i in range(V)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens([AddedToken(SPECIAL[i], special=True, normalized=False) for i in sorted(SPECIAL)])
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizerFast", "bos_token": SPECIAL[0], "eos_token": SPECIAL[1],
         "pad_token": SPECIAL[2], "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False,
         "model_max_length": 8192, "clean_up_tokenization_spaces": False, "legacy": True}, indent=1))
    (d / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": SPECIAL[0], "eos_token": SPECIAL[1], "pad_token": SPECIAL[2], "unk_token": "<unk>"}, indent=1))


def make(out: str | Path, source: str | Path | None = None) -> Path:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    if source:
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(Path(source) / name, d / name)
    else:
        write_tokenizer(d)
    (d / "config.json").write_text(json.dumps(config(), indent=1))
    (d / "processor_config.json").write_text(json.dumps(
        {"add_special_token": False, "candidate_resolutions": [[1024, 1024]], "downsample_ratio": 4,
         "ignore_id": -100, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "image_token": "<image>",
         "mask_prompt": False, "normalize": True, "pad_token": SPECIAL[2], "patch_size": 16,
         "processor_class": "DeepseekVLV2Processor", "sft_format": "deepseek"}, indent=1))
    return d


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--from", dest="source")
    a = ap.parse_args()
    print("wrote", sorted(p.name for p in make(a.out, a.source).iterdir()))
