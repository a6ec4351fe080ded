"""Detections (in a picture's pixels) and words (page points) -> a ``BpmnDiagram`` in page points.

Shapes keep their class and box; each flow's tail and head are tied to the shape whose outline lies nearest
(among the kinds that flow may join: ``ENDS``), within ``END_REACH_SHARE`` of the diagram's typical shape size.
Parents, boundary events, labels and ids are the rule-based path's own (``recognise.structure.nest``,
``recognise.build.assemble``). Where the rule-based search read the same picture (``rules_agree``), its lanes are
taken, and its pools replace the detector's they lie on or join where the detector has none (``RULES_KEEP``,
``RULES_MATCHED``).
"""

from __future__ import annotations

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.raster.detector.decode import Detection
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, eval_class
from pdf_ocr_pipeline.bpmn.recognise.build import assemble
from pdf_ocr_pipeline.bpmn.recognise.connectors import Connector
from pdf_ocr_pipeline.bpmn.recognise.shapes import Shape
from pdf_ocr_pipeline.bpmn.recognise.structure import header_cut_off, nest

#: detector class -> BPMN element type (``eval_class`` maps each back to the class)
TYPE_OF = {"intermediateEvent": "intermediateCatchEvent", "dataObject": "dataObjectReference",
           "dataStore": "dataStoreReference"}
_ACTIVITY = ("task", "subProcess", "callActivity")
_EVENT = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
_GATEWAY = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway")
_DATA = ("dataObjectReference", "dataStoreReference")
#: the shapes each flow kind may start or end on (BPMN 2.0: sequence flows inside a process, message flows
#: between pools or what they hold, associations to artifacts and data)
ENDS = {
    "sequenceFlow": _ACTIVITY + _EVENT + _GATEWAY,
    "messageFlow": _ACTIVITY + _EVENT + ("participant",),
    "association": _ACTIVITY + _EVENT + _GATEWAY + _DATA + ("textAnnotation",),
}
#: a flow end further than this share of the diagram's typical shape size (the median short side of its tasks,
#: events and gateways) from every allowed shape's outline joins nothing, and the flow is dropped (a flow in BPMN
#: XML needs both ends). Relative, not in points: a photo's "points" are its pixels. A sketch's arrows stop short
#: of their shapes by up to half a shape; a detected end lies within a few points of the true one on renders
END_REACH_SHARE = 0.5


#: what the rule-based search still reads better than the detector on rendered pictures, taken from it where it
#: read the same picture (``rules_agree``); chosen on the trained renderers' 30 validation pages (BENCHMARKS.md,
#: "BPMN detector", fourth pass). Its lanes replace the detector's (lanes F1 0.50 against 0.36).
RULES_KEEP = ("lane",)
#: Pools: the detector's, fitted to their lines (``containers``), are found more often (0.83 against 0.72; the rules
#: read some pools as their header strip), but a rules' pool lying on the detector's (IoU >= 0.5) is exact and
#: named by its header, so it replaces it; a rules' pool overlapping no detector's pool by ``RULES_ALONE_OVERLAP``
#: of the smaller (0.3, not tuned) joins (a header strip lies inside the detector's pool and does not). Shapes /
#: flows / labels on those pages 0.969 / 0.882 / 0.569, against 0.956 / 0.872 / 0.571 with the rules' pools, lanes
#: and message flows, as before; the rules' message flows added to the detector's now cost (0.42 against 0.53), so
#: none are.
RULES_MATCHED = ("participant",)
RULES_ALONE_OVERLAP = 0.3
#: the rules read the same picture when at least this share of the detector's flow nodes has a rules' shape of its
#: class on it (box IoU >= 0.5). On photos of sketches they read almost nothing (shapes F1 0.007 on hdBPMN's test
#: writers), and what they call pools there is noise: there the detector's own pools and lanes stay
RULES_AGREEMENT = 0.5


def _shape_type(cls: str) -> str:
    return TYPE_OF.get(cls, cls)


