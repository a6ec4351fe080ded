"""Prompts for DeepSeek-OCR, each with a version that every ``ocr_pages`` row records (``prompt_version``).

Change a prompt's text only by adding a new ``*_vN`` function: the version is part of the page cache key, so a
new version re-runs pages and an old one keeps its cached results.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_TOKEN = "<image>"


@dataclass(frozen=True)
class Prompt:
    """A prompt text (without the image placeholder) and the version recorded with every page it produced."""

    version: str
    text: str


def ocr_prompt_v1() -> Prompt:
    """Text pages: grounded markdown (layout blocks with boxes, then their markdown)."""
    return Prompt("ocr_v1", "<|grounding|>Convert the document to markdown.")


def bpmn_prompt_v1() -> Prompt:
    """Diagram pages: every text element with its box (what ``bpmn/`` needs to label shapes)."""
    return Prompt("bpmn_v1", "<|grounding|>OCR this image.")


def free_ocr_prompt_v1() -> Prompt:
    """Plain text without layout or boxes."""
    return Prompt("free_ocr_v1", "Free OCR.")


def figure_prompt_v1() -> Prompt:
    """Pictures that are neither text nor diagrams (charts, tables, photos): the model's figure description, as
    DeepSeek-OCR's own recipe asks for it (markdown: a chart's data as a table, a photo described)."""
    return Prompt("figure_v1", "Parse the figure.")


PROMPTS = {p.version: p for p in (ocr_prompt_v1(), bpmn_prompt_v1(), free_ocr_prompt_v1(), figure_prompt_v1())}


def get_prompt(version_or_text: str) -> Prompt:
    """A known prompt by version (``ocr_v1``), or a custom text recorded as ``custom:<text>``."""
    if version_or_text in PROMPTS:
        return PROMPTS[version_or_text]
    text = version_or_text.replace(IMAGE_TOKEN, "").strip()
    return Prompt(f"custom:{text}", text)
