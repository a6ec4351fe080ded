"""Render BPMN 2.0 XML (with DI) in a sketchy, hand-drawn look in headless Chromium to a vector PDF, with its truth.

    .venv/bin/python -m bench.bpmn_corpus.render_sketchy IN.bpmn [IN2.bpmn ...] OUT_DIR [--seed N]

A third look for the corpus (issue 15), the one closest to hand-drawn diagrams: bpmn-js with bpmn.io's
``bpmn-js-sketchy`` renderer (MIT; it draws every shape and connection with rough.js, MIT, bundled in it): wobbly
double strokes, bowed edges, circles drawn twice a little off; arrow heads and markers stay bpmn-js's. On top of it
(``_LOOK_JS``, a bpmn-js module of ours): every element's strokes are seeded by rough.js's ``seed`` option from
``--seed`` and the element's id, so a render is reproducible and an element looks the same whatever else is on the
page; about a quarter of the activities, gateways and events (chosen by the same hash) get a fill drawn as
hachure, cross-hatch, zigzag or a solid wash (a pale colour, or the DI's own fill colour where the model has one);
labels are in Caveat (OFL-1.1, ``@fontsource/caveat``, Latin and Cyrillic), a handwriting font, laid out by
bpmn-js's text renderer with that font so its line breaks and the truth's label boxes stay exact.

Truth as in ``render_bpmnjs`` (whose Chromium, print, ``truth_xml`` and truth script this reuses): element-registry
bounds and waypoints through the viewport's screen CTM, each label's drawn text box; points = CSS px * 0.75. The
truth is the geometry the strokes are drawn around: a flow's or task's drawn box is within 1 pt of it, a gateway's
or event's within about 1.7 pt, a data store's within 2.5 pt (rough.js moves each stroke's ends by up to 2 px).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.bpmn_corpus import render_bpmnjs as rb
from bench.bpmn_corpus.render_bpmnjs import MARGIN_PX, NODE_DIR, PX_TO_PT, VIEWER_JS, Truth, chromium

SKETCHY_JS = NODE_DIR / "node_modules" / "bpmn-js-sketchy" / "dist" / "index.umd.prod.js"
FONT_CSS = NODE_DIR / "node_modules" / "@fontsource" / "caveat" / "400.css"
FONT = "Caveat"
#: label sizes (CSS px): Caveat draws small for its size, so larger than bpmn-js's 12 / 11 px
FONT_PX, EXTERNAL_FONT_PX = 16, 15

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{font_css}">
<style>
html, body {{ margin: 0; padding: 0; background: #fff; overflow: hidden; }}
#canvas {{ position: absolute; left: 0; top: 0; width: 1200px; height: 800px; }}
@page {{ margin: 0; }}
.djs-hit, .djs-outline, .djs-overlay-container, .bjs-powered-by {{ display: none !important; }}
.djs-label {{ font-family: '{font}' !important; }}
</style>
<script>/* seeded Math.random (mulberry32): anything rough.js draws without a seed of ours stays reproducible */
(function () {{ let s = {seed} >>> 0; Math.random = function () {{
  s = (s + 0x6D2B79F5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }}; }})();
</script>
<script src="{viewer}"></script><script src="{sketchy}"></script></head>
<body><div id="canvas"></div></body></html>"""

