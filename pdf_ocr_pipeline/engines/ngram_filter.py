"""DeepSeek-OCR's no-repeat n-gram filter as ONE batched vLLM logits processor.

Loaded only inside vLLM's engine process (``LLM(logits_processors=[...])`` or
``vllm serve --logits-processors pdf_ocr_pipeline.engines.ngram_filter:BatchedNGramLogitsProcessor``);
nothing else in the package imports it, so the package never needs torch.

Same rule and the same per-request ``extra_args`` (``ngram_size``, ``window_size``, ``whitelist_token_ids``) as
vLLM's ``NGramPerReqLogitsProcessor``: among the last ``window_size`` output tokens, every n-gram whose first
``n-1`` tokens equal the last ``n-1`` generated tokens bans its last token (unless whitelisted). vLLM's version
runs a Python loop and one GPU indexing op per request per step (about 60-80 us a request, so 15-20 ms a step at
256 requests); this one keeps the last tokens of every request in one array, updates it with one token per
request per step, and finds the banned tokens for the whole batch in a handful of GPU ops.
"""

from __future__ import annotations

import numpy as np
import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

_PAD = -1


class _Row:
    __slots__ = ("out", "n", "window", "whitelist", "seen")

    def __init__(self, out: list[int], n: int, window: int, whitelist: tuple[int, ...]):
        self.out, self.n, self.window, self.whitelist, self.seen = out, n, window, whitelist, -2


def _params(sampling_params) -> tuple[int, int, tuple[int, ...]] | None:
    extra = sampling_params.extra_args or {}
    n = extra.get("ngram_size")
    if n is None:
        return None
    return int(n), int(extra.get("window_size", 100)), tuple(sorted(set(extra.get("whitelist_token_ids") or ())))


class BatchedNGramLogitsProcessor(LogitsProcessor):
    """Bans tokens that would repeat an n-gram within a window, for the whole batch at once. Not thread-safe
    (vLLM calls it from its one engine loop)."""

    @classmethod
    def validate_params(cls, sampling_params) -> None:
        p = _params(sampling_params)
        if p is not None and (p[0] <= 0 or p[1] <= 0):
            raise ValueError(f"ngram_size and window_size must be positive, got {p[:2]}")

    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        self.device = device
        self.rows: dict[int, _Row] = {}
        self.width = 128
        self.hist = np.full((256, self.width), _PAD, dtype=np.int64)

    def is_argmax_invariant(self) -> bool:
        return False

    def _ensure(self, index: int, window: int) -> None:
        if window > self.width:
            grown = np.full((self.hist.shape[0], window), _PAD, dtype=np.int64)
            grown[:, window - self.width:] = self.hist
            self.hist, self.width = grown, window
        if index >= self.hist.shape[0]:
            grown = np.full((max(index + 1, 2 * self.hist.shape[0]), self.width), _PAD, dtype=np.int64)
            grown[: self.hist.shape[0]] = self.hist
            self.hist = grown

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if not batch_update:
            return
        for index in batch_update.removed:
            self.rows.pop(index, None)
        for index, params, _prompt, out in batch_update.added:
            p = _params(params)
            if p is None:
                self.rows.pop(index, None)
                continue
            self._ensure(index, p[1])
            self.rows[index] = _Row(out, *p)
        for a, b, direction in batch_update.moved:
            self._ensure(max(a, b), 1)
            ra, rb = self.rows.pop(a, None), self.rows.pop(b, None)
            ha, hb = self.hist[a].copy(), self.hist[b].copy()
            if ra is not None:
                self.rows[b] = ra
                self.hist[b] = ha
            if direction == MoveDirectionality.SWAP and rb is not None:
                self.rows[a] = rb
                self.hist[a] = hb

    def _sync_history(self) -> list[int]:
        """Bring each row's last ``width`` tokens up to date; return the rows that can ban something."""
        step_rows, step_tokens, ready = [], [], []
        width = self.width
        for index, row in self.rows.items():
            out = row.out
            length = len(out)
            if length != row.seen:
                if length == row.seen + 1:
                    step_rows.append(index)
                    step_tokens.append(out[-1])
                else:  # new row, or several tokens at once: rebuild from the list
                    tail = out[-width:]
                    self.hist[index, : width - len(tail)] = _PAD
                    if tail:
                        self.hist[index, width - len(tail):] = tail
                row.seen = length
            if length >= row.n:
                ready.append(index)
        if step_rows:
            r = np.asarray(step_rows)
            self.hist[r, :-1] = self.hist[r, 1:]
            self.hist[r, -1] = step_tokens
        return ready

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rows:
            return logits
        ready = self._sync_history()
        if not ready:
            return logits
        groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        for index in ready:
            if index < logits.shape[0]:
                row = self.rows[index]
                groups.setdefault((row.n, row.whitelist), []).append(index)
        width = self.width
        for (n, whitelist), indices in groups.items():
            if n > width or n < 2:
                continue
            rows_cpu = np.asarray(indices)
            starts = np.array([width - min(len(self.rows[i].out), self.rows[i].window) for i in indices])
            hist = torch.from_numpy(self.hist[rows_cpu]).to(self.device, non_blocking=True)
            rows = torch.from_numpy(rows_cpu).to(self.device, non_blocking=True)
            first = torch.from_numpy(starts).to(self.device, non_blocking=True)
            grams = hist.unfold(1, n, 1)  # [r, width-n+1, n]: every n-gram in the kept tail
            prefix = hist[:, width - (n - 1):]  # the last n-1 generated tokens
            match = (grams[:, :, : n - 1] == prefix[:, None, :]).all(dim=-1)
            pos = torch.arange(grams.shape[1], device=self.device)
            match &= pos[None, :] >= first[:, None]  # only n-grams that start inside the window
            banned = grams[:, :, n - 1]
            if whitelist:
                match &= ~torch.isin(banned, torch.tensor(whitelist, device=self.device))
            match &= banned >= 0
            inf = torch.tensor(float("inf"), dtype=logits.dtype, device=self.device)
            src = torch.where(match, -inf, inf)
            target = logits[rows]
            target.scatter_reduce_(1, banned.clamp(min=0), src, reduce="amin")
            logits[rows] = target
        return logits
