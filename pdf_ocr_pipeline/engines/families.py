"""Model families: what differs between the OCR models one engine can run. Pure Python, no torch, no vLLM.

A family says how a model is asked and how its answer is read: the prompt around an instruction, the image it
is shown (base view, tile size, image tokens), its repeat-ban recipe, its special tokens and stop strings, and
the parser of its output. The engines (``deepseek_vllm``, ``deepseek_transformers``) take a ``ModelFamily`` and
ask it; nothing else in them is model specific.

Chosen by name (``--model-family``, ``PDF_OCR_MODEL_FAMILY``), or ``auto``: from the model folder's
``config.json`` (``architectures``, ``model_type``), else from the model's name. Sources:

- DeepSeek-OCR (github.com/deepseek-ai/DeepSeek-OCR, ``DeepSeek-OCR-vllm/config.py``, ``run_dpsk_ocr_pdf.py``;
  the model's hub ``config.json``: ``DeepseekOCRForCausalLM``, ``deepseek_vl_v2``): a 1024 global view with 640
  tiles, 273 image tokens for the base view (16 rows of 16 + a newline token each, + a separator); n-gram ban 30
  within 90 tokens (vLLM's recipe), ``<td>``/``</td>`` exempt.
- DeepSeek-OCR-2 (github.com/deepseek-ai/DeepSeek-OCR-2, ``DeepSeek-OCR2-vllm/config.py``, ``process/
  image_process.py``, ``run_dpsk_ocr2_image.py``; hub ``DeepseekOCR2ForCausalLM``; transformers >= 5 natively:
  ``deepseek_ocr2`` / ``DeepseekOcr2ForConditionalGeneration``): the same 1024 global view with 768 tiles, 257
  image tokens for it (256 + a separator, no newline tokens), n-gram ban 20 within 90, same prompts, the same
  grounded output (``<|ref|>label<|/ref|><|det|>[[x1, y1, x2, y2]]<|/det|>``, boxes 0-999 of the page).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .base import Block
from .grounding import parse_grounded
from .prompts import IMAGE_TOKEN

#: The end-of-sentence token DeepSeek's tokenizer writes (fullwidth bars, U+2581): ``skip_special_tokens=False``
#: keeps it in the text when the model stops.
EOS_TEXT = "<｜end▁of▁sentence｜>"
BOS_TEXT = "<｜begin▁of▁sentence｜>"
PAD_TEXT = "<｜▁pad▁｜>"
AUTO = "auto"


@dataclass(frozen=True)
class ModelFamily:
    """One model family's prompt, image preparation, special tokens and parser."""

    name: str
    title: str
    architectures: frozenset[str]  # config.json "architectures" (hub remote code and transformers' native class)
    model_types: frozenset[str]  # config.json "model_type" that only this family uses
    name_hints: tuple[str, ...]  # lower-case pieces of a hub name / folder name, most specific first
    tile_size: int  # the local views' size in gundam (tiled) mode
    newline_tokens: bool  # one extra token per row of the base view (DeepSeek-OCR) or not (DeepSeek-OCR-2)
    ngram_size: int  # the no-repeat n-gram ban of the model's own recipe
    window_size: int = 90
    whitelist_token_ids: tuple[int, ...] = (128821, 128822)  # <td>, </td>
    base_size: int = 1024  # the global view
    patch_size: int = 16
    downsample_ratio: int = 4
    image_token: str = IMAGE_TOKEN
    image_token_id: int = 128815
    bos_token_id: int = 0
    eos_token_id: int = 1
    pad_token_id: int = 2
    stop_strings: tuple[str, ...] = (EOS_TEXT,)

    def prompt(self, instruction: str) -> str:
        """The plain (no chat template) prompt both DeepSeek repos use: the image, a newline, the instruction."""
        return f"{self.image_token}\n{instruction}"

    def image_tokens(self, resolution: str = "base", tiles: tuple[int, int] = (1, 1)) -> int:
        """Image tokens in the prompt: the base view's, plus ``tiles`` (columns, rows) local views in gundam."""
        q = math.ceil(self.base_size // self.patch_size / self.downsample_ratio)
        count = q * (q + self.newline_tokens) + 1
        cols, rows = tiles
        if resolution == "gundam" and cols * rows > 1:
            t = math.ceil(self.tile_size // self.patch_size / self.downsample_ratio)
            count += (t * rows) * (t * cols + self.newline_tokens)
        return count

    def strip_stop(self, raw: str) -> str:
        """The answer without its stop string (and anything a padded batch wrote after it)."""
        for stop in self.stop_strings:
            at = raw.find(stop)
            if at >= 0:
                raw = raw[:at]
        return raw

    def parse(self, raw: str, *, page_w_pt: float, page_h_pt: float) -> tuple[str, tuple[Block, ...]]:
        """The model's raw answer -> (markdown, blocks with boxes in page points). Never raises."""
        return parse_grounded(self.strip_stop(raw), page_w_pt=page_w_pt, page_h_pt=page_h_pt)


DEEPSEEK_OCR = ModelFamily(
    name="deepseek-ocr", title="DeepSeek-OCR",
    architectures=frozenset({"DeepseekOCRForCausalLM", "DeepseekOcrForConditionalGeneration"}),
    model_types=frozenset({"deepseek_ocr"}),
    name_hints=("deepseek-ocr", "deepseek_ocr", "deepseekocr"),
    tile_size=640, newline_tokens=True, ngram_size=30,
)
DEEPSEEK_OCR_2 = ModelFamily(
    name="deepseek-ocr-2", title="DeepSeek-OCR-2",
    architectures=frozenset({"DeepseekOCR2ForCausalLM", "DeepseekOcr2ForConditionalGeneration"}),
    model_types=frozenset({"deepseek_ocr2"}),
    name_hints=("deepseek-ocr-2", "deepseek-ocr2", "deepseek_ocr2", "deepseekocr2"),
    tile_size=768, newline_tokens=False, ngram_size=20,
)
FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (DEEPSEEK_OCR, DEEPSEEK_OCR_2)}
FAMILY_NAMES = (AUTO, *FAMILIES)
DEFAULT_FAMILY = DEEPSEEK_OCR


def read_model_config(model: str) -> dict | None:
    """The model folder's ``config.json``, or None (a hub name, no file, unreadable JSON)."""
    path = Path(model) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None


def detect_family(model: str, config: dict | None = None) -> ModelFamily | None:
    """The family of ``model`` (a local folder or a hub name), or None when nothing tells.

    Looks at ``config.json``'s ``architectures`` first, then ``model_type``, then the name itself (DeepSeek's
    remote-code configs share ``model_type: deepseek_vl_v2``, so their architecture decides).
    """
    config = read_model_config(model) if config is None else config
    if config:
        archs = set(config.get("architectures") or ())
        for family in FAMILIES.values():
            if archs & family.architectures:
                return family
        for family in FAMILIES.values():
            if config.get("model_type") in family.model_types:
                return family
    name = str(model).rstrip("/").lower()
    for family in sorted(FAMILIES.values(), key=lambda f: -max(len(h) for h in f.name_hints)):
        if any(hint in name for hint in family.name_hints):
            return family
    return None


def resolve_family(name: str, model: str) -> ModelFamily:
    """The family named (``auto``: detected from ``model``, else DeepSeek-OCR).

    Raises:
        ValueError: an unknown family name.
    """
    if name == AUTO:
        return detect_family(model) or DEFAULT_FAMILY
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILY_NAMES)}")
    return FAMILIES[name]
