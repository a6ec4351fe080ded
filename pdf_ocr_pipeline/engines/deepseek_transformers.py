"""DeepSeek-OCR and DeepSeek-OCR-2 through Hugging Face Transformers, the users' own path, batched.

The users ran DeepSeek-OCR page by page through its remote code (``model.infer``, transformers 4.46, base mode:
one 1024 view, no crops). This engine keeps their settings and model folder but sends pages through
``generate`` in batches: prompts left-padded with an attention mask, one image per sequence, greedy decoding with
the family's no-repeat n-gram ban, bf16 on a GPU. Everything around the model (prompts per page kind, image
preparation in worker processes, the family's parser, retries of runaway pages, the Tesseract fallback, page
order) is ``model_engine.ModelOcrEngine``'s, the same code the vLLM engine runs.

Which model class: transformers' own class where it has one for the folder's ``model_type``
(``deepseek_ocr2`` since transformers 5: ``DeepseekOcr2ForConditionalGeneration``, fed ``pixel_values``), else
the model's remote code (``trust_remote_code``; DeepSeek-OCR's ``DeepseekOCRForCausalLM``, fed ``images``,
``images_seq_mask``, ``images_spatial_crop`` as its ``infer`` does; it is written for the transformers it names,
4.46). A model loads once per process (``load_model`` keeps it). torch and transformers are imported only when a
model is loaded, so the package works without them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..errors import EngineUnavailableError, MissingDependencyError
from .base import PageImage
from .families import ModelFamily
from .image_prep import PreparedImage
from .model_engine import ModelEngineOptions, ModelOcrEngine, PageKind
from .vllm_transport import Completion, Request, Sampling

NATIVE_MODEL_TYPES = frozenset({"deepseek_ocr2", "deepseek_ocr"})  # transformers' own classes (>= 5)
InputStyle = Literal["native", "remote"]


class DeepSeekTransformersOptions(ModelEngineOptions):
    """The Transformers engine's options (``ModelEngineOptions`` and these)."""

    batch_size: Annotated[int, Field(ge=1, le=1024, description="pages per generate call")] = 16
    device: str = Field("auto", description="torch device; auto: cuda when there is one, else cpu")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="auto: bfloat16 on a GPU, float32 on the CPU")
    attn_implementation: str | None = Field(None, description="e.g. sdpa, flash_attention_2; None: the model's")
    trust_remote_code: bool = Field(True, description="run the model folder's own code where transformers has "
                                                      "no class of its own (DeepSeek-OCR)")
    load_format: Literal["auto", "dummy"] = Field("auto", description="dummy: random weights from config.json "
                                                                      "(benchmarks and smoke tests only)")

    @model_validator(mode="after")
    def _base_only(self):
        if self.resolution != "base":
            raise ValueError("the Transformers engine reads pages in base mode (one 1024 view, the users' "
                             "setting); gundam tiling is the vLLM engine's")
        return self


# --------------------------------------------------------------------------------------------- the batch


@dataclass
class EncodedBatch:
    """A batch as token ids, left-padded, with what goes with it (plain lists: no torch here)."""

    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    image_masks: list[list[bool]]  # True where an image token stands (the remote code's images_seq_mask)
    images: list[PreparedImage]
    prompt_tokens: list[int]  # each sequence's own length, padding excluded


def special_ids(tokenizer, family: ModelFamily) -> tuple[int, int, int]:
    """(bos, eos, pad) token ids: the tokenizer's, else the family's."""
    def pick(name: str, default: int) -> int:
        value = getattr(tokenizer, name, None)
        return default if value is None else int(value)

    return (pick("bos_token_id", family.bos_token_id), pick("eos_token_id", family.eos_token_id),
            pick("pad_token_id", family.pad_token_id))


