"""OCR engines behind one small protocol (``base.OcrEngine``). No Dagster here.

``make_engine(name, options)`` picks one from a plain dict of options.
"""

from __future__ import annotations

from typing import Any

from .base import Block, OcrEngine, OcrPage, PageImage

ENGINES = ("tesseract", "deepseek-vllm", "deepseek-transformers")


def make_engine(name: str, options: dict[str, Any] | None = None) -> OcrEngine:
    """Build an engine by name.

    Raises:
        ValueError: unknown engine name.
        MissingDependencyError: the engine's packages or data are missing.
    """
    options = dict(options or {})
    if name == "tesseract":
        from .tesseract import TesseractEngine, TesseractOptions

        return TesseractEngine(TesseractOptions(**options))
    if name == "deepseek-vllm":
        from .deepseek_vllm import DeepSeekVllmEngine, DeepSeekVllmOptions

        return DeepSeekVllmEngine(DeepSeekVllmOptions(**options))
    if name == "deepseek-transformers":
        from .deepseek_transformers import DeepSeekTransformersEngine, DeepSeekTransformersOptions

        return DeepSeekTransformersEngine(DeepSeekTransformersOptions(**options))
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["Block", "OcrEngine", "OcrPage", "PageImage", "make_engine", "ENGINES"]
