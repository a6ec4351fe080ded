"""``pdf-ocr show``, ``report``, ``export``: look at what a data directory holds, without Dagster; ``eval``: OCR check.

    pdf-ocr show DOC --page N [--data-dir DIR] [--out FILE.png] [--no-blocks] [--no-elements]
    pdf-ocr report [--data-dir DIR] [--out report.html] [--max-overlays N] [--eval EVAL.parquet]
    pdf-ocr export DOC [--format md|jsonl] [--data-dir DIR] [--out FILE]
    pdf-ocr eval PDF_OR_FOLDER... [--dpi 150 200] [--languages rus+eng] [--setting KEY=VALUE,...]...
                 [--per-kind 5] [--seed 7] [--out FILE] [--data-dir DIR]

``cli.build_parser`` adds them with ``add_show_parser(sub)`` and ``add_report_parser(sub)``; each sets
``args.func``, so ``main`` dispatches with ``return args.func(args)``. Exit status: 0 written, 2 unknown
document or page, or no outputs in the data directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_show_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``show`` subcommand to ``pdf-ocr``'s subparsers.

    Args:
        sub: the object ``ArgumentParser.add_subparsers`` returned.

    Returns:
        The new subparser (``func`` defaults to ``cmd_show``).
    """
    show = sub.add_parser("show", help="draw a page with its OCR blocks and BPMN elements into a PNG",
                          description="Draw one page with its OCR blocks and BPMN elements, coloured by type.")
    show.add_argument("doc", help="document key (as in the outputs' file names) or the PDF's file name")
    show.add_argument("--page", type=_positive, required=True, help="1-based page number")
    show.add_argument("--data-dir", type=Path,
                      help="the pipeline's data directory (default data, or PDF_OCR_DATA_DIR)")
    show.add_argument("--out", type=Path, help="PNG file to write (default DOC-page-N.png in the current folder)")
    show.add_argument("--no-blocks", action="store_true", help="leave out the OCR words and blocks")
    show.add_argument("--no-elements", action="store_true", help="leave out the BPMN elements")
    show.set_defaults(func=cmd_show)
    return show


def add_report_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``pdf-ocr``'s subparsers.

    Args:
        sub: the object ``ArgumentParser.add_subparsers`` returned.

    Returns:
        The new subparser (``func`` defaults to ``cmd_report``).
    """
    report = sub.add_parser("report", help="write a self-contained HTML report of a data directory",
                            description="Documents, pages, sources, errors, speed, and an overlay per diagram page.")
    report.add_argument("--data-dir", type=Path,
                        help="the pipeline's data directory (default data, or PDF_OCR_DATA_DIR)")
    report.add_argument("--out", type=Path, default=Path("report.html"),
                        help="HTML file to write (default report.html)")
    report.add_argument("--max-overlays", type=_non_negative, default=None,
                        help="page images embedded at most (default 60); the rest are listed")
    report.add_argument("--eval", type=Path, dest="eval_path",
                        help="a pdf-ocr eval Parquet file to plot (default: the latest in "
                             "DATA_DIR/warehouse/eval_pages/, if any)")
    report.set_defaults(func=cmd_report)
    return report


def cmd_show(args: argparse.Namespace) -> int:
    """Run ``pdf-ocr show``: write the drawn page to ``args.out`` and print its path.

    Args:
        args: ``doc``, ``page``, ``data_dir`` (``None``: from the settings), ``out``, ``no_blocks``, ``no_elements``.

    Returns:
        0 when written; 2 for an unknown document or page (the message lists the known ones).
    """
    from .overlay import PageNotFoundError, list_documents, show_page

    data_dir = _data_dir(args.data_dir)
    doc_id = resolve_document(data_dir, args.doc)
    try:
        image = show_page(data_dir, doc_id, args.page, blocks=not args.no_blocks, elements=not args.no_elements)
    except PageNotFoundError as e:
        print(f"pdf-ocr show: {e}", file=sys.stderr)
        known = list_documents(data_dir) if e.known != [doc_id] else []
        if known:
            print("known documents:\n" + "\n".join(f"  {k}" for k in known), file=sys.stderr)
        elif not e.known:
            print(f"no documents in {data_dir / 'warehouse'}: run `pdf-ocr run --data-dir {data_dir}` first",
                  file=sys.stderr)
        return 2
    out = args.out or Path(f"{doc_id}-page-{args.page}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG", optimize=True)
    print(out)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Run ``pdf-ocr report``: write the HTML report to ``args.out`` and print its path.

    Args:
        args: ``data_dir`` (``None``: from the settings), ``out``, ``max_overlays`` (``None``: the default).

    Returns:
        0 when written; 2 when the data directory holds no outputs.
    """
    from .overlay import list_documents
    from .report import latest_eval, write_report

    data_dir = _data_dir(args.data_dir)
    eval_path = getattr(args, "eval_path", None)
    if eval_path is not None and not eval_path.is_file():
        print(f"pdf-ocr report: no such file {eval_path}", file=sys.stderr)
        return 2
    if (not list_documents(data_dir) and not (data_dir / "warehouse" / "raw_pdfs").is_dir()
            and eval_path is None and latest_eval(data_dir) is None):
        print(f"pdf-ocr report: no outputs in {data_dir / 'warehouse'}: run `pdf-ocr run --data-dir {data_dir}` "
              "first", file=sys.stderr)
        return 2
    kwargs = {} if args.max_overlays is None else {"max_overlays": args.max_overlays}
    if eval_path is not None:
        kwargs["eval_path"] = eval_path
    print(write_report(data_dir, args.out, **kwargs))
    return 0


