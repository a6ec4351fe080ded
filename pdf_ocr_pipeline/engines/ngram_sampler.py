"""DeepSeek-OCR's no-repeat n-gram ban inside vLLM's Model Runner V2 sampler: one Triton kernel a step.

Why not a logits processor: any custom logits processor (vLLM's ``NGramPerReqLogitsProcessor`` or our batched
one in ``ngram_filter``) puts vLLM 0.26 back on its V1 model runner ("Model Runner V2 does not yet support custom
logits processors"), which costs about a third of the decode speed on DeepSeek-OCR. Model Runner V2 already keeps
every request's tokens on the GPU (``RequestState.all_token_ids``) for its own bad-words and penalty kernels, so
the ban reads them there: no Python per request per step, no host copies.

The rule is vLLM's ``NoRepeatNGramLogitsProcessor``, per request from ``SamplingParams.extra_args``
(``ngram_size``, ``window_size``, ``whitelist_token_ids``): among n-grams that start in the last ``window_size``
output tokens, every one whose first ``n-1`` tokens equal the last ``n-1`` output tokens bans its last token,
unless whitelisted.

Installed by our vLLM general plugin (``vllm_plugin.register``) in vLLM's processes when
``PDF_OCR_NGRAM_IN_SAMPLER=1``, beside V2's bad-words ban; the engine and ``pdf-ocr serve`` also set
``VLLM_USE_V2_MODEL_RUNNER=1`` so that V2 is the runner that samples. Written against vLLM 0.26.0 (pinned in
the ``gpu`` extra); imports vLLM, torch and Triton, so only vLLM's processes import it.
"""

from __future__ import annotations

import numpy as np
import torch
from vllm.triton_utils import tl, triton
from vllm.v1.worker.gpu.buffer_utils import UvaBackedTensor

MAX_WHITELIST = 16
BLOCK = 128  # candidate n-gram starts examined together; windows longer than this loop


class NGramBanState:
    """Per-request n-gram settings in UVA buffers, next to the sampler's other per-request states."""

    def __init__(self, req_states):
        self.req_states = req_states
        n = req_states.max_num_reqs
        self.ngram_size = UvaBackedTensor(n, dtype=torch.int32)
        self.window_size = UvaBackedTensor(n, dtype=torch.int32)
        self.num_whitelist = UvaBackedTensor(n, dtype=torch.int32)
        self.whitelist = UvaBackedTensor((n, MAX_WHITELIST), dtype=torch.int32)

    def add_request(self, req_idx: int, sampling_params) -> None:
        extra = sampling_params.extra_args or {}
        size = extra.get("ngram_size")
        if size is None:
            self.ngram_size.np[req_idx] = 0
            return
        whitelist = sorted({int(t) for t in extra.get("whitelist_token_ids") or ()})
        if len(whitelist) > MAX_WHITELIST:
            raise ValueError(f"at most {MAX_WHITELIST} whitelist_token_ids, got {len(whitelist)}")
        size, window = int(size), int(extra.get("window_size", 100))
        if size <= 0 or window <= 0:
            raise ValueError(f"ngram_size and window_size must be positive, got {size}, {window}")
        self.ngram_size.np[req_idx] = size
        self.window_size.np[req_idx] = window
        self.num_whitelist.np[req_idx] = len(whitelist)
        self.whitelist.np[req_idx, : len(whitelist)] = whitelist

    def apply_staged_writes(self) -> None:
        for t in (self.ngram_size, self.window_size, self.num_whitelist, self.whitelist):
            t.copy_to_uva()

    def apply(self, logits, expanded_idx_mapping, idx_mapping_np: np.ndarray, input_ids, expanded_local_pos):
        if int(self.ngram_size.np[idx_mapping_np].max(initial=0)) == 0:
            return  # no request in this batch asks for the ban: no launch
        rs = self.req_states
        apply_ngram_ban(logits, expanded_idx_mapping, self.ngram_size.gpu, self.window_size.gpu,
                        self.num_whitelist.gpu, self.whitelist.gpu, rs.all_token_ids.gpu, rs.prompt_len.gpu,
                        rs.total_len.gpu, input_ids, expanded_local_pos)


@triton.jit
def _token_at(out_base, input_ids_ptr, first_row, out_len, p, mask):
    # Output position p: settled tokens are in all_token_ids; positions past them (speculative tokens of this
    # step) are in this step's input ids. Same split as vLLM's bad-words kernel.
    settled = tl.load(out_base + p, mask=mask & (p < out_len), other=-1)
    fresh = tl.load(input_ids_ptr + first_row + (p - out_len), mask=mask & (p >= out_len), other=-1)
    return tl.where(p < out_len, settled, fresh)