#: A bpmn-js module over bpmn-js-sketchy's renderer: per-element rough.js seeds and fills (see the module doc).
_LOOK_JS = """
const hash = (...parts) => {  // FNV-1a over the parts' text, 31 bits, never 0 (rough.js reads 0 as "unseeded")
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) { h ^= ch.charCodeAt(0); h = Math.imul(h, 0x01000193) >>> 0; }
  return (h & 0x7fffffff) || 1;
};
const FILLS = ['#fde68a', '#bfdbfe', '#bbf7d0', '#fecaca', '#e9d5ff', '#fed7aa'];
const STYLES = ['hachure', 'hachure', 'cross-hatch', 'zigzag', 'solid'];
const FILLED = ['bpmn:Activity', 'bpmn:Gateway', 'bpmn:Event'];
function SketchyLook(bpmnRenderer, styles) {
  const seed = window.SKETCH_SEED, fillShare = window.SKETCH_FILL_SHARE, roughness = window.SKETCH_ROUGHNESS;
  let cur = null, calls = 0;
  const wrap = name => {
    const orig = bpmnRenderer[name].bind(bpmnRenderer);
    bpmnRenderer[name] = (gfx, element, attrs) => {
      const prev = cur, prevCalls = calls;
      cur = element; calls = 0;
      try { return orig(gfx, element, attrs); } finally { cur = prev; calls = prevCalls; }
    };
  };
  wrap('drawShape'); wrap('drawConnection');
  const compute = styles.computeStyle.bind(styles);
  styles.computeStyle = (custom, traits, defaults) => {
    const out = compute(custom, traits, defaults);
    if (!cur) return out;
    const id = cur.id, n = calls++;
    out.seed = hash(seed, id, n);
    if (roughness !== 1) out.roughness = (out.roughness === undefined ? 1 : out.roughness) * roughness;
    const bo = cur.businessObject;
    if (n === 0 && out.fill && out.fill !== 'none' && bo && FILLED.some(t => bo.$instanceOf(t))
        && hash(seed, id, 'fill') % 1000 < fillShare * 1000) {
      const h = hash(seed, id, 'style');
      if (/^(white|#fff|#ffffff)$/i.test(out.fill)) out.fill = FILLS[h % FILLS.length];  // a DI colour stays
      out.fillStyle = STYLES[(h >>> 4) % STYLES.length];
      out.fillOpacity = 1;
      out.hachureAngle = -41 + (h >>> 8) % 30 - 15;
      out.hachureGap = 5 + (h >>> 12) % 4;
      out.fillWeight = 1;
    }
    return out;
  };
}
SketchyLook.$inject = ['bpmnRenderer', 'styles'];
window.SketchyLookModule = {__init__: ['sketchyLook'], sketchyLook: ['type', SketchyLook]};
"""

_IMPORT_JS = """
const [xml, cfg, margin, done] = arguments;
window.SKETCH_SEED = cfg.seed; window.SKETCH_FILL_SHARE = cfg.fillShare; window.SKETCH_ROUGHNESS = cfg.roughness;
Promise.all([document.fonts.load(cfg.fontPx + "px '" + cfg.font + "'", 'Aa'),
             document.fonts.load(cfg.fontPx + "px '" + cfg.font + "'", 'Жж')]).then(() => {
  const viewer = new BpmnJS({container: '#canvas', additionalModules: [BpmnJSSketchy, window.SketchyLookModule],
                             bpmnRenderer: {defaultStrokeColor: cfg.pen},
                             textRenderer: {defaultStyle: {fontFamily: cfg.font, fontSize: cfg.fontPx},
                                            externalStyle: {fontSize: cfg.externalFontPx}}});
  window.viewer = viewer;
  return viewer.importXML(xml);
}).then(r => {
  const canvas = viewer.get('canvas');
  const inner = canvas.viewbox().inner;
  const W = Math.ceil(inner.width + 2 * margin), H = Math.ceil(inner.height + 2 * margin);
  const c = document.getElementById('canvas');
  c.style.width = W + 'px'; c.style.height = H + 'px';
  canvas.resized();
  canvas.viewbox({x: inner.x - margin, y: inner.y - margin, width: W, height: H});  // scale 1: CSS px = DI units
  const font = cfg.fontPx + "px '" + cfg.font + "'";
  document.fonts.ready.then(() => done({ok: true, W, H, fonts: document.fonts.check(font),
                                        warnings: (r.warnings || []).map(w => String(w.message))}));
}).catch(e => done({ok: false, error: String(e && e.message || e)}));
"""