def encode_prompt(tokenizer, family: ModelFamily, instruction: str, n_image: int | None = None,
                  image_token_id: int | None = None) -> tuple[list[int], list[bool]]:
    """One prompt's ids as DeepSeek's processors build them: BOS, the text before the image, ``n_image`` image
    tokens (default: the family's base view; id: the family's unless the model's config names another), the text
    after it (no EOS); and which of them are image tokens."""
    bos, _, _ = special_ids(tokenizer, family)
    before, after = family.prompt(instruction).split(family.image_token, 1)
    ids = [bos] + tokenizer.encode(before, add_special_tokens=False)
    mask = [False] * len(ids)
    n_image = family.image_tokens("base") if n_image is None else n_image
    ids += [family.image_token_id if image_token_id is None else image_token_id] * n_image
    mask += [True] * n_image
    tail = tokenizer.encode(after, add_special_tokens=False)
    return ids + tail, mask + [False] * len(tail)


def encode_batch(requests: Sequence[Request], tokenizer, family: ModelFamily, n_image: int | None = None,
                 image_token_id: int | None = None) -> EncodedBatch:
    """The requests' prompts, left-padded to the longest (what batched decoding needs)."""
    _, _, pad = special_ids(tokenizer, family)
    encoded = [encode_prompt(tokenizer, family, r.prompt_text, n_image, image_token_id) for r in requests]
    width = max(len(ids) for ids, _ in encoded)
    batch = EncodedBatch([], [], [], [r.image for r in requests], [])
    for ids, mask in encoded:
        gap = width - len(ids)
        batch.input_ids.append([pad] * gap + ids)
        batch.attention_mask.append([0] * gap + [1] * len(ids))
        batch.image_masks.append([False] * gap + mask)
        batch.prompt_tokens.append(len(ids))
    return batch


def decode_batch(sequences: Sequence[Sequence[int]], prompt_width: int, tokenizer,
                 family: ModelFamily) -> list[tuple[str, str, int]]:
    """``generate``'s sequences -> (text, finish reason, output tokens) each. A sequence ends at its first EOS
    (kept in the text, as vLLM keeps it with special tokens on; the pads a batch adds after it are not): "stop";
    one without EOS ran to max tokens: "length"."""
    _, eos, _ = special_ids(tokenizer, family)
    out = []
    for seq in sequences:
        generated = list(seq[prompt_width:])
        if eos in generated:
            generated = generated[: generated.index(eos) + 1]
            finish = "stop"
        else:
            finish = "length"
        out.append((tokenizer.decode(generated, skip_special_tokens=False), finish, len(generated)))
    return out


# --------------------------------------------------------------------------------------------- the model


class NGramBan:
    """DeepSeek-OCR's no-repeat n-gram rule as a transformers logits processor, for the whole batch in a few
    tensor ops: among a sequence's last ``window`` generated tokens, every n-gram whose first n-1 tokens equal its
    last n-1 tokens bans its last token, unless whitelisted (``<td>``, ``</td>``). Generated tokens start at
    ``prompt_width`` (prompts are left-padded to one width)."""

    def __init__(self, prompt_width: int, ngram_size: int, window_size: int, whitelist: Sequence[int]):
        self.prompt_width, self.n, self.window, self.whitelist = prompt_width, ngram_size, window_size, list(whitelist)

    def __call__(self, input_ids, scores):
        import torch

        n = self.n
        window = input_ids[:, self.prompt_width:][:, -self.window:]
        if window.shape[1] < n:
            return scores
        grams = window.unfold(1, n, 1)  # (batch, k, n)
        prefix = window[:, -(n - 1):]
        hits = (grams[:, :, :-1] == prefix[:, None, :]).all(-1)
        rows, at = hits.nonzero(as_tuple=True)
        banned = grams[rows, at, -1]
        if self.whitelist:
            keep = ~torch.isin(banned, torch.tensor(self.whitelist, device=banned.device))
            rows, banned = rows[keep], banned[keep]
        scores[rows, banned] = float("-inf")
        return scores


