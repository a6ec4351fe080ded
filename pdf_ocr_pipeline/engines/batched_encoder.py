"""DeepSeek-OCR's vision encoder run once per engine step for all its pages, not once per page (vLLM patch).

vLLM 0.26's ``DeepseekOCRForCausalLM._pixel_values_to_embedding`` loops over the step's images: SAM-B and CLIP-L
run eagerly at batch size 1, about a thousand small kernels a page, and a ``.item()`` per page waits for the GPU.
A profile on an H200 (BENCHMARKS.md, GPU engine, third pass) showed the engine process spending far longer
launching those kernels than the GPU spent running them. When no image of the step is tiled (our ``base``
resolution: one 1024 x 1024 view a page), the same towers run on the stacked views in chunks, through the
model's own batched global path (written for vLLM's encoder CUDA graphs), and the features are cut back per
page with the view separator appended, as the per-page loop does. Tiled steps (``gundam``) keep vLLM's loop.

Installed by our vLLM plugin (``vllm_plugin.register``) in every vLLM process unless
``PDF_OCR_BATCHED_ENCODER=0``. Imports torch and vLLM lazily.
"""

from __future__ import annotations

BATCHED_ENCODER_ENV = "PDF_OCR_BATCHED_ENCODER"
# Pages a chunk. SAM's global-attention layers materialise a 12 x 4096 x 4096 position bias per page (about
# 360 MiB in bf16), and Model Runner V2's start-up profiling does not run the encoder, so this peak is NOT in
# vLLM's memory budget: it must fit in what gpu_memory_utilization leaves free. 16 pages (5.6 GiB) ran two
# servers on one H200 out of memory; 8 pages encode as fast per page as 32 (8.4 against 8.2 ms, H200).
CHUNK = 8


def encode_global_views(model, pixel_values, chunk: int = CHUNK) -> list:
    """Per-page embeddings (``tokens_per_page + 1`` rows each: the global view then the view separator) of
    untiled pages, computed ``chunk`` pages at a time through ``model._batched_encoder_forward_global_path``."""
    import torch

    per_page = model.global_image_output_token
    separator = model.view_seperator[None, :]  # vLLM's spelling
    pages = []
    for start in range(0, pixel_values.shape[0], chunk):
        features = model._batched_encoder_forward_global_path(pixel_values[start:start + chunk])
        pages.extend(torch.cat([f, separator], dim=0) for f in features.split(per_page))
    return pages


def install() -> None:
    """Wrap ``DeepseekOCRForCausalLM._pixel_values_to_embedding`` in this process (idempotent)."""
    from vllm.model_executor.models.deepseek_ocr import DeepseekOCRForCausalLM as model_cls

    per_page_loop = model_cls._pixel_values_to_embedding
    if hasattr(per_page_loop, "per_page_loop"):  # installed already: it keeps vLLM's loop
        return

    def _pixel_values_to_embedding(self, pixel_values, images_crop, images_spatial_crop):
        if bool((images_spatial_crop > 1).any()):  # some page is tiled: vLLM's own loop handles crops
            return per_page_loop(self, pixel_values, images_crop, images_spatial_crop)
        return encode_global_views(self, pixel_values)

    _pixel_values_to_embedding.per_page_loop = per_page_loop  # kept for the GPU check in bench/gpu_engine.py
    model_cls._pixel_values_to_embedding = _pixel_values_to_embedding
