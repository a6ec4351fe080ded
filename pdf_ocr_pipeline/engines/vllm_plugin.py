"""DeepSeek-OCR's resolution modes for vLLM, which hard-codes "Gundam" (1024 global view + 640 tiles).

vLLM 0.26 fixes ``IMAGE_SIZE = 640`` and ``CROP_MODE = True`` as module constants
(``vllm/model_executor/models/deepseek_ocr.py``; its TODO says "expose as mm_kwargs"). The "base" mode
(one 1024 x 1024 view, 273 image tokens instead of up to 903) is what the users ran before vLLM; it needs those
constants changed in EVERY vLLM process that prepares images or sizes the encoder budget: the front end (the
``LLM`` process, or each API server) and the engine core. Hence a vLLM general plugin:

    [project.entry-points."vllm.general_plugins"]
    pdf_ocr_deepseek = "pdf_ocr_pipeline.engines.vllm_plugin:register"

``register`` reads ``PDF_OCR_DEEPSEEK_RESOLUTION`` (set by ``pdf-ocr serve`` and by the in-process transport)
and changes nothing unless it says ``base``. The same hook installs the n-gram ban in Model Runner V2's sampler
(``ngram_sampler``) when ``PDF_OCR_NGRAM_IN_SAMPLER=1``, batches the vision encoder over a step's pages
(DeepSeek-OCR: ``batched_encoder``; DeepSeek-OCR-2: ``install_batched_encoder_ocr2``, with
``PDF_OCR_BATCHED_ENCODER_OCR2=1`` only, for now) unless ``PDF_OCR_BATCHED_ENCODER=0``, and limits torch's CPU
threads in vLLM's worker (the engine core) after start-up to ``PDF_OCR_ENGINE_TORCH_THREADS``. Runs inside vLLM's
processes only; imports vLLM lazily.
"""

from __future__ import annotations

import os
import warnings

from .batched_encoder import BATCHED_ENCODER_ENV
from .image_prep import BASE  # the view our letterbox makes (image_prep needs only PIL)

RESOLUTION_ENV = "PDF_OCR_DEEPSEEK_RESOLUTION"
NGRAM_SAMPLER_ENV = "PDF_OCR_NGRAM_IN_SAMPLER"  # "1": the n-gram ban in Model Runner V2's sampler (ngram_sampler)
ENGINE_THREADS_ENV = "PDF_OCR_ENGINE_TORCH_THREADS"  # torch's CPU threads in vLLM's engine core; unset: vLLM's
# "1": DeepSeek-OCR-2's batched encoder (``install_batched_encoder_ocr2``); off until bench/gpu_engine.py's
# encoder_check has compared it with vLLM's loop on a GPU (it has not run on one yet)
BATCHED_ENCODER_OCR2_ENV = "PDF_OCR_BATCHED_ENCODER_OCR2"
RESOLUTIONS = ("gundam", "base")


def apply_resolution(mode: str) -> None:
    """Switch vLLM's DeepSeek-OCR processor to ``mode`` in this process (``gundam`` leaves vLLM as it is).

    Raises:
        ValueError: unknown mode.
    """
    if mode not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {mode!r}; choose one of {', '.join(RESOLUTIONS)}")
    if mode == "gundam":
        return
    from vllm.model_executor.models import deepseek_ocr as model
    from vllm.transformers_utils.processors import deepseek_ocr as processor

    model.IMAGE_SIZE = BASE  # no tiles: the processor resizes to IMAGE_SIZE (our images already are)
    model.CROP_MODE = False  # token count and processor config read these at call time
    cls = processor.DeepseekOCRProcessor
    cls.__call__.__kwdefaults__["crop_mode"] = False
    cls.process_one.__defaults__ = (False,)
    _apply_base_ocr2()