class TorchOps:
    """The few tensor operations a batch needs (torch imported on first use); tests without torch pass a stand-in
    that keeps lists."""

    def __init__(self, device: str, dtype):
        import torch

        self.torch, self.device, self.dtype = torch, device, dtype

    def ids(self, rows: list[list[int]]):
        return self.torch.tensor(rows, dtype=self.torch.long, device=self.device)

    def mask(self, rows: list[list[bool]]):
        return self.torch.tensor(rows, dtype=self.torch.bool, device=self.device)

    def pixels(self, images: list[PreparedImage], size: int):
        """(batch, 3, size, size) in the model's dtype, normalised as DeepSeek's transform does:
        (x / 255 - 0.5) / 0.5. Pages come prepared at the base view's size (1024); only a model made for another
        size (a tiny test config) has them resized here."""
        torch = self.torch
        frames = [torch.frombuffer(bytearray(im.data), dtype=torch.uint8).view(im.frame.height, im.frame.width, 3)
                  for im in images]
        x = torch.stack(frames).to(self.device).permute(0, 3, 1, 2).float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        return ((x / 255.0 - 0.5) / 0.5).to(self.dtype)

    def zeros_like(self, x):
        return self.torch.zeros_like(x)

    def no_grad(self):
        return self.torch.inference_mode()


class GenerateRunner:
    """Runs one encoded batch through ``model.generate``; returns its sequences as lists. Not thread-safe.

    ``image_size``: the view the model's vision encoder takes (the family's 1024, or a test config's own);
    ``image_tokens``: the tokens that view becomes (``probe_image_tokens`` asks a native model)."""

    def __init__(self, model, family: ModelFamily, style: InputStyle, ops, eos_id: int, pad_id: int, *,
                 image_size: int | None = None, image_tokens: int | None = None):
        self.model, self.family, self.style, self.ops = model, family, style, ops
        self.eos_id, self.pad_id = eos_id, pad_id
        self.image_size = image_size or family.base_size
        self.image_tokens = image_tokens or family.image_tokens("base")
        config_id = getattr(getattr(model, "config", None), "image_token_id", None)
        self.image_token_id = config_id if style == "native" and isinstance(config_id, int) else family.image_token_id

    def model_inputs(self, batch: EncodedBatch) -> dict[str, Any]:
        ops = self.ops
        pixels = ops.pixels(batch.images, self.image_size)
        inputs = {"input_ids": ops.ids(batch.input_ids), "attention_mask": ops.ids(batch.attention_mask)}
        if self.style == "native":
            inputs["pixel_values"] = pixels
        else:  # DeepSeek's remote code: (local crops, global view) per sequence; zeros = no crops
            inputs["images"] = [(ops.zeros_like(pixels[i:i + 1]), pixels[i:i + 1]) for i in range(len(batch.images))]
            inputs["images_seq_mask"] = ops.mask(batch.image_masks)
            inputs["images_spatial_crop"] = ops.ids([[1, 1]] * len(batch.images))
        return inputs

    def __call__(self, batch: EncodedBatch, sampling: Sampling) -> list[list[int]]:
        width = len(batch.input_ids[0])
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens, "do_sample": False, "use_cache": True,
            "eos_token_id": self.eos_id, "pad_token_id": self.pad_id,
            "logits_processor": [NGramBan(width, sampling.ngram_size, sampling.window_size,
                                          sampling.whitelist_token_ids)]}
        if sampling.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = sampling.repetition_penalty
        if sampling.ignore_eos:  # benchmarks: every page writes max_tokens
            kwargs["min_new_tokens"] = sampling.max_tokens
        with self.ops.no_grad():
            out = self.model.generate(**self.model_inputs(batch), **kwargs)
        sequences = getattr(out, "sequences", out)
        return sequences.tolist()


