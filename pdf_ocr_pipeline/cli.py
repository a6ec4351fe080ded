"""``pdf-ocr``: run documents through the same Dagster assets without the UI, and print a summary.

    pdf-ocr run [PATHS...] [--data-dir DIR] [--pages auto|ocr|text] [--engine tesseract|deepseek-vllm|deepseek-transformers]
                [--model-family auto|deepseek-ocr|deepseek-ocr-2] [--dpi N]
    pdf-ocr show DOC --page N [--data-dir DIR] [--out FILE.png]
    pdf-ocr report [--data-dir DIR] [--out report.html]
    pdf-ocr serve [--model M] [--port N] [--gpu-memory-utilization F] [--max-num-seqs N] [--ngram-impl I]
    pdf-ocr eval PDF_OR_FOLDER... [--dpi N...] [--setting engine=E,model=M,family=F,mode=base|gundam,prompt=P]...

Exit status: 0 when every document succeeded, 1 when any failed (their errors are in the table), 2 for bad
usage, 3 when a dependency is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError
from .settings import Settings

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class DocSummary:
    doc_id: str
    file: str
    pages: int = 0
    text_layer: int = 0
    ocr: int = 0
    failed_pages: int = 0
    pictures: int = 0  # picture regions of text-layer pages read by OCR
    layers_replaced: int = 0  # pages whose text layer was judged poor and OCR'd instead
    diagrams: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdf-ocr", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="OCR PDF files or folders through the pipeline's assets, in-process")
    run.add_argument("paths", nargs="*", type=Path, help="PDF files or folders (default: the input folder)")
    run.add_argument("--data-dir", type=Path, help="outputs go to DIR/warehouse/<asset>/<doc>.parquet (default data)")
    run.add_argument("--pages", choices=["auto", "ocr", "text"],
                     help="auto: OCR only pages without a usable text layer (default); ocr: all; text: none")
    run.add_argument("--engine", choices=["tesseract", "deepseek-vllm", "deepseek-transformers"],
                     help="OCR engine (default tesseract)")
    run.add_argument("--model-family", choices=["auto", "deepseek-ocr", "deepseek-ocr-2"],
                     help="the GPU engine's model family (default auto: from the model folder's config.json)")
    run.add_argument("--dpi", type=int, help="rendering resolution (default 200)")
    run.add_argument("--workers", type=int, help="OCR workers (default: one per core)")
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="start a vLLM server with the DeepSeek-OCR recipe (needs the gpu extra)")
    serve.add_argument("--model", default=None, help="local folder or hub name (default deepseek-ai/DeepSeek-OCR)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1 only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="share of GPU memory for vLLM")
    serve.add_argument("--max-num-seqs", type=int, default=512, help="pages decoded at once")
    serve.add_argument("--api-server-count", type=int, default=4, help="front-end processes (image preprocessing)")
    serve.add_argument("--engine-threads", type=int, default=4,
                       help="torch's CPU threads in vLLM's engine core once started (0: one per core)")
    serve.add_argument("--resolution", choices=["base", "gundam"], default="base")
    serve.add_argument("--ngram-impl", choices=["sampler", "batched", "upstream", "none"], default="sampler",
                       help="where the no-repeat n-gram ban runs (default: in vLLM's sampler, Model Runner V2)")
    serve.add_argument("--load-format", choices=["auto", "dummy"], default="auto",
                       help="dummy: random weights of the model's shape (benchmarks and smoke tests only)")
    serve.add_argument("--print-command", action="store_true", help="print the vllm command line and exit")
    serve.set_defaults(func=cmd_serve)
    from .cli_views import add_eval_parser, add_export_parser, add_report_parser, add_show_parser

    add_show_parser(sub)
    add_report_parser(sub)
    add_export_parser(sub)
    add_eval_parser(sub)
    return parser


def collect_pdfs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """PDF files named directly, plus the PDFs inside named folders (not recursive). Missing paths are errors."""
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            from .inbox import list_pdfs

            found = list_pdfs(path)
            if not found:
                problems.append(f"{path}: no PDF files in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def run_documents(settings: Settings, files: list[Path], progress=None) -> list[DocSummary]:
    """Materialize the pipeline's job for each file, one run per document, through Dagster in-process."""
    progress = progress or sys.stderr
    import dagster as dg

    from .definitions import build_definitions
    from .inbox import DocumentRegistry
    from .partitions import document_partitions_def

    defs = build_definitions(settings)
    job = defs.resolve_job_def("ocr_documents_job")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    registry = DocumentRegistry(settings.data_dir)
    summaries = []
    for i, path in enumerate(files, 1):
        doc_id = registry.register(path)
        _progress(progress, i - 1, len(files), f"{path.name}")
        instance.add_dynamic_partitions(document_partitions_def.name, [doc_id])
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=doc_id, instance=instance, raise_on_error=False,
                                        run_config=QUIET_LOGS, tags={"pdf_ocr/trigger": "cli"})
        summary = _summarize(settings, doc_id, path, time.perf_counter() - started)
        if not result.success and not summary.error:
            failures = result.get_step_failure_events()
            summary.error = failures[0].step_failure_data.error.message.strip() if failures else "run failed"
        summaries.append(summary)
    _progress(progress, len(files), len(files), "done")
    return summaries