def typical_size(shapes: list[Shape]) -> float:
    """The median short side of the diagram's nodes (not pools, lanes or annotations); 40 when there are none."""
    sides = sorted(min(g.width(s.box), g.height(s.box)) for s in shapes
                   if s.type not in ("participant", "lane", "textAnnotation"))
    return sides[len(sides) // 2] if sides else 40.0


def nearest_shape(p: g.Point, shapes: list[Shape], kinds: tuple[str, ...], reach: float,
                  exclude: Shape | None = None) -> Shape | None:
    """The shape of one of ``kinds`` whose outline is nearest to ``p`` (a point inside a small shape is on
    it); ``None`` beyond ``reach``. Pools count by their outline only (a flow ending inside a pool ends on
    what the pool holds)."""
    best, best_d = None, reach
    for s in shapes:
        if s is exclude or s.type not in kinds:
            continue
        d = g.point_box_border_distance(p, s.box)
        if s.type != "participant" and g.contains_point(s.box, p):
            d = 0.0 if min(g.width(s.box), g.height(s.box)) < 3 * reach else d
        if d < best_d or (d == best_d == 0.0 and best is not None and g.area(s.box) < g.area(best.box)):
            best, best_d = s, d
    return best


def _rules_twin(shape: Shape, rules: BpmnDiagram) -> Shape:
    """The rules' shape of this type on the detector's (box IoU >= 0.5), else the detector's."""
    twin = max((e for e in rules.shapes if e.type == shape.type), key=lambda e: g.iou(e.box, shape.box), default=None)
    if twin is None or g.iou(twin.box, shape.box) < 0.5:
        return shape
    box = twin.box
    for e in rules.shapes:  # the rules' header strip beside it: the pool's own (some tools draw the two apart)
        if e.type == twin.type and e is not twin and _header_strip_of(e.box, box):
            box = g.box_of([box[:2], box[2:], e.box[:2], e.box[2:]])
    return Shape(twin.type, box, confidence=twin.confidence)


def _header_strip_of(strip: g.Box, body: g.Box) -> bool:
    """``strip`` is ``body``'s header band: the two together are a whole that ``body`` is less a band
    (``structure.header_cut_off``), and ``strip`` fills the rest."""
    whole = g.box_of([strip[:2], strip[2:], body[:2], body[2:]])
    return header_cut_off(body, whole) and g.area(strip) + g.area(body) >= STRIP_FILLS * g.area(whole)


#: how much of the pool (strip and body together) the two must cover between them: the rules' outlines meet within
#: a point or two (not tuned)
STRIP_FILLS = 0.97


def rules_agree(shapes: list[Shape], rules: BpmnDiagram) -> bool:
    """Whether the rule-based search read the picture the detector read (``RULES_AGREEMENT``)."""
    nodes = [s for s in shapes if s.type in _ACTIVITY + _EVENT + _GATEWAY]
    if not nodes:
        return False
    found = sum(any(eval_class(e.type) == eval_class(s.type) and g.iou(e.box, s.box) >= 0.5 for e in rules.shapes)
                for s in nodes)
    return found >= RULES_AGREEMENT * len(nodes)


def diagram_from_detections(dets: list[Detection], words: list[Word], *, pt_per_px: float,
                            origin: g.Point = (0.0, 0.0), page_no: int, width: float, height: float,
                            method: str = "detector", rules: BpmnDiagram | None = None) -> BpmnDiagram:
    """The diagram of one picture: ``pt_per_px`` and ``origin`` (the picture's top left, page points) map the
    detections' pixels to the page; words are in page points already.

    ``rules``: the rule-based search's diagram of the same picture (page points). Where it read the picture as the
    detector did (``rules_agree``), its lanes replace the detector's (``RULES_KEEP``), and its pools replace the
    detector's they lie on and join where the detector has none there (``RULES_MATCHED``): there the rules
    measured better (BENCHMARKS.md, "BPMN detector", fourth pass).
    """
    ox, oy = origin

    def pt(x: float, y: float) -> g.Point:
        return ox + x * pt_per_px, oy + y * pt_per_px

    shapes = []
    for d in dets:
        if not d.is_flow:
            (x0, y0), (x1, y1) = pt(*d.box[:2]), pt(*d.box[2:])
            shapes.append(Shape(_shape_type(d.cls), (x0, y0, x1, y1), confidence=round(d.score, 3)))
    if rules is not None and not rules_agree(shapes, rules):
        rules = None
    if rules is not None:
        shapes = [s for s in shapes if s.type not in RULES_KEEP]
        shapes = [Shape(e.type, e.box, confidence=e.confidence) for e in rules.shapes if e.type in RULES_KEEP] + shapes
        # "where the detector has none" is judged against the detector's own pools: a rules' pool that replaced
        # one may be its body alone, and the header strip beside it still lies inside the detector's
        detected = [s for s in shapes if s.type in RULES_MATCHED]
        shapes = [_rules_twin(s, rules) if s.type in RULES_MATCHED else s for s in shapes]
        shapes += [Shape(e.type, e.box, confidence=e.confidence) for e in rules.shapes if e.type in RULES_MATCHED
                   and not any(s.type == e.type and g.overlap_of_smaller(s.box, e.box) > RULES_ALONE_OVERLAP
                               for s in shapes + detected)]
    nest(shapes)
    reach = END_REACH_SHARE * typical_size(shapes)
    connectors, seen = [], set()
    for d in sorted((d for d in dets if d.is_flow), key=lambda d: -d.score):
        tail, head = pt(*d.tail), pt(*d.head)
        src = nearest_shape(tail, shapes, ENDS[d.cls], reach)
        dst = nearest_shape(head, shapes, ENDS[d.cls], reach, exclude=src)
        if src is None or dst is None or (d.cls, id(src), id(dst)) in seen:
            continue
        seen.add((d.cls, id(src), id(dst)))
        connectors.append(Connector(d.cls, [tail, head], source=src, target=dst, confidence=round(d.score, 3)))
    return assemble(shapes, connectors, words, page_no=page_no, width=width, height=height, method=method)