class TransformersTransport:
    """Pages through ``generate`` ``batch_size`` at a time (pages with the same sampling settings share a batch: a
    retry's stronger repeat ban waits for a batch of its own). Follows ``vllm_transport``'s ``run(pull)``
    contract. A batch that fails (out of memory) is split in halves and tried again; a single page that fails
    comes back with the error. Not thread-safe: one ``run`` at a time."""

    name = "transformers"

    def __init__(self, runner: Callable[[EncodedBatch, Sampling], list[list[int]]], tokenizer,
                 family: ModelFamily, *, batch_size: int):
        self.runner, self.tokenizer, self.family, self.batch_size = runner, tokenizer, family, batch_size
        self.batches: list[int] = []  # sizes of the batches run (figures, tests)

    def run(self, pull: Callable[[], Request | None]) -> Iterator[Completion]:
        held: Request | None = None
        while True:
            batch = [held] if held is not None else []
            held = None
            while len(batch) < self.batch_size:
                req = pull()
                if req is None:
                    break
                if batch and req.sampling != batch[0].sampling:
                    held = req
                    break
                batch.append(req)
            if not batch:
                return
            yield from self._run_batch(batch)

    def _run_batch(self, batch: list[Request]) -> Iterator[Completion]:
        started = time.perf_counter()
        for r in batch:
            r.started = started
        try:
            encoded = encode_batch(batch, self.tokenizer, self.family, getattr(self.runner, "image_tokens", None),
                                   getattr(self.runner, "image_token_id", None))
            sequences = self.runner(encoded, batch[0].sampling)
            decoded = decode_batch(sequences, len(encoded.input_ids[0]), self.tokenizer, self.family)
        except Exception as e:
            if len(batch) > 1:
                half = len(batch) // 2
                yield from self._run_batch(batch[:half])
                yield from self._run_batch(batch[half:])
                return
            yield Completion(batch[0].key, "", None, None, None, time.perf_counter() - started, server=self.name,
                             error=f"generate failed: {type(e).__name__}: {e}")
            return
        self.batches.append(len(batch))
        latency = time.perf_counter() - started
        for req, n_in, (text, finish, n_out) in zip(batch, encoded.prompt_tokens, decoded):
            yield Completion(req.key, text, finish, n_in, n_out, latency, server=self.name)

    def close(self) -> None:
        self.runner = None


# --------------------------------------------------------------------------------------------- loading


_LOADED: dict[tuple, tuple[Any, Any, InputStyle]] = {}
_LOAD_LOCK = threading.Lock()


def _torch_dtype(torch, name: str, device: str):
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def load_model(options: DeepSeekTransformersOptions) -> tuple[Any, Any, InputStyle, str]:
    """(model, tokenizer, input style, device), loaded once per process for the same options.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
        EngineUnavailableError: the model folder cannot be loaded.
    """
    try:
        import torch
        import transformers
    except ImportError as e:
        raise MissingDependencyError(f"the Transformers engine needs torch and transformers ({e})",
                                     hint="pip install torch transformers (a CUDA build for the GPU)") from e
    o = options
    device = o.device if o.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    key = (o.model, o.dtype, device, o.attn_implementation, o.trust_remote_code, o.load_format)
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                _LOADED[key] = _load(transformers, torch, o, device)
            except (OSError, ValueError, KeyError) as e:
                raise EngineUnavailableError(f"cannot load {o.model} with transformers {transformers.__version__}: "
                                             f"{type(e).__name__}: {e}",
                                             hint="give the model's local folder (config.json, weights, tokenizer);"
                                                  " DeepSeek-OCR's own code needs trust_remote_code") from e
        model, tokenizer, style = _LOADED[key]
    return model, tokenizer, style, device


def _load(transformers, torch, o: DeepSeekTransformersOptions, device: str):
    remote = o.trust_remote_code
    config = transformers.AutoConfig.from_pretrained(o.model, trust_remote_code=remote)
    style: InputStyle = "native" if getattr(config, "model_type", "") in NATIVE_MODEL_TYPES else "remote"
    dtype = _torch_dtype(torch, o.dtype, device)
    kw: dict[str, Any] = {"trust_remote_code": remote}
    if o.attn_implementation:
        kw["attn_implementation"] = o.attn_implementation
    auto = transformers.AutoModelForImageTextToText if style == "native" else transformers.AutoModel
    if o.load_format == "dummy":
        model = auto.from_config(config, dtype=dtype, **kw)
    else:
        model = auto.from_pretrained(o.model, dtype=dtype, use_safetensors=True, **kw)
    model = model.to(device=device, dtype=dtype).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(o.model, trust_remote_code=remote)
    return model, tokenizer, style