def _summarize(settings: Settings, doc_id: str, path: Path, seconds: float) -> DocSummary:
    import polars as pl

    from .storage import Warehouse

    store = Warehouse(settings.warehouse_dir)
    summary = DocSummary(doc_id=doc_id, file=path.name, seconds=seconds)
    if store.exists("raw_pdfs", doc_id):
        raw = store.read("raw_pdfs", doc_id)
        summary.error = raw["error"][0] or ""
        summary.pages = int(raw["page_count"][0] or 0)
    if store.exists("ocr_pages", doc_id) and not summary.error:
        pages = store.read("ocr_pages", doc_id, columns=["source", "error", "regions_ocr"])
        summary.text_layer = pages.filter(pl.col("source") == "text_layer").height
        summary.ocr = pages.filter(pl.col("source").is_in(["ocr", "fallback"])).height
        summary.failed_pages = pages.filter(pl.col("error").is_not_null()).height
        summary.pictures = int(pages["regions_ocr"].fill_null(0).sum())
    if store.exists("rendered_pages", doc_id) and not summary.error:
        summary.layers_replaced = replaced_layers(store.read("rendered_pages", doc_id,
                                                             columns=["text_chars", "text_layer_verdict"]))
    if store.exists("bpmn_models", doc_id):
        summary.diagrams = store.read("bpmn_models", doc_id, columns=["page_no"]).height
    return summary


def replaced_layers(rendered) -> int:
    """Pages whose text layer was judged poor, so OCR read them instead (``pdf.inspect.verdict_replaces_layer``)."""
    from .pdf.inspect import verdict_replaces_layer

    return sum(verdict_replaces_layer(chars, verdict)
               for chars, verdict in rendered.select("text_chars", "text_layer_verdict").iter_rows())


def _progress(stream, done: int, total: int, label: str) -> None:
    """A bar redrawn in place on a terminal; one line per document when stderr is a file or pipe."""
    if not stream.isatty():
        if done < total:
            stream.write(f"[{done + 1}/{total}] {label}\n")
            stream.flush()
        return
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done == total else ""
    stream.write(f"\r[{bar}] {done}/{total} {label[:40]:<40}{end}")
    stream.flush()


def format_table(summaries: list[DocSummary]) -> str:
    headers = ["document", "pages", "text layer", "ocr", "layers replaced", "pictures read", "failed pages",
               "diagrams", "seconds", "pages/s", "error"]
    rows = [[s.doc_id, str(s.pages), str(s.text_layer), str(s.ocr), str(s.layers_replaced), str(s.pictures),
             str(s.failed_pages), str(s.diagrams),
             f"{s.seconds:.1f}",
             f"{s.pages / s.seconds:.2f}" if s.seconds and s.pages else "-", s.error.splitlines()[0] if s.error else ""]
            for s in summaries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def cmd_run(args: argparse.Namespace) -> int:
    base = Settings.from_env()
    overrides = {k: v for k, v in {"data_dir": args.data_dir, "pages": args.pages, "engine": args.engine,
                                   "model_family": args.model_family, "dpi": args.dpi,
                                   "workers": args.workers}.items() if v is not None}
    settings = base.model_copy(update=overrides)
    Settings.model_validate(settings.model_dump())  # bounds apply to flags too
    files, problems = collect_pdfs(args.paths or [settings.inbox_dir])
    for line in problems:
        print(f"pdf-ocr: {line}", file=sys.stderr)
    if not files:
        print("pdf-ocr: nothing to do", file=sys.stderr)
        return 2 if problems else 0
    if settings.engine == "tesseract":  # fail fast, before any run, when the language data is missing
        from .engines.tesseract import find_tessdata

        find_tessdata(settings.tessdata_dir, settings.languages)
    elif settings.engine == "deepseek-vllm" and settings.vllm_transport == "server":  # ... or when no vLLM server
        # answers (runs would retry for minutes)
        from .engines.vllm_transport import ServerTransport

        probe = ServerTransport(list(settings.vllm_urls), settings.model, concurrency=1, timeout_s=10)
        try:
            probe.health()
        finally:
            probe.close()
    summaries = run_documents(settings, files)
    print(format_table(summaries))
    print(f"\nParquet tables: {settings.warehouse_dir}/<asset>/<document>.parquet (assets: raw_pdfs, "
          f"rendered_pages, ocr_pages, bpmn_elements, bpmn_models, figures, document_markdown, run_metrics)")
    print(f"BPMN 2.0 XML:   {settings.warehouse_dir}/bpmn/<document>/page-<n>.bpmn (opens in bpmn.io, Camunda Modeler)")
    print(f"Markdown:       {settings.warehouse_dir}/markdown/<document>.md (`pdf-ocr export <document>`)")
    return 0 if all(s.ok for s in summaries) and not problems else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .engines.vllm_server import ServeOptions, run_server, serve_command

    options = ServeOptions(model=args.model or Settings.from_env().model, host=args.host, port=args.port,
                           gpu_memory_utilization=args.gpu_memory_utilization, max_num_seqs=args.max_num_seqs,
                           api_server_count=args.api_server_count, resolution=args.resolution,
                           ngram_impl=args.ngram_impl, load_format=args.load_format,
                           engine_threads=args.engine_threads)
    if args.print_command:
        print(" ".join(serve_command(options)))
        return 0
    return run_server(options)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)  # every subcommand sets its own (set_defaults)
    except PipelineError as e:
        print(f"pdf-ocr: error: {e}", file=sys.stderr)
        return e.exit_code
    except ValueError as e:  # bad option values (pydantic validation)
        print(f"pdf-ocr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
