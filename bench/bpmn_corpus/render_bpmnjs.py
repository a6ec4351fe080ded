"""Render BPMN 2.0 XML (with DI) by bpmn-js in headless Chromium to a vector PDF, with the renderer's own truth.

    .venv/bin/python -m bench.bpmn_corpus.render_bpmnjs IN.bpmn OUT_DIR [--theme default|bold]

writes ``OUT_DIR/IN.pdf`` (Chromium's print of the page: vector paths, text layer), ``OUT_DIR/IN.truth.bpmn`` (the
input XML whose DI is rewritten in PDF points of that page: ``parse_truth.parse_bpmn`` and ``bench.bpmn_eval.score``
read it unchanged) and ``OUT_DIR/IN.truth.json`` (the elements with their label text boxes).

The truth is read from bpmn-js itself after the import: each shape's and external label's bounds and each
connection's waypoints from the element registry, mapped to page pixels by the viewport's screen CTM, and each
drawn label's text box by ``getBoundingClientRect``; points = CSS px * 0.75 (96-dpi page). Nothing is estimated.
Needs ``npm ci`` in ``bench/bpmn_corpus/node`` and Debian's ``/usr/bin/chromium`` + ``/usr/bin/chromedriver``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
VIEWER_JS = NODE_DIR / "node_modules" / "bpmn-js" / "dist" / "bpmn-viewer.production.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1600,1000", "--allow-file-access-from-files"]
PX_TO_PT = 0.75
MARGIN_PX = 20
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
OMGDI_NS = "http://www.omg.org/spec/DD/20100524/DI"

#: Styles that draw differently: bpmn-js renderer colours, text renderer fonts (these drive bpmn-js's own line
#: breaking, so the truth's label boxes stay exact) and CSS (line widths). "default" is bpmn.io's look.
THEMES: dict[str, dict] = {
    "default": {},
    "bold": {
        "bpmnRenderer": {"defaultFillColor": "#dbeafe", "defaultStrokeColor": "#0b1f3a",
                         "defaultLabelColor": "#111111"},
        "textRenderer": {"defaultStyle": {"fontFamily": "Liberation Serif", "fontSize": 13},
                         "externalStyle": {"fontSize": 12}},
        "css": (".djs-shape .djs-visual > rect, .djs-shape .djs-visual > polygon { stroke-width: 3px !important; }\n"
                ".djs-connection .djs-visual > path { stroke-width: 2.25px !important; }\n"
                ".djs-label { font-family: 'Liberation Serif' !important; }"),
    },
}

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; padding: 0; background: #fff; overflow: hidden; }}
#canvas {{ position: absolute; left: 0; top: 0; width: 1200px; height: 800px; }}
@page {{ margin: 0; }}
/* hit areas, outlines, HTML overlays (drill-down buttons), the logo: not in an export */
.djs-hit, .djs-outline, .djs-overlay-container, .bjs-powered-by {{ display: none !important; }}
{css}
</style><script src="{js}"></script></head><body><div id="canvas"></div></body></html>"""

_IMPORT_JS = """
const [xml, cfg, margin, done] = arguments;
const viewer = new BpmnJS({container: '#canvas', bpmnRenderer: cfg.bpmnRenderer || {},
                           textRenderer: cfg.textRenderer || {}});
window.viewer = viewer;
viewer.importXML(xml).then(r => {
  const canvas = viewer.get('canvas');
  const inner = canvas.viewbox().inner;
  const W = Math.ceil(inner.width + 2 * margin), H = Math.ceil(inner.height + 2 * margin);
  const c = document.getElementById('canvas');
  c.style.width = W + 'px'; c.style.height = H + 'px';
  canvas.resized();
  canvas.viewbox({x: inner.x - margin, y: inner.y - margin, width: W, height: H});  // scale 1: CSS px = DI units
  document.fonts.ready.then(() => done({ok: true, W, H, warnings: (r.warnings || []).map(w => String(w.message))}));
}).catch(e => done({ok: false, error: String(e && e.message || e)}));
"""

