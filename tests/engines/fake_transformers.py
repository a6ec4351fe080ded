"""What transformers hands the Transformers engine, faked at the narrowest boundary: a tokenizer (``encode`` /
``decode`` and its special ids, as DeepSeek's: bos 0, eos 1, pad 2) and a model whose ``generate`` returns the
sequences tensor (prompt + new tokens, pads after EOS, as transformers' greedy search does). The tensors
themselves are lists here (``ListOps``), so these tests need no torch."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

from pdf_ocr_pipeline.engines.families import EOS_TEXT

BOS, EOS, PAD = 0, 1, 2


class CharTokenizer:
    """One token per character (ids from 10 up, handed out as characters are met); ``decode`` inverts ``encode``.
    Ids it never handed out (a random model's) decode as ``<tN>``."""

    bos_token_id, eos_token_id, pad_token_id = BOS, EOS, PAD

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.chars: dict[int, str] = {BOS: "<｜begin▁of▁sentence｜>", EOS: EOS_TEXT, PAD: "<｜▁pad▁｜>"}

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        out = [BOS] if add_special_tokens else []
        for ch in text:
            if ch not in self.ids:
                self.ids[ch] = 10 + len(self.ids)
                self.chars[self.ids[ch]] = ch
        return out + [self.ids[ch] for ch in text]

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return "".join(self.chars.get(i, f"<t{i}>") for i in ids
                       if not (skip_special_tokens and i in (BOS, EOS, PAD)))


class Seqs(list):
    """Stands for the tensor ``generate`` returns: rows of ids with ``tolist``."""

    def tolist(self):
        return [list(r) for r in self]


class ListOps:
    """``TorchOps`` without torch: the tensors stay lists (the fake model reads them as such)."""

    def ids(self, rows):
        return rows

    def mask(self, rows):
        return rows

    def pixels(self, images, size):
        return [("pixels", im.frame.width, im.frame.height, size) for im in images]

    def zeros_like(self, x):
        return [("zeros",) + tuple(p[1:]) for p in x]

    def no_grad(self):
        return nullcontext()


@dataclass
class FakeConfig:
    model_type: str = "deepseek_vl_v2"  # DeepSeek's remote code


@dataclass
class FakeModel:
    """``model.generate``: answers each sequence with ``answer(prompt_text, kwargs) -> (text, stop)``; a stopped
    answer ends with EOS and is padded to the batch's longest, one not stopped is cut at ``max_new_tokens``."""

    tokenizer: CharTokenizer
    answer: callable
    config: FakeConfig = field(default_factory=FakeConfig)
    calls: list[dict] = field(default_factory=list)

    def generate(self, **kwargs):
        self.calls.append(kwargs)
        rows = kwargs["input_ids"]
        limit = kwargs["max_new_tokens"]
        new = []
        for i, row in enumerate(rows):
            prompt = self.tokenizer.decode([t for t, m in zip(row, kwargs["attention_mask"][i]) if m])
            text, stop = self.answer(prompt, kwargs)
            ids = self.tokenizer.encode(text, add_special_tokens=False)[:limit]
            if stop and len(ids) < limit:
                ids.append(EOS)
            new.append(ids)
        width = max(len(ids) for ids in new)
        return Seqs(list(row) + ids + [PAD] * (width - len(ids)) for row, ids in zip(rows, new))