def add_export_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand: a document as Markdown (``document_markdown``) or JSON lines, one a page."""
    export = sub.add_parser("export", help="print or write a document as Markdown or JSON lines (one per page)",
                            description="The document as a person or a language model reads it: pages in order, "
                                        "headings, figures' text, BPMN diagrams summarised.")
    export.add_argument("doc", help="document key (as in the outputs' file names) or the PDF's file name")
    export.add_argument("--format", choices=["md", "jsonl"], default="md", help="md (default) or jsonl")
    export.add_argument("--data-dir", type=Path,
                        help="the pipeline's data directory (default data, or PDF_OCR_DATA_DIR)")
    export.add_argument("--out", type=Path, help="file to write (default: print to standard output)")
    export.set_defaults(func=cmd_export)
    return export


def cmd_export(args: argparse.Namespace) -> int:
    """Run ``pdf-ocr export``: 0 written, 2 when the document has no Markdown yet."""
    from .markdown import page_jsonl, split_pages
    from .storage import Warehouse

    data_dir = _data_dir(args.data_dir)
    doc_id = resolve_document(data_dir, args.doc)
    store = Warehouse(data_dir / "warehouse")
    if not store.exists("document_markdown", doc_id):
        print(f"pdf-ocr export: no Markdown for {args.doc!r} in {data_dir / 'warehouse'}: run "
              f"`pdf-ocr run --data-dir {data_dir}` on it first", file=sys.stderr)
        return 2
    markdown = store.read("document_markdown", doc_id, columns=["markdown"])["markdown"][0] or ""
    if args.format == "jsonl":
        sources = {}
        if store.exists("ocr_pages", doc_id):
            sources = dict(store.read("ocr_pages", doc_id, columns=["page_no", "source"]).iter_rows())
        text = "".join(page_jsonl(no, md, sources.get(no), doc_id) for no, md in split_pages(markdown))
    else:
        text = markdown if markdown.endswith("\n") else markdown + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(args.out)
    return 0


def resolve_document(data_dir: Path, name: str) -> str:
    """The document key for what a user typed: the key itself, a PDF's file name, or its path.

    Args:
        data_dir: the pipeline's data directory.
        name: a key (``Отчёт_по_работе-3f2a9c1b``) or a file name (``Отчёт по работе.pdf``).

    Returns:
        The matching key, or ``name`` unchanged when nothing matches (the caller reports it as unknown).
    """
    from .overlay import list_documents

    known = list_documents(data_dir)
    if name in known:
        return name
    from .inbox import document_key

    base = Path(name).name
    key = document_key(base)  # with or without ".pdf": the key leaves it out
    if key in known:
        return key
    raw_dir = data_dir / "warehouse" / "raw_pdfs"
    if raw_dir.is_dir():
        import polars as pl

        try:
            raw = pl.read_parquet(raw_dir / "*.parquet", columns=["doc_id", "file_name"])
        except Exception:  # noqa: BLE001 - a damaged table only means no match by file name
            return name
        hits = raw.filter((pl.col("file_name") == base) | (pl.col("file_name") == base + ".pdf"))["doc_id"]
        if hits.len() == 1:
            return hits[0]
    return name


def _data_dir(value: Path | None) -> Path:
    if value is not None:
        return value
    from .settings import Settings

    return Settings.from_env().data_dir


def _int_at_least(low: int):
    """An argparse type: a whole number of at least ``low``."""
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more")
        return value
    return check


_positive, _non_negative = _int_at_least(1), _int_at_least(0)


def add_eval_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand: score OCR settings against born-digital pages' own text layers
    (``evaluate``). Each combination of ``--dpi`` and ``--languages`` is a Tesseract setting; each ``--setting``
    one more (any engine)."""
    ev = sub.add_parser("eval", help="check OCR settings on your own born-digital PDFs (CER/WER per page kind)",
                        description="Samples pages whose text layer is usable and whose pictures hold no text, "
                                    "OCRs them with each setting (every --dpi x --languages with Tesseract, and "
                                    "every --setting) and scores the OCR against the text layer.")
    ev.add_argument("paths", nargs="+", type=Path, help="PDF files or folders (their PDFs, not recursive)")
    ev.add_argument("--dpi", type=_positive, nargs="+", default=None,
                    help="Tesseract resolutions (default 150 200; none when --setting is given, unless named)")
    ev.add_argument("--languages", nargs="+", default=None, help="Tesseract languages (default rus+eng)")
    ev.add_argument("--setting", dest="settings", action="append", type=_eval_setting, default=[],
                    metavar="KEY=VALUE,...",
                    help="a setting to compare, repeatable: engine=tesseract|deepseek-vllm|deepseek-transformers, "
                         "model=FOLDER, family=auto|deepseek-ocr|deepseek-ocr-2, mode=base|gundam, "
                         "prompt=grounded|free|ocr_v1|..., dpi=N, languages=L, psm=N, transport=in-process|server, "
                         "url=URL, max_tokens=N, batch=N, load_format=auto|dummy, name=TEXT")
    ev.add_argument("--per-kind", type=_positive, default=5, help="pages sampled of each kind (default 5)")
    ev.add_argument("--seed", type=int, default=7, help="the sample's random seed (default 7)")
    ev.add_argument("--out", type=Path, help="Parquet file for the per-page rows")
    ev.add_argument("--data-dir", type=Path,
                    help="also keep the rows in DIR/warehouse/eval_pages/ (pdf-ocr report plots the latest)")
    ev.set_defaults(func=cmd_eval)
    return ev