_TRUTH_JS = """
const k = arguments[0];
const reg = viewer.get('elementRegistry'), canvas = viewer.get('canvas'), root = canvas.getRootElement();
const m = document.querySelector('#canvas svg g.viewport').getScreenCTM();
const pt = (x, y) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x * k, p.y * k]; };
const box = e => pt(e.x, e.y).concat(pt(e.x + e.width, e.y + e.height));
const rootOf = e => { while (e.parent) e = e.parent; return e; };
const textBox = gfx => {
  let b = null;
  for (const t of (gfx ? gfx.querySelectorAll('text tspan') : [])) {
    if (!t.textContent.trim()) continue;
    const r = t.getBoundingClientRect();
    b = b ? [Math.min(b[0], r.left), Math.min(b[1], r.top), Math.max(b[2], r.right), Math.max(b[3], r.bottom)]
          : [r.left, r.top, r.right, r.bottom];
  }
  return b && b.map(v => v * k);
};
const out = [];
for (const e of reg.getAll()) {
  if (e === root || e.type === 'label' || !e.businessObject || rootOf(e) !== root) continue;
  const bo = e.businessObject, t = bo.$type.replace(/^bpmn:/, '');
  const wp = e.waypoints ? e.waypoints.map(p => pt(p.x, p.y)) : null;
  const xs = wp ? wp.map(p => p[0]) : null, ys = wp ? wp.map(p => p[1]) : null;
  out.push({id: bo.id, di_id: (e.di && e.di.id) || null, type: t[0].toLowerCase() + t.slice(1),
            name: (t === 'TextAnnotation' ? bo.text : bo.name) || '',
            box: wp ? [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] : box(e),
            waypoints: wp,
            label_box: textBox(reg.getGraphics(e)) || (e.label ? textBox(reg.getGraphics(e.label)) : null),
            di_label: e.label ? box(e.label) : null});
}
return out;
"""


@dataclass
class Truth:
    """What bpmn-js drew on the PDF's page 1, in PDF points (origin top left)."""
    pdf: str
    width_pt: float
    height_pt: float
    elements: list[dict]  # {id, type, name, box, waypoints, label_box, di_id, di_label}
    xml: str = ""  # the input XML with DI in page points
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("xml")
        return json.dumps(d, ensure_ascii=False, indent=1)