def _apply_base_ocr2() -> None:
    """The same for DeepSeek-OCR-2 (``families.DEEPSEEK_OCR_2``), where this vLLM has it: its processor module
    holds the same constants (768 tiles; with ``IMAGE_SIZE`` left at 768 and no crops it would squash the page
    to 768 and blow it up to 1024 again). vLLM 0.26's ``models/deepseek_ocr2.py`` holds ``IMAGE_SIZE`` (768) and
    its own copy of ``CROP_MODE`` (imported by value from the processor module), read at call time."""
    import importlib

    for name in ("vllm.transformers_utils.processors.deepseek_ocr2", "vllm.model_executor.models.deepseek_ocr2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "CROP_MODE"):
            module.CROP_MODE = False
        if hasattr(module, "IMAGE_SIZE"):
            module.IMAGE_SIZE = BASE
        cls = getattr(module, "DeepseekOCR2Processor", None)
        call_defaults = getattr(getattr(cls, "__call__", None), "__kwdefaults__", None)
        if call_defaults and "crop_mode" in call_defaults:
            call_defaults["crop_mode"] = False
        if cls is not None and getattr(cls.process_one, "__defaults__", None) == (True,):
            cls.process_one.__defaults__ = (False,)


def encode_global_views_ocr2(model, pixel_values, chunk: int = 8) -> list:
    """DeepSeek-OCR-2's untiled pages through its encoder (SAM-B then the Qwen2 decoder-as-encoder, then the
    projector) ``chunk`` pages at a time: per page its global-view rows then the view separator, as vLLM's
    per-page loop (``DeepseekOCR2ForCausalLM._pixel_values_to_embedding``) returns them. 8 a chunk, as
    ``batched_encoder.CHUNK`` (SAM's global-attention bias is the same 360 MiB a page)."""
    import torch

    separator = model.view_seperator[None, :]  # vLLM's spelling
    pages = []
    for start in range(0, pixel_values.shape[0], chunk):
        views = pixel_values[start:start + chunk]
        features = model._encode_global_features(views)  # (pages x rows, dim)
        pages.extend(torch.cat([f, separator], dim=0) for f in features.split(features.shape[0] // views.shape[0]))
    return pages


def install_batched_encoder_ocr2() -> None:
    """The batched encoder (``batched_encoder``) for DeepSeek-OCR-2 where this vLLM has it (0.26 does):
    vLLM's loop runs SAM and the 24-layer Qwen2 encoder at batch size 1 and reads a ``.item()`` per page.
    Steps with a tiled page keep vLLM's loop. Idempotent; nothing without ``deepseek_ocr2``."""
    try:
        from vllm.model_executor.models.deepseek_ocr2 import DeepseekOCR2ForCausalLM as model_cls
    except ImportError:
        return
    per_page_loop = model_cls._pixel_values_to_embedding
    if hasattr(per_page_loop, "per_page_loop"):
        return

    def _pixel_values_to_embedding(self, pixel_values, images_crop, images_spatial_crop):
        if bool((images_spatial_crop > 1).any()):
            return per_page_loop(self, pixel_values, images_crop, images_spatial_crop)
        return encode_global_views_ocr2(self, pixel_values)

    _pixel_values_to_embedding.per_page_loop = per_page_loop  # kept for the GPU check in bench/gpu_engine.py
    model_cls._pixel_values_to_embedding = _pixel_values_to_embedding


def limit_engine_threads(threads: int) -> None:
    """Limits torch's CPU threads in vLLM's worker process (the engine core) to ``threads`` once the worker has
    started (compiled, captured its CUDA graphs). The class is patched in whichever vLLM process loads the plugin:
    a forked engine core inherits the patch and does not load plugins again. Why: torch starts a thread per core in
    every process; an engine core's few CPU operations a step wake them all, and they spin (700-1,150% CPU an
    engine core on 2 x H200, 32 cores) while the engine core's own thread and the front end wait for cores. Not
    through ``OMP_NUM_THREADS``: with it set, vLLM's engine cores stalled at start (2 x H200, twice)."""
    from vllm.v1.worker import gpu_worker

    worker = gpu_worker.Worker
    # vLLM's own method (itself wrapped by vLLM's tracing), kept on ours: a second load patches it once only
    warm_up = getattr(worker.compile_or_warm_up_model, "vllm_warm_up", worker.compile_or_warm_up_model)

    def compile_or_warm_up_model(self, *args, **kwargs):
        import torch

        result = warm_up(self, *args, **kwargs)
        torch.set_num_threads(threads)
        return result

    compile_or_warm_up_model.vllm_warm_up = warm_up
    worker.compile_or_warm_up_model = compile_or_warm_up_model


def register() -> None:
    """vLLM general-plugin hook: apply the resolution named in ``PDF_OCR_DEEPSEEK_RESOLUTION``, batch the vision
    encoder (unless ``PDF_OCR_BATCHED_ENCODER=0``), with ``PDF_OCR_NGRAM_IN_SAMPLER=1`` install the n-gram ban in
    Model Runner V2's sampler, and in the engine core limit torch's threads (``PDF_OCR_ENGINE_TORCH_THREADS``)."""
    mode = os.environ.get(RESOLUTION_ENV, "").strip().lower()
    if mode:
        apply_resolution(mode)
    if os.environ.get(BATCHED_ENCODER_ENV, "1") != "0":
        from .batched_encoder import install as install_batched_encoder

        install_batched_encoder()
        if os.environ.get(BATCHED_ENCODER_OCR2_ENV) == "1":
            install_batched_encoder_ocr2()
    if os.environ.get(NGRAM_SAMPLER_ENV) == "1":
        from .ngram_sampler import install

        install()
    threads = os.environ.get(ENGINE_THREADS_ENV, "").strip()
    if threads and threads != "0":  # in every vLLM process: vLLM forks its engine core from the front end
        try:
            limit_engine_threads(int(threads))
        except Exception as e:  # vLLM would not start; a speed setting is not worth that
            warnings.warn(f"pdf_ocr vLLM plugin: torch threads of the engine core left as they are "
                          f"({ENGINE_THREADS_ENV}={threads!r}): {type(e).__name__}: {e}", stacklevel=1)