def _eval_setting(text: str):
    """An argparse type: one ``--setting`` (``evaluate.parse_setting``; dpi and languages are filled in later)."""
    from .evaluate import parse_setting

    try:
        parse_setting(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--setting {text!r}: {e}") from None
    return text


def eval_settings(args: argparse.Namespace) -> list:
    """The settings ``pdf-ocr eval`` compares: Tesseract at every ``--dpi`` x ``--languages`` (by default 150
    and 200 dpi, rus+eng; with ``--setting`` only when either is given), then each ``--setting`` (its dpi and
    languages default to the first of those). Names are made unique."""
    from dataclasses import replace

    from .evaluate import Setting, parse_setting

    languages = args.languages or ["rus+eng"]
    dpis = args.dpi or [150, 200]
    settings = []
    if not args.settings or args.dpi is not None or args.languages is not None:
        settings = [Setting(f"tesseract {lang} {dpi}dpi", dpi=dpi, languages=lang) for lang in languages
                    for dpi in dpis]
    default_dpi = args.dpi[0] if args.dpi else 200
    settings += [parse_setting(text, dpi=default_dpi, languages=languages[0]) for text in args.settings]
    seen: dict[str, int] = {}
    unique = []
    for s in settings:
        seen[s.name] = seen.get(s.name, 0) + 1
        unique.append(s if seen[s.name] == 1 else replace(s, name=f"{s.name} #{seen[s.name]}"))
    return unique


def cmd_eval(args: argparse.Namespace) -> int:
    """Run ``pdf-ocr eval``: 0 scored, 1 when no setting read any page, 2 when a path is missing or no page
    qualifies. A setting whose engine cannot be built is reported and the others still run."""
    from datetime import datetime, timezone

    from .cli import collect_pdfs
    from .evaluate import evaluate, format_summary, recommend, rows_frame, sample_pages, setting_errors, summarise

    files, problems = collect_pdfs(args.paths)
    for problem in problems:
        print(f"pdf-ocr eval: {problem}", file=sys.stderr)
    if problems:
        return 2
    settings = eval_settings(args)
    samples = sample_pages(files, args.per_kind, args.seed, languages=settings[0].languages)
    if not samples:
        print("pdf-ocr eval: no page has a usable text layer without pictures holding text: nothing to compare "
              "OCR against", file=sys.stderr)
        return 2
    kinds = {}
    for _, _, kind in samples:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"sampled {len(samples)} pages of {len(files)} PDFs: "
          + ", ".join(f"{n} {kind}" for kind, n in kinds.items()), file=sys.stderr)
    rows = evaluate(samples, settings)
    for name, error in setting_errors(rows).items():
        print(f"pdf-ocr eval: setting {name!r} read no page: {error}", file=sys.stderr)
    summary = summarise(rows)
    print(format_summary(summary))
    print(recommend(summary))
    now = datetime.now(timezone.utc)
    frame = rows_frame(rows, evaluated_at=now.isoformat(timespec="seconds"), seed=args.seed)
    targets = [args.out] if args.out is not None else []
    if args.data_dir is not None:
        targets.append(args.data_dir / "warehouse" / "eval_pages" / f"eval-{now:%Y%m%dT%H%M%S}Z.parquet")
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(target)
        print(f"per-page rows: {target}", file=sys.stderr)
    return 0 if any(s["kind"] == "all" and s["cer"] is not None for s in summary) else 1