def available(script: Path = VIEWER_JS) -> str | None:
    """Why rendering with the renderer's bundle ``script`` cannot run here, or ``None`` when it can."""
    if not script.exists():
        return f"{script} missing: run `npm ci` in {NODE_DIR}"
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return "needs Debian's chromium and chromium-driver"
    return None


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Debian's chromedriver (nothing downloaded), as tests/test_browser.py."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-bpmnjs-")
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def render(bpmn_xml: str, out_pdf: Path, *, theme: dict | str | None = None, driver=None) -> Truth:
    """Draw ``bpmn_xml`` with bpmn-js, print it to ``out_pdf`` (one page that holds the diagram, no margins)
    and return the truth read from bpmn-js. ``theme``: a dict like ``THEMES[...]`` or a theme name.
    ``driver``: a Selenium Chrome driver to reuse (see ``chromium()``); one is started when ``None``."""
    if driver is None:
        with chromium() as d:
            return render(bpmn_xml, out_pdf, theme=theme, driver=d)
    cfg = THEMES[theme] if isinstance(theme, str) else (theme or {})
    with tempfile.TemporaryDirectory(prefix="bpmnjs-page-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(_PAGE.format(css=cfg.get("css", ""), js=VIEWER_JS.as_uri()), encoding="utf-8")
        driver.get(page.as_uri())
        res = driver.execute_async_script(_IMPORT_JS, bpmn_xml, {k: v for k, v in cfg.items() if k != "css"},
                                          MARGIN_PX)
        if not res.get("ok"):
            raise RuntimeError(f"bpmn-js could not import the diagram: {res.get('error')}")
        elements = driver.execute_script(_TRUTH_JS, PX_TO_PT)
        out_pdf = print_pdf(driver, res["W"], res["H"], out_pdf)
    truth = Truth(pdf=str(out_pdf), width_pt=res["W"] * PX_TO_PT, height_pt=res["H"] * PX_TO_PT,
                  elements=elements, warnings=res.get("warnings", []))
    truth.xml = truth_xml(bpmn_xml, elements)
    return truth


def print_pdf(driver, width_px: float, height_px: float, out_pdf: Path) -> Path:
    """Chromium prints the page it shows to ``out_pdf``: one page of the drawing's size, no margins, backgrounds on."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    opts = PrintOptions()
    opts.page_width = width_px * 2.54 / 96  # cm
    opts.page_height = height_px * 2.54 / 96
    opts.margin_top = opts.margin_bottom = opts.margin_left = opts.margin_right = 0
    opts.background = True
    opts.shrink_to_fit = False
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    out_pdf.write_bytes(base64.b64decode(driver.print_page(opts)))
    return out_pdf


def save_truth(truth: Truth, out_dir: Path, stem: str) -> Truth:
    """``<stem>.truth.bpmn`` and ``<stem>.truth.json`` beside the render."""
    (out_dir / f"{stem}.truth.bpmn").write_text(truth.xml, encoding="utf-8")
    (out_dir / f"{stem}.truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


def truth_xml(bpmn_xml: str, elements: list[dict]) -> str:
    """The input XML with the first diagram's DI rewritten in page points: drawn shapes' bounds, edges' waypoints,
    labels' bounds (an external label's bounds, else the drawn text's box); DI of what was not drawn and other
    diagrams are dropped, so the truth is the page."""
    from lxml import etree
    root = etree.fromstring(bpmn_xml.encode() if isinstance(bpmn_xml, str) else bpmn_xml,
                            etree.XMLParser(remove_blank_text=False, huge_tree=True))
    diagrams = root.findall(f"{{{DI_NS}}}BPMNDiagram")
    for extra in diagrams[1:]:
        root.remove(extra)
    plane = diagrams[0].find(f"{{{DI_NS}}}BPMNPlane")
    by_di = {e["di_id"]: e for e in elements if e.get("di_id")}
    by_ref = {e["id"]: e for e in elements}

    def bounds(parent, box):
        b = parent.find(f"{{{DC_NS}}}Bounds")
        if b is None:
            b = etree.SubElement(parent, f"{{{DC_NS}}}Bounds")
        for key, v in zip(("x", "y", "width", "height"), (box[0], box[1], box[2] - box[0], box[3] - box[1])):
            b.set(key, f"{v:.2f}")

    for di in list(plane):
        tag = etree.QName(di).localname
        if tag not in ("BPMNShape", "BPMNEdge"):
            continue
        e = by_di.get(di.get("id")) or by_ref.get(di.get("bpmnElement"))
        if e is None or (tag == "BPMNEdge") != bool(e["waypoints"]):
            plane.remove(di)
            continue
        if tag == "BPMNShape":
            bounds(di, e["box"])
        else:
            for w in [c for c in di if etree.QName(c).localname == "waypoint"]:
                di.remove(w)
            at = next((i for i, c in enumerate(di) if etree.QName(c).localname == "BPMNLabel"), len(di))
            for i, (x, y) in enumerate(e["waypoints"]):
                w = etree.Element(f"{{{OMGDI_NS}}}waypoint", x=f"{x:.2f}", y=f"{y:.2f}")
                di.insert(at + i, w)
        lb = e.get("di_label") or e.get("label_box")
        label = di.find(f"{{{DI_NS}}}BPMNLabel")
        if lb:
            if label is None:
                label = etree.SubElement(di, f"{{{DI_NS}}}BPMNLabel")
            bounds(label, lb)
        elif label is not None:
            di.remove(label)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def render_file(src: Path, out_dir: Path, *, theme: str = "default", driver=None) -> Truth:
    """``src`` -> ``out_dir/<stem>.pdf``, ``<stem>.truth.bpmn``, ``<stem>.truth.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = render(Path(src).read_text(encoding="utf-8"), out_dir / f"{src.stem}.pdf", theme=theme, driver=driver)
    return save_truth(truth, out_dir, src.stem)


def cli_parser(doc: str) -> argparse.ArgumentParser:
    """The renderers' shared command line: ``IN.bpmn [IN2.bpmn ...] OUT_DIR`` (each adds its own options)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("inputs", type=Path, nargs="+", help="one or more .bpmn files, then the output folder")
    return ap


def cli_render(ap: argparse.ArgumentParser, args, render_file_fn, why: str | None, **options) -> int:
    """Render every input with ``render_file_fn(src, out_dir, driver=..., **options)`` in one Chromium."""
    if len(args.inputs) < 2:
        ap.error("give IN.bpmn [IN2.bpmn ...] OUT_DIR")
    *srcs, out_dir = args.inputs
    if why:
        ap.exit(2, why + "\n")
    with chromium() as driver:
        for src in srcs:
            t = render_file_fn(src, out_dir, driver=driver, **options)
            warnings = getattr(t, "warnings", None)
            print(f"{src.name}: {len(t.elements)} elements, page {t.width_pt:.0f} x {t.height_pt:.0f} pt -> {t.pdf}"
                  + (f" ({len(warnings)} import warnings)" if warnings else ""))
    return 0


def main(argv=None) -> int:
    ap = cli_parser(__doc__)
    ap.add_argument("--theme", choices=sorted(THEMES), default="default")
    args = ap.parse_args(argv)
    return cli_render(ap, args, render_file, available(), theme=args.theme)


if __name__ == "__main__":
    raise SystemExit(main())
