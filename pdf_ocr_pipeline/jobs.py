import dagster as dg

from .assets import PIPELINE_ASSETS

ocr_documents_job = dg.define_asset_job(
    "ocr_documents_job",
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS),
    description="A document through every stage: raw_pdfs, rendered_pages, ocr_pages, bpmn_elements, "
                "bpmn_models, figures, document_markdown, run_metrics.",
)
