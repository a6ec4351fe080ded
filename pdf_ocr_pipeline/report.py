"""A self-contained HTML report of a data directory: documents, pages, sources, errors, speed and overlays.

Images are embedded as base64 ``data:`` URIs, so the file can be mailed or archived on its own; only the links to
the ``.bpmn`` files point outside it (relative to where the report is written). Every value that comes from the
data (file names, document keys, errors, labels) is HTML-escaped. No Dagster here.
"""

from __future__ import annotations

import html
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import polars as pl

from . import overlay

#: Overlays embedded at most (diagram pages of all documents together); the rest are listed without images.
MAX_OVERLAYS = 60

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.6rem} h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem} th,td{border:1px solid #ddd;padding:.3rem .6rem}
th{background:#f4f4f4;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
.err{color:#b00020} .muted{color:#777} .ok{color:#1a7f37}
figure{display:inline-block;margin:.6rem 1rem .6rem 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #ccc} figcaption{font-size:.85rem;margin-top:.3rem}
code{background:#f4f4f4;padding:0 .2rem}
"""


def read_table(data_dir: str | os.PathLike, table: str) -> pl.DataFrame | None:
    """All documents' rows of one warehouse table, or ``None`` when the table has no files.

    Files written by different versions may differ in columns; they are stacked with missing columns as nulls.
    The ``png`` column of ``rendered_pages`` is left out (read pages one at a time with ``overlay.load_page``).

    Args:
        data_dir: the pipeline's data directory.
        table: a table name, e.g. ``ocr_pages``; tables that do not exist yet are simply absent.

    Returns:
        A frame, or ``None``.
    """
    folder = Path(data_dir) / "warehouse" / table
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    frames = []
    for path in files:
        scan = pl.scan_parquet(path)
        names = [c for c in scan.collect_schema().names() if c not in ("png", "raw_output")]
        frames.append(scan.select(names).collect())
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def diagram_pages(data_dir: str | os.PathLike) -> dict[str, list[int]]:
    """Pages that hold a diagram, per document: those in ``bpmn_models`` or ``bpmn_elements``.

    Args:
        data_dir: the pipeline's data directory.

    Returns:
        ``{doc_id: [page_no, ...]}``, sorted; empty when neither table exists.
    """
    return _diagram_pages_of(read_table(data_dir, "bpmn_models"), read_table(data_dir, "bpmn_elements"))


def _diagram_pages_of(*frames) -> dict[str, list[int]]:
    """``diagram_pages`` from tables already read (``None`` for a missing one)."""
    found: dict[str, set[int]] = {}
    for frame in frames:
        if frame is None or not {"doc_id", "page_no"} <= set(frame.columns):
            continue
        for doc_id, page_no in frame.select("doc_id", "page_no").unique().iter_rows():
            if page_no is not None:
                found.setdefault(doc_id, set()).add(int(page_no))
    return {doc: sorted(pages) for doc, pages in sorted(found.items())}


def build_report(data_dir: str | os.PathLike, *, links_relative_to: str | os.PathLike | None = None,
                 max_overlays: int = MAX_OVERLAYS, eval_path: str | os.PathLike | None = None) -> str:
    """Build the HTML report of a data directory.

    Overlays are drawn for diagram pages (``diagram_pages``); a document without any gets its first page.

    Args:
        data_dir: the pipeline's data directory (tables under ``<data_dir>/warehouse``).
        links_relative_to: the folder the report will be written to; ``.bpmn`` links are made relative to it
            (default: the current directory).
        max_overlays: overlays embedded at most; further pages are named without an image.
        eval_path: a ``pdf-ocr eval`` Parquet file to show (``eval_section``); default the latest in
            ``<data_dir>/warehouse/eval_pages/``, none when there is none.

    Returns:
        The complete HTML document as a string.
    """
    data_dir = Path(data_dir)
    base = Path(links_relative_to) if links_relative_to is not None else Path.cwd()
    raw = read_table(data_dir, "raw_pdfs")
    pages = read_table(data_dir, "ocr_pages")
    metrics = read_table(data_dir, "run_metrics")
    elements = read_table(data_dir, "bpmn_elements")
    models = read_table(data_dir, "bpmn_models")
    diagrams = _diagram_pages_of(models, elements)
    rendered = set(overlay.list_documents(data_dir))
    doc_ids = sorted(rendered | set(raw["doc_id"].to_list() if raw is not None else []))

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>OCR report: {_e(data_dir.name or str(data_dir))}</title><style>{_CSS}</style></head><body>",
           f"<h1>OCR report</h1><p class=\"muted\">Data directory <code>{_e(str(data_dir))}</code>, "
           f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>"]
    evaluation = eval_section(eval_path if eval_path is not None else latest_eval(data_dir))
    if not doc_ids:
        out.append("<p>No documents in this data directory yet: run <code>pdf-ocr run</code> first.</p>")
        return "\n".join(out + [evaluation, "</body></html>"])

    summaries = [_summary(doc, raw, pages, metrics, rendered) for doc in doc_ids]
    out.append(_summary_table(summaries))
    out.append(evaluation)
    budget = max_overlays
    for s in summaries:
        doc = s["doc_id"]
        out.append(f'<h2 id="{_e(_anchor(doc))}">{_e(doc)}</h2>')
        if s["file_name"]:
            out.append(f"<p class=\"muted\">File <code>{_e(s['file_name'])}</code></p>")
        markdown = data_dir / "warehouse" / "markdown" / f"{doc}.md"
        if markdown.is_file():  # the document as text for people and language models (document_markdown)
            href = quote(Path(os.path.relpath(markdown.resolve(), base.resolve())).as_posix())
            out.append(f'<p>Markdown: <a href="{_e(href)}">{_e(markdown.name)}</a></p>')
        if s["error"]:
            out.append(f'<p class="err">Document error: {_e(s["error"])}</p>')
        out.append(_stage_table(doc, metrics))
        out.append(_page_errors(doc, pages))
        chosen = diagrams.get(doc) or ([1] if s["rendered"] else [])
        if doc in diagrams:
            out.append(f"<p>Diagram pages: {_e(', '.join(map(str, chosen)))}</p>")
        for page_no in chosen:
            figure, shown = _figure(data_dir, base, doc, page_no, elements, models, embed=budget > 0)
            budget -= shown
            out.append(figure)
    out.append("</body></html>")
    return "\n".join(out)


def write_report(data_dir: str | os.PathLike, out: str | os.PathLike, **kwargs) -> Path:
    """Build the report and write it atomically to ``out``; ``.bpmn`` links are relative to its folder.

    Returns:
        The path written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(data_dir, links_relative_to=out.parent.resolve(), **kwargs)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def _summary(doc: str, raw, pages, metrics, rendered: set[str]) -> dict:
    s = {"doc_id": doc, "file_name": "", "error": "", "pages": 0, "text_layer": 0, "ocr": 0, "fallback": 0,
         "failed": 0, "seconds": None, "pages_per_s": None, "tokens_per_s": None, "engine": "",
         "rendered": doc in rendered}
    if raw is not None:
        row = raw.filter(pl.col("doc_id") == doc)
        if row.height:
            r = row.row(0, named=True)
            s["file_name"], s["error"] = r.get("file_name") or "", r.get("error") or ""
            s["pages"] = int(r.get("page_count") or 0)
    if pages is not None:
        p = pages.filter(pl.col("doc_id") == doc)
        if "source" in p.columns:
            counts = dict(p.group_by("source").len().iter_rows())
            s["text_layer"], s["ocr"] = counts.get("text_layer", 0), counts.get("ocr", 0)
            s["fallback"] = counts.get("fallback", 0)
        if "error" in p.columns:
            s["failed"] = p.filter(pl.col("error").is_not_null()).height
        s["pages"] = s["pages"] or p.height
    if metrics is not None:
        m = _latest_stages(metrics, doc)
        if m.height:
            s["seconds"] = float(m["seconds"].fill_null(0).sum()) if "seconds" in m.columns else None
            ocr = m.filter(pl.col("stage") == "ocr_pages")
            if ocr.height:
                r = ocr.row(0, named=True)
                s["pages_per_s"], s["tokens_per_s"] = r.get("pages_per_s"), r.get("tokens_per_s")
                s["engine"] = r.get("engine") or ""
    return s


def _latest_stages(metrics: pl.DataFrame, doc: str) -> pl.DataFrame:
    m = metrics.filter(pl.col("doc_id") == doc)
    if "recorded_at" in m.columns:
        m = m.sort("recorded_at")
    return m.unique(subset=["stage"], keep="last", maintain_order=True) if "stage" in m.columns else m


def _summary_table(summaries: list[dict]) -> str:
    head = ("document", "pages", "text layer", "OCR", "fallback", "failed pages", "seconds", "OCR pages/s",
            "tokens/s", "engine", "error")
    rows = []
    for s in summaries:
        cells = [f'<td><a href="#{_e(_anchor(s["doc_id"]))}">{_e(s["doc_id"])}</a></td>',
                 *(f'<td class="num">{_e(str(s[k]))}</td>' for k in ("pages", "text_layer", "ocr", "fallback")),
                 f'<td class="num{" err" if s["failed"] else ""}">{s["failed"]}</td>',
                 f'<td class="num">{_num(s["seconds"], 1)}</td>', f'<td class="num">{_num(s["pages_per_s"], 2)}</td>',
                 f'<td class="num">{_num(s["tokens_per_s"] or None, 1)}</td>', f"<td>{_e(s['engine'])}</td>",
                 f'<td class="err">{_e(_first_line(s["error"]))}</td>']
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total_pages = sum(s["pages"] for s in summaries)
    failed = sum(1 for s in summaries if s["error"])
    state = f'<span class="err">{failed} failed</span>' if failed else '<span class="ok">none failed</span>'
    caption = f"<p>{len(summaries)} documents, {total_pages} pages; {state}.</p>"
    return (caption + "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _stage_table(doc: str, metrics) -> str:
    if metrics is None:
        return ""
    m = _latest_stages(metrics, doc)
    if not m.height:
        return ""
    cols = [c for c in ("stage", "pages", "failures", "seconds", "pages_per_s", "tokens_per_s", "peak_rss_mb",
                        "engine") if c in m.columns]
    rows = []
    for r in m.select(cols).iter_rows(named=True):
        cells = (f'<td class="num">{_num(v, 2)}</td>' if isinstance(v, float) else f"<td>{_e(v)}</td>"
                 for v in r.values())
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in cols)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _page_errors(doc: str, pages) -> str:
    if pages is None or "error" not in pages.columns:
        return ""
    bad = pages.filter((pl.col("doc_id") == doc) & pl.col("error").is_not_null()).sort("page_no")
    if not bad.height:
        return ""
    items = "".join(f"<li>page {int(r['page_no'])}: {_e(r['error'])}</li>"
                    for r in bad.select("page_no", "error").iter_rows(named=True))
    return f'<p class="err">Pages with errors:</p><ul class="err">{items}</ul>'


def _figure(data_dir: Path, base: Path, doc: str, page_no: int, elements, models, *, embed: bool) -> tuple[str, int]:
    caption = [f"page {page_no}"]
    if elements is not None and {"doc_id", "page_no", "type"} <= set(elements.columns):
        e = elements.filter((pl.col("doc_id") == doc) & (pl.col("page_no") == page_no))
        if e.height:
            counts = e.group_by("type").len().sort("type").iter_rows()
            caption.append(_e(", ".join(f"{t}: {n}" for t, n in counts)))
    if models is not None and {"doc_id", "page_no"} <= set(models.columns):
        mrow = models.filter((pl.col("doc_id") == doc) & (pl.col("page_no") == page_no))
        valid_col = next((c for c in ("valid", "is_valid", "xml_valid") if c in mrow.columns), None)
        if mrow.height and valid_col is not None and mrow[valid_col][0] is not None:
            caption.append("BPMN XML valid" if mrow[valid_col][0] else "BPMN XML <span class=\"err\">invalid</span>")
        if mrow.height and "unresolved_flows" in mrow.columns and (mrow["unresolved_flows"][0] or 0) > 0:
            caption.append(f'<span class="err">{int(mrow["unresolved_flows"][0])} flows with a loose end</span>')
        if mrow.height and "error" in mrow.columns and mrow["error"][0]:
            caption.append(f'<span class="err">model error: {_e(mrow["error"][0])}</span>')
    bpmn = data_dir / "warehouse" / "bpmn" / doc / f"page-{page_no}.bpmn"
    if not bpmn.is_file() and models is not None and "xml_path" in models.columns:
        paths = models.filter((pl.col("doc_id") == doc) & (pl.col("page_no") == page_no))["xml_path"]
        bpmn = Path(paths[0]) if paths.len() and paths[0] else bpmn
    if bpmn.is_file():
        href = quote(Path(os.path.relpath(bpmn.resolve(), base.resolve())).as_posix())
        caption.append(f'<a href="{_e(href)}" download>page-{page_no}.bpmn</a>')
    img, shown = "", 0
    if embed:
        try:
            page = overlay.load_page(data_dir, doc, page_no)
        except overlay.PageNotFoundError as e:
            img = f'<p class="err">{_e(str(e))}</p>'
        else:
            png = overlay.thumbnail(page["png"], page["width_pt"], page["height_pt"], page["blocks"],
                                    page["elements"], max_side=1000, colours=128)
            alt = f"{doc} page {page_no} with OCR blocks and BPMN elements"
            img = f'<img src="{overlay.data_uri(png)}" alt="{_e(alt)}">'  # inline data: nothing to defer
            shown = 1
    else:
        img = '<p class="muted">(overlay left out: the report embeds at most a limited number of pages)</p>'
    # Parts of the caption built from data were escaped where they were made; the rest is markup.
    parts = [_e(caption[0])] + caption[1:]
    return f"<figure>{img}<figcaption>{' · '.join(parts)}</figcaption></figure>", shown


# --------------------------------------------------------------------------------------------- pdf-ocr eval

#: Where ``pdf-ocr eval --data-dir`` keeps its per-page rows, one file a run (``eval-<UTC time>Z.parquet``).
EVAL_TABLE = "eval_pages"
_KIND_COLOURS = {"prose": "#4269d0", "table": "#efb118", "title": "#ff725c", "contents": "#6cc5b0",
                 "all": "#3d3d3d"}


def latest_eval(data_dir: str | os.PathLike) -> Path | None:
    """The newest ``pdf-ocr eval`` rows in the warehouse (by file name: the run's time), or None."""
    folder = Path(data_dir) / "warehouse" / EVAL_TABLE
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return files[-1] if files else None


def eval_section(path: str | os.PathLike | None) -> str:
    """The report's self-check section from a ``pdf-ocr eval`` Parquet file (``evaluate.ROW_SCHEMA``): the
    recommendation, CER by setting and page kind as a bar chart (inline SVG), and a table per setting (CER per
    kind, WER, pages/s, tokens a page). Empty when ``path`` is None; a note when the file cannot be read."""
    if path is None:
        return ""
    from .evaluate import recommend, setting_errors, summarise

    head = '<h2 id="eval">OCR self-check (<code>pdf-ocr eval</code>)</h2>'
    try:
        frame = pl.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file: say so, keep the report
        return head + f'<p class="err">Cannot read {_e(str(path))}: {_e(type(e).__name__)}: {_e(e)}</p>'
    rows = frame.to_dicts()
    if not rows or not {"setting", "kind", "cer"} <= set(frame.columns):
        return head + f'<p class="muted">No rows in {_e(Path(path).name)}.</p>'
    summary = summarise(rows)
    when = rows[0].get("evaluated_at")
    pages = len({(r.get("path"), r.get("page_no")) for r in rows})
    parts = [head, f'<p class="muted">{pages} sampled pages, {len({r["setting"] for r in rows})} settings, from '
                   f'<code>{_e(Path(path).name)}</code>{", run " + _e(when) if when else ""}: OCR scored against '
                   "the pages' own text layer.</p>",
             f"<p><strong>{_e(recommend(summary))}</strong></p>", eval_chart(summary), _eval_table(rows, summary)]
    errors = setting_errors(rows)
    if errors:
        items = "".join(f"<li>{_e(name)}: {_e(error)}</li>" for name, error in errors.items())
        parts.append(f'<p class="err">Settings that read no page:</p><ul class="err">{items}</ul>')
    return "\n".join(parts)


def eval_chart(summary: list[dict]) -> str:
    """CER by setting (one group of bars each) and page kind (one bar a kind, "all" last) as an inline SVG: no
    plotting library. A setting that read no page says so instead of bars."""
    settings = list(dict.fromkeys(s["setting"] for s in summary))
    kinds = [k for k in _KIND_COLOURS if any(s["kind"] == k for s in summary)]
    kinds += sorted({s["kind"] for s in summary} - set(kinds))
    by = {(s["setting"], s["kind"]): s for s in summary}
    values = [s["cer"] for s in summary if s["cer"] is not None]
    top = max(values, default=0.0)
    step = next((t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0) if top <= 5 * t), 1.0)
    top = max(1, math.ceil(round(top / step, 6))) * step if top > 0 else 0.05
    longest = max((len(name) for name in settings), default=0)
    label_w = int(min(440, max(120, 16 + 6.8 * min(longest, 62))))
    plot_w, right, bar, gap, group_gap, head_h = 480, 60, 12, 2, 12, 44
    groups = [sum(1 for k in kinds if (name, k) in by and by[(name, k)]["cer"] is not None) or 1
              for name in settings]
    height = head_h + sum(n * (bar + gap) + group_gap for n in groups) + 24
    width = label_w + plot_w + right
    x = lambda v: label_w + plot_w * min(v, top) / top  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="system-ui,sans-serif" font-size="12">',
           "<title>CER by setting and page kind (pdf-ocr eval)</title>"]
    lx = label_w
    for k in kinds:  # legend
        out.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{_KIND_COLOURS.get(k, "#999")}"/>'
                   f'<text x="{lx + 16}" y="14">{_e(k)}</text>')
        lx += 24 + 7 * len(k)
    ticks = int(round(top / step))
    for i in range(ticks + 1):  # grid and axis
        v = i * step
        out.append(f'<line x1="{x(v):.1f}" y1="{head_h - 8}" x2="{x(v):.1f}" y2="{height - 20}" stroke="#e3e3e3"/>'
                   f'<text x="{x(v):.1f}" y="{height - 6}" text-anchor="middle" fill="#555">{v:.0%}</text>')
    out.append(f'<text x="{label_w + plot_w}" y="{head_h - 14}" text-anchor="end" fill="#555">CER</text>')
    y = head_h
    for name, n in zip(settings, groups):
        present = [k for k in kinds if (name, k) in by and by[(name, k)]["cer"] is not None]
        mid = y + n * (bar + gap) / 2
        out.append(f'<text x="{label_w - 8}" y="{mid + 4:.1f}" text-anchor="end">{_e(_clip(name, 62))}</text>')
        if not present:
            out.append(f'<text x="{label_w + 4}" y="{mid + 4:.1f}" fill="#b00020">not run: no page read</text>')
            y += n * (bar + gap) + group_gap
            continue
        for k in present:
            v = by[(name, k)]["cer"]
            w = max(x(v) - label_w, 0.5)
            out.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" '
                       f'fill="{_KIND_COLOURS.get(k, "#999")}"><title>{_e(name)}, {_e(k)}: CER {v:.2%}</title></rect>'
                       f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 2}" font-size="10">{v:.1%}</text>')
            y += bar + gap
        y += group_gap
    out.append("</svg>")
    return ("<figure>" + "".join(out) + "<figcaption>CER by setting and page kind against the text layer (lower "
            "is better)</figcaption></figure>")


def _eval_table(rows: list[dict], summary: list[dict]) -> str:
    kinds = [k for k in _KIND_COLOURS if k != "all" and any(s["kind"] == k for s in summary)]
    first: dict[str, dict] = {s["setting"]: {} for s in summary}  # the chart's order
    for r in rows:
        first[r["setting"]] = first[r["setting"]] or r
    by = {(s["setting"], s["kind"]): s for s in summary}
    head = ["setting", "engine", "model", "family", "mode", "prompt", "dpi", "pages", "failed", "CER",
            *(f"CER {k}" for k in kinds), "WER", "pages/s", "tokens/page"]
    body = []

    def pct(v):
        return "-" if v is None else f"{v:.2%}"

    for name, r in first.items():
        s = by[(name, "all")]
        tokens = "n/a" if s["tokens_per_page"] is None else f"{s['tokens_per_page']:.0f}"
        cells = [f"<td>{_e(name)}</td>", *(f"<td>{_e(r.get(k) or '')}</td>" for k in
                                          ("engine", "model", "model_family", "mode", "prompt")),
                 f'<td class="num">{_e(r.get("dpi"))}</td>', f'<td class="num">{s["pages"]}</td>',
                 f'<td class="num{" err" if s["failed"] else ""}">{s["failed"]}</td>',
                 f'<td class="num">{pct(s["cer"])}</td>',
                 *(f'<td class="num">{pct(by[(name, k)]["cer"]) if (name, k) in by else ""}</td>' for k in kinds),
                 f'<td class="num">{pct(s["wer"])}</td>', f'<td class="num">{_num(s["pages_per_s"], 2)}</td>',
                 f'<td class="num">{tokens}</td>']
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _anchor(doc: str) -> str:
    return "doc-" + quote(doc, safe="")


def _num(value, digits: int) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return _e(value)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
