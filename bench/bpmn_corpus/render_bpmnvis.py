"""Render BPMN 2.0 XML (with DI) by bpmn-visualization in headless Chromium to a vector PDF, with its own truth.

    .venv/bin/python -m bench.bpmn_corpus.render_bpmnvis IN.bpmn [IN2.bpmn ...] OUT_DIR

A second, independent renderer for the corpus (issue 15): Process Analytics' ``bpmn-visualization`` (Apache-2.0,
pinned in ``node/package.json``), drawn by mxGraph, in the same Chromium as ``render_bpmnjs`` (whose driver,
print and ``truth_xml`` it reuses). Writes ``OUT_DIR/IN.pdf``, ``IN.truth.bpmn`` (the input XML, DI rewritten in
page points) and ``IN.truth.json``.

The truth is read from the renderer after ``load``: ``bpmnElementsRegistry.getElementsByKinds`` names every drawn
element (its semantic and its SVG group); each one's bounds (shapes) or absolute points (edges) come from the
mxGraph view state of that cell, mapped to page pixels by the SVG's screen CTM, and each drawn label's text box
from the label's DOM (a ``Range`` over its text, ``getBoundingClientRect``); points = CSS px * 0.75. Elements that
bpmn-visualization does not draw (data objects, data stores, data associations, ...) lose their DI in the truth.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.bpmn_corpus import render_bpmnjs as rb
from bench.bpmn_corpus.render_bpmnjs import MARGIN_PX, NODE_DIR, PX_TO_PT, Truth, chromium

VIS_JS = NODE_DIR / "node_modules" / "bpmn-visualization" / "dist" / "bpmn-visualization.min.js"

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; padding: 0; background: #fff; overflow: hidden; }}
#canvas {{ position: absolute; left: 0; top: 0; width: 1200px; height: 800px; overflow: hidden; }}
@page {{ margin: 0; }}
</style><script src="{js}"></script></head><body><div id="canvas"></div></body></html>"""

_LOAD_JS = """
const [xml, margin, done] = arguments;
try {
  const bv = new bpmnvisu.BpmnVisualization({container: 'canvas', navigation: {enabled: false}});
  window.bv = bv;
  bv.load(xml, {fit: {type: bpmnvisu.FitType.None}});
  const g = bv.graph, view = g.getView();
  const b = g.getGraphBounds();  // view coordinates (scale 1)
  const W = Math.ceil(b.width + 2 * margin), H = Math.ceil(b.height + 2 * margin);
  const c = document.getElementById('canvas');
  c.style.width = W + 'px'; c.style.height = H + 'px';
  view.setTranslate(view.translate.x + margin - b.x, view.translate.y + margin - b.y);
  g.sizeDidChange && g.sizeDidChange();
  document.fonts.ready.then(() => done({ok: true, W, H}));
} catch (e) { done({ok: false, error: String(e && e.message || e)}); }
"""

_TRUTH_JS = """
const k = arguments[0];
const g = bv.graph, view = g.getView(), model = g.getModel();
const svg = document.querySelector('#canvas svg');
const m = svg.getScreenCTM();
const pt = (x, y) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x * k, p.y * k]; };
const union = (b, r) => (!r || r.width <= 0 || r.height <= 0) ? b
  : b ? [Math.min(b[0], r.left), Math.min(b[1], r.top), Math.max(b[2], r.right), Math.max(b[3], r.bottom)]
      : [r.left, r.top, r.right, r.bottom];
const textBox = node => {  // the drawn glyphs of a label: HTML (foreignObject) or SVG text
  if (!node) return null;
  let b = null;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!t.textContent.trim()) continue;
    const p = t.parentElement;
    if (p && (p.closest('switch') && p.closest('text'))) continue;  // the SVG fallback of a foreignObject
    const r = document.createRange(); r.selectNodeContents(t);
    for (const cr of r.getClientRects()) b = union(b, cr);
  }
  return b && b.map(v => v * k);
};
const TYPES = {pool: 'participant'};
const kinds = Object.values(bpmnvisu.ShapeBpmnElementKind).concat(Object.values(bpmnvisu.FlowKind));
const out = [];
for (const el of bv.bpmnElementsRegistry.getElementsByKinds(kinds)) {
  const s = el.bpmnSemantic, cell = model.getCell(s.id), st = cell && view.getState(cell);
  if (!st) continue;
  let box, wp = null;
  if (s.isShape) {
    box = pt(st.x, st.y).concat(pt(st.x + st.width, st.y + st.height));
  } else {
    wp = (st.absolutePoints || []).filter(p => p).map(p => pt(p.x, p.y));
    if (wp.length < 2) continue;
    const xs = wp.map(p => p[0]), ys = wp.map(p => p[1]);
    box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  out.push({id: s.id, di_id: null, type: TYPES[s.kind] || s.kind, name: s.name || '', box, waypoints: wp,
            label_box: st.text ? textBox(st.text.node) : null, di_label: null});
}
return out;
"""


def available() -> str | None:
    """Why rendering cannot run here, or ``None`` when it can."""
    return rb.available(VIS_JS)


def render(bpmn_xml: str, out_pdf: Path, *, driver=None) -> Truth:
    """Draw ``bpmn_xml`` with bpmn-visualization, print it to ``out_pdf`` (one page, no margins) and return the
    truth read from the renderer. ``driver``: a Selenium Chrome driver to reuse (``render_bpmnjs.chromium()``)."""
    if driver is None:
        with chromium() as d:
            return render(bpmn_xml, out_pdf, driver=d)
    with tempfile.TemporaryDirectory(prefix="bpmnvis-page-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(_PAGE.format(js=VIS_JS.as_uri()), encoding="utf-8")
        driver.get(page.as_uri())
        res = driver.execute_async_script(_LOAD_JS, bpmn_xml, MARGIN_PX)
        if not res.get("ok"):
            raise RuntimeError(f"bpmn-visualization could not load the diagram: {res.get('error')}")
        elements = driver.execute_script(_TRUTH_JS, PX_TO_PT)
        out_pdf = rb.print_pdf(driver, res["W"], res["H"], out_pdf)
    truth = Truth(pdf=str(out_pdf), width_pt=res["W"] * PX_TO_PT, height_pt=res["H"] * PX_TO_PT, elements=elements)
    truth.xml = rb.truth_xml(bpmn_xml, elements)
    return truth


def render_file(src: Path, out_dir: Path, *, theme: str = "default", driver=None) -> Truth:
    """``src`` -> ``out_dir/<stem>.pdf``, ``<stem>.truth.bpmn``, ``<stem>.truth.json`` (``theme``: only the
    renderer's default look, accepted for the same call shape as ``render_bpmnjs.render_file``)."""
    if theme != "default":
        raise ValueError("bpmn-visualization has only the default theme here")
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = render(Path(src).read_text(encoding="utf-8"), out_dir / f"{src.stem}.pdf", driver=driver)
    return rb.save_truth(truth, out_dir, src.stem)


def main(argv=None) -> int:
    ap = rb.cli_parser(__doc__)
    args = ap.parse_args(argv)
    return rb.cli_render(ap, args, render_file, available())


if __name__ == "__main__":
    raise SystemExit(main())