@triton.jit
def _ngram_ban_kernel(logits_ptr, logits_stride, idx_mapping_ptr, ngram_ptr, window_ptr, num_white_ptr,
                      white_ptr, white_stride, tokens_ptr, tokens_stride, prompt_len_ptr, total_len_ptr,
                      input_ids_ptr, local_pos_ptr, BLOCK_SIZE: tl.constexpr, MAX_WHITE: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    req = tl.load(idx_mapping_ptr + row)
    n = tl.load(ngram_ptr + req)
    if n <= 0:
        return
    window = tl.load(window_ptr + req)
    local_pos = tl.load(local_pos_ptr + row)
    first_row = row - local_pos
    prompt_len = tl.load(prompt_len_ptr + req)
    out_len = tl.load(total_len_ptr + req) - prompt_len
    length = out_len + local_pos  # output tokens before the one being sampled
    if length < n:
        return
    out_base = tokens_ptr + req.to(tl.int64) * tokens_stride + prompt_len
    white = tl.load(white_ptr + req.to(tl.int64) * white_stride + tl.arange(0, MAX_WHITE),
                    mask=tl.arange(0, MAX_WHITE) < tl.load(num_white_ptr + req), other=-1)
    stop = length - n + 1  # n-gram starts: [max(0, length - window), length - n]
    for block in range(tl.maximum(length - window, 0), stop, BLOCK_SIZE):
        starts = block + tl.arange(0, BLOCK_SIZE)
        match = starts < stop
        for k in range(0, n - 1):
            q = length - n + 1 + k
            want = _token_at(out_base, input_ids_ptr, first_row, out_len, q, q >= 0)
            match = match & (_token_at(out_base, input_ids_ptr, first_row, out_len, starts + k, match) == want)
        banned = _token_at(out_base, input_ids_ptr, first_row, out_len, starts + n - 1, match)
        allowed = tl.sum((banned[:, None] == white[None, :]).to(tl.int32), axis=1) > 0
        tl.store(logits_ptr + row * logits_stride + banned, float("-inf"), mask=match & ~allowed)


def apply_ngram_ban(logits, expanded_idx_mapping, ngram_size, window_size, num_whitelist, whitelist,
                    all_token_ids, prompt_len, total_len, input_ids, expanded_local_pos) -> None:
    """Set banned tokens' logits to -inf in place, one program per logits row."""
    _ngram_ban_kernel[(logits.shape[0],)](
        logits, logits.stride(0), expanded_idx_mapping, ngram_size, window_size, num_whitelist, whitelist,
        whitelist.stride(0), all_token_ids, all_token_ids.stride(0), prompt_len, total_len, input_ids,
        expanded_local_pos, BLOCK_SIZE=BLOCK, MAX_WHITE=MAX_WHITELIST)


def install() -> None:
    """Put the ban where Model Runner V2 bans bad words (same inputs, after the logprobs copy, before temperature
    and top-k/p, so a banned token is never drawn). Idempotent: vLLM may load plugins more than once."""
    from vllm.v1.worker.gpu.sample.bad_words import BadWordsState

    if getattr(BadWordsState, "_pdf_ocr_ngram_ban", False):
        return
    init, add, staged, ban = (BadWordsState.__init__, BadWordsState.add_request,
                              BadWordsState.apply_staged_writes, BadWordsState.apply_bad_words)

    def __init__(self, req_states, *args, **kwargs):
        init(self, req_states, *args, **kwargs)
        self.ngram_ban_state = NGramBanState(req_states)

    def add_request(self, req_idx, sampling_params):
        add(self, req_idx, sampling_params)
        self.ngram_ban_state.add_request(req_idx, sampling_params)

    def apply_staged_writes(self):
        staged(self)
        self.ngram_ban_state.apply_staged_writes()

    def apply_bad_words(self, logits, expanded_idx_mapping, idx_mapping_np, input_ids, expanded_local_pos):
        self.ngram_ban_state.apply(logits, expanded_idx_mapping, idx_mapping_np, input_ids, expanded_local_pos)
        ban(self, logits, expanded_idx_mapping, idx_mapping_np, input_ids, expanded_local_pos)

    BadWordsState.__init__, BadWordsState.add_request = __init__, add_request
    BadWordsState.apply_staged_writes, BadWordsState.apply_bad_words = apply_staged_writes, apply_bad_words
    BadWordsState._pdf_ocr_ngram_ban = True