def input_style(model) -> InputStyle:
    """How ``model`` takes its image: transformers' own classes ``pixel_values``, DeepSeek's remote code
    ``images``."""
    return "native" if getattr(getattr(model, "config", None), "model_type", "") in NATIVE_MODEL_TYPES else "remote"


def native_image_size(model, default: int) -> int:
    """The global view a native model's vision encoder takes (its SAM config's ``image_size``)."""
    sam = getattr(getattr(getattr(model, "config", None), "vision_config", None), "sam_config", None)
    size = getattr(sam, "image_size", None)
    return int(size) if isinstance(size, int) else default


def probe_image_tokens(model, ops, size: int) -> int:
    """The tokens one global view becomes in a native model: asked of the model (its vision tower on a grey view),
    once, when the engine starts."""
    import torch

    grey = torch.zeros((1, 3, size, size), dtype=getattr(model, "dtype", torch.float32),
                       device=getattr(model, "device", "cpu"))
    with ops.no_grad():
        features = model.get_image_features(pixel_values=grey)
    pooled = getattr(features, "pooler_output", features)
    return int(pooled[0].shape[0])


class DeepSeekTransformersEngine(ModelOcrEngine):
    """DeepSeek-OCR / DeepSeek-OCR-2 through transformers' ``generate``, ``batch_size`` pages a call. One
    ``ocr_pages`` at a time per engine (not thread-safe); the model itself is loaded once per process and shared
    by the engines built on the same options."""

    name = "deepseek-transformers"

    def __init__(self, options: DeepSeekTransformersOptions | None = None, *, model=None, tokenizer=None,
                 kind_of: Callable[[PageImage], PageKind] | None = None, ops=None):
        """Args:
            options: the engine's options.
            model, tokenizer: an already loaded model and its tokenizer (tests pass stand-ins); loaded from
                ``options.model`` once per process when None.
            kind_of: picks the prompt per page (``text`` or ``diagram``); every page is ``text`` when None.
            ops: the tensor operations (``TorchOps``); tests without torch pass a stand-in.
        Raises:
            MissingDependencyError: torch or transformers is missing.
            EngineUnavailableError: the model cannot be loaded.
        """
        o = options or DeepSeekTransformersOptions()
        self._setup(o, kind_of)
        if model is None:
            model, tokenizer, style, device = load_model(o)
        else:
            style, device = input_style(model), o.device
        if ops is None:
            ops = TorchOps(device if device != "auto" else str(getattr(model, "device", "cpu")),
                           getattr(model, "dtype", None))
        _, eos, pad = special_ids(tokenizer, self.family)
        size, tokens = self.family.base_size, None
        if style == "native" and hasattr(model, "get_image_features"):
            size = native_image_size(model, size)
            tokens = probe_image_tokens(model, ops, size)
        self.transport = TransformersTransport(
            GenerateRunner(model, self.family, style, ops, eos, pad, image_size=size, image_tokens=tokens),
            tokenizer, self.family, batch_size=o.batch_size)
        self._encoding = "raw"
        self._version: str | None = None
        self._start_prep()

    def version(self) -> str:
        if self._version is None:
            try:
                from importlib.metadata import version
                self._version = f"transformers {version('transformers')}"
            except Exception:
                self._version = "transformers"
        return self._version

    def cache_identity(self) -> str:
        o = self.options
        return (f"deepseek-transformers {o.model} family:{self.family.name} {o.resolution} "
                f"{self.prompts['text'].version}/{self.prompts['diagram'].version} max{o.max_tokens} "
                f"ngram{self.ngram_size}/{o.window_size}/{','.join(map(str, o.whitelist_token_ids))} "
                f"retries{o.max_retries} fallback:{o.fallback} {o.dtype} {o.load_format}")

    def _slots(self) -> int:
        return self.options.batch_size

    def health(self) -> dict[str, str]:
        return {"in-process transformers": self.options.model}
