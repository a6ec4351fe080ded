"""Dagster glue only, one module per stage: load inputs, call the libraries, write, report metadata."""

from .bpmn import bpmn_elements, bpmn_models
from .documents import raw_pdfs
from .figures import build_figures, figures
from .markdown import document_markdown
from .metrics import run_metrics
from .ocr import build_ocr_pages, ocr_pages
from .pages import rendered_pages

PIPELINE_ASSETS = [raw_pdfs, rendered_pages, ocr_pages, bpmn_elements, bpmn_models, figures, document_markdown,
                   run_metrics]


def pipeline_assets(ocr_pool: str | None = "gpu", figures_pool: str | None = None) -> list:
    """Every stage's asset, the OCR step in Dagster pool ``ocr_pool`` (see ``build_ocr_pages``), the figures step
    in ``figures_pool`` (``build_figures``)."""
    return [raw_pdfs, rendered_pages, build_ocr_pages(ocr_pool), bpmn_elements, bpmn_models,
            build_figures(figures_pool), document_markdown, run_metrics]


__all__ = ["PIPELINE_ASSETS", "pipeline_assets", "raw_pdfs", "rendered_pages", "ocr_pages", "bpmn_elements",
           "bpmn_models", "figures", "document_markdown", "run_metrics"]