def available() -> str | None:
    """Why rendering cannot run here, or ``None`` when it can."""
    for need in (SKETCHY_JS, FONT_CSS):
        if not need.exists():
            return f"{need} missing: run `npm ci` in {NODE_DIR}"
    return rb.available(VIEWER_JS)


def render(bpmn_xml: str, out_pdf: Path, *, seed: int = 1, fill_share: float = 0.25, roughness: float = 1.0,
           pen: str = "#1a1a1a", driver=None) -> Truth:
    """Draw ``bpmn_xml`` in the sketchy look, print it to ``out_pdf`` (one page, no margins) and return the truth
    read from bpmn-js. ``seed``: every stroke's randomness (same seed, same page); ``fill_share``: the share of
    activities, gateways and events given a pale hachure / solid fill; ``roughness``: a factor on
    bpmn-js-sketchy's rough.js roughness (1: its own look; the drawing strays further from the truth's geometry
    as it grows); ``pen``: the stroke and text colour.
    ``driver``: a Selenium Chrome driver to reuse (``render_bpmnjs.chromium()``)."""
    if driver is None:
        with chromium() as d:
            return render(bpmn_xml, out_pdf, seed=seed, fill_share=fill_share, roughness=roughness, pen=pen,
                          driver=d)
    with tempfile.TemporaryDirectory(prefix="sketchy-page-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(_PAGE.format(font_css=FONT_CSS.as_uri(), font=FONT, seed=int(seed) & 0x7FFFFFFF,
                                     viewer=VIEWER_JS.as_uri(), sketchy=SKETCHY_JS.as_uri()), encoding="utf-8")
        driver.get(page.as_uri())
        driver.execute_script(_LOOK_JS)
        cfg = {"seed": int(seed), "fillShare": float(fill_share), "roughness": float(roughness), "pen": pen,
               "font": FONT, "fontPx": FONT_PX, "externalFontPx": EXTERNAL_FONT_PX}
        res = driver.execute_async_script(_IMPORT_JS, bpmn_xml, cfg, MARGIN_PX)
        if not res.get("ok"):
            raise RuntimeError(f"bpmn-js (sketchy) could not import the diagram: {res.get('error')}")
        if not res.get("fonts"):
            raise RuntimeError(f"the {FONT} font did not load from {FONT_CSS}")
        elements = driver.execute_script(rb._TRUTH_JS, PX_TO_PT)
        out_pdf = rb.print_pdf(driver, res["W"], res["H"], out_pdf)
    truth = Truth(pdf=str(out_pdf), width_pt=res["W"] * PX_TO_PT, height_pt=res["H"] * PX_TO_PT,
                  elements=elements, warnings=res.get("warnings", []))
    truth.xml = rb.truth_xml(bpmn_xml, elements)
    return truth


def render_file(src: Path, out_dir: Path, *, theme: str = "default", seed: int = 1, roughness: float = 1.0,
                driver=None) -> Truth:
    """``src`` -> ``out_dir/<stem>.pdf``, ``<stem>.truth.bpmn``, ``<stem>.truth.json`` (``theme``: only
    ``default``, accepted for the same call shape as ``render_bpmnjs.render_file``)."""
    if theme != "default":
        raise ValueError("the sketchy renderer has one look (vary it with seed)")
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = render(Path(src).read_text(encoding="utf-8"), out_dir / f"{src.stem}.pdf", seed=seed,
                   roughness=roughness, driver=driver)
    return rb.save_truth(truth, out_dir, src.stem)


def main(argv=None) -> int:
    ap = rb.cli_parser(__doc__)
    ap.add_argument("--seed", type=int, default=1, help="rough.js seed (same seed, same drawing)")
    ap.add_argument("--roughness", type=float, default=1.0, help="factor on bpmn-js-sketchy's roughness")
    args = ap.parse_args(argv)
    return rb.cli_render(ap, args, render_file, available(), seed=args.seed, roughness=args.roughness)


if __name__ == "__main__":
    raise SystemExit(main())
