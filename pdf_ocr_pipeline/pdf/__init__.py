"""Opening, validating and rendering PDFs, and reading their text layer (PyMuPDF). No Dagster here."""
