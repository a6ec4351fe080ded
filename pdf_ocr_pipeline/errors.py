"""Typed errors that say how to fix the problem. No Dagster here: the libraries raise these.

Only the edges turn them into something else: the CLI into exit codes, the assets into failed partitions.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class. ``exit_code`` is what the CLI returns; ``hint`` tells the user what to do."""

    exit_code = 1
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class InputPdfError(PipelineError):
    """The file is not a PDF we can read: empty, not a PDF, truncated beyond repair, no pages."""

    exit_code = 2
    hint = "check that the file is a complete PDF; re-export or re-scan it"


class EncryptedPdfError(InputPdfError):
    """The PDF needs a password to open."""

    hint = "remove the password first, e.g. `qpdf --decrypt --password=... in.pdf out.pdf`"


class MissingDependencyError(PipelineError):
    """A system package or an optional Python package is missing."""

    exit_code = 3
    hint = "install Tesseract with its language data: `apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng`"


class EngineUnavailableError(PipelineError):
    """The OCR engine (e.g. a vLLM server) does not answer; worth retrying later."""

    exit_code = 4
    hint = "start the engine (`pdf-ocr serve`) or check its URL"


class BpmnParseError(PipelineError):
    """A diagram could not be turned into a BPMN model."""

    exit_code = 5
