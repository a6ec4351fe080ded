"""pdf_ocr_pipeline: folders of PDFs into page OCR and BPMN models, as Parquet, orchestrated by Dagster."""

__version__ = "0.1.0"
