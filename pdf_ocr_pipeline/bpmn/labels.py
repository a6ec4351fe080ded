"""Attach words to shapes and connectors: inside tasks and pool headers, under events and gateways, on flows.

Words are ``(text, box)`` pairs in page points (from the text layer, OCR blocks or grounding).
"""

from __future__ import annotations

from pdf_ocr_pipeline.bpmn import geometry as g

Word = tuple[str, g.Box]


class OcrWord(tuple):
    """A ``(text, box)`` word that also carries the OCR engine's confidence (0-1, ``conf``; ``None``: not
    given). It unpacks and compares as the plain pair; code that rebuilds a word keeps it with ``with_text``."""

    conf: float | None

    def __new__(cls, text: str, box: g.Box, conf: float | None = None):
        self = super().__new__(cls, (text, box))
        self.conf = conf
        return self

    def __reduce__(self):
        return (OcrWord, (self[0], self[1], self.conf))


def word_conf(w) -> float | None:
    """The OCR confidence a word carries (``OcrWord``), or ``None`` (text layer, grounding, unknown)."""
    return getattr(w, "conf", None)


def with_text(w, text: str):
    """``w`` with new text, keeping its confidence if it carries one."""
    c = word_conf(w)
    return OcrWord(text, w[1], c) if c is not None else (text, w[1])
INSIDE = ("task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "scriptTask",
          "businessRuleTask", "callActivity", "textAnnotation")
BESIDE = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
          "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
          "dataObjectReference", "dataStoreReference")


def _vertical(b: g.Box) -> bool:
    return g.height(b) > 1.8 * g.width(b)


def _vertical_words(words: list[Word]) -> set[int]:
    """Indices of words written bottom to top: boxes much taller than wide, and short words ("SAP", "QA",
    "of", "a": not tall enough to tell alone) that stand in a column with one of those, the same left and
    right edges (a line's height), the gap between them under a line high."""
    vert = {i for i, w in enumerate(words) if _vertical(w[1]) and len(w[0]) > 1}
    grown = True
    while grown:
        grown = False
        for i, w in enumerate(words):
            b = w[1]
            if i in vert:
                continue
            for j in vert:
                o = words[j][1]
                wd = g.width(o)
                if abs(b[0] - o[0]) < 0.1 * wd and abs(b[2] - o[2]) < 0.1 * wd \
                        and -0.5 * wd < max(o[1] - b[3], b[1] - o[3]) < 1.5 * wd:
                    vert.add(i)
                    grown = True
                    break
    return vert


def _continues(a: list[Word], b: list[Word]) -> bool:
    """Line ``b`` continues line ``a``: its first word starts within a word height of ``a``'s last word's end,
    and the two overlap by most of the lower one's height."""
    last, first = a[-1][1], b[0][1]
    h = g.height(first)
    return (-0.5 * h < first[0] - last[2] < 1.2 * h
            and min(first[3], last[3]) - max(first[1], last[1]) > 0.8 * min(h, g.height(last)))


def lines_of(words: list[Word]) -> list[list[Word]]:
    """Group words into text lines (horizontal text left to right; vertical text bottom to top)."""
    lines: list[list[Word]] = []
    vi = _vertical_words(words)
    horiz = sorted([w for i, w in enumerate(words) if i not in vi], key=lambda w: (w[1][1], w[1][0]))
    for w in horiz:
        h = g.height(w[1])
        cy = (w[1][1] + w[1][3]) / 2
        for line in lines:
            last = line[-1][1]
            lcy = (last[1] + last[3]) / 2
            if abs(cy - lcy) < 0.5 * h and -0.5 * h < w[1][0] - last[2] < 1.2 * h:
                line.append(w)
                break
        else:
            lines.append([w])
    # OCR boxes are tight to the ink: a word of x-height letters ("задача", "шлюз": most Cyrillic lower case
    # has no ascender) starts lower than a capital or a digit left of it, so taken top to bottom it came
    # first and its left neighbour began a line of its own ("5 задача", "событие 1 Начальное"): a line that
    # continues another, its first word within the other's last word's height (one inside the other, not
    # two rows a few points apart), is joined to it
    while pair := next(((a, b) for a in lines for b in lines if b is not a and _continues(a, b)), None):
        pair[0].extend(pair[1])
        lines.remove(pair[1])
    # bottom word first, so each column's words come in reading order (left edges jitter by a point or two:
    # sorted by them, a column's upper word could come first and start a line of its own)
    vert = sorted([w for i, w in enumerate(words) if i in vi], key=lambda w: -w[1][3])
    vlines: list[list[Word]] = []
    for w in vert:
        wd = g.width(w[1])
        for line in vlines:
            last = line[-1][1]
            if abs((w[1][0] + w[1][2]) / 2 - (last[0] + last[2]) / 2) < 0.5 * wd and -0.5 * wd < last[1] - w[1][3] < 1.5 * wd:
                line.append(w)
                break
        else:
            vlines.append([w])
    return [sorted(line, key=lambda w: w[1][0]) for line in lines] + sorted(vlines, key=lambda ln: ln[0][1][0])


def blocks_of(lines: list[list[Word]]) -> list[list[list[Word]]]:
    """Group lines into blocks: lines close below each other and overlapping horizontally."""
    boxes = [g.box_of([p for w in line for p in ((w[1][0], w[1][1]), (w[1][2], w[1][3]))]) for line in lines]
    order = sorted(range(len(lines)), key=lambda i: (boxes[i][1], boxes[i][0]))
    blocks: list[list[int]] = []
    for i in order:
        b = boxes[i]
        h = g.height(b)
        for blk in blocks:
            lb = boxes[blk[-1]]
            if 0 <= b[1] - lb[3] + 0.35 * h < 0.9 * h and min(b[2], lb[2]) - max(b[0], lb[0]) > -0.5 * h \
                    and not (_vertical(b) and sum(len(w[0]) for w in lines[i]) > 2) and abs(g.height(lb) - h) < 0.4 * h:
                blk.append(i)
                break
        else:
            blocks.append([i])
    return [[lines[i] for i in blk] for blk in blocks]


def text_of(lines: list[list[Word]]) -> str:
    """Join lines with spaces; a line ending in a hyphen joins the next without one."""
    out = ""
    for line in lines:
        t = " ".join(w[0] for w in line)
        if not out:
            out = t
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha():
            out += t
        else:
            out += " " + t
    return out.strip()


def _box(lines: list[list[Word]]) -> g.Box:
    return g.box_of([p for line in lines for w in line for p in ((w[1][0], w[1][1]), (w[1][2], w[1][3]))])


#: a word lying this much inside a longer word is a second reading of its letters (OCR reads rotated text twice:
#: as the vertical word and as a few horizontal characters, "5", "2", "a", inside it; not tuned, the share
#: ``_dedupe`` already uses for a word drawn twice)
INSIDE_LONGER_WORD = 0.6


def _dedupe(words: list[Word]) -> list[Word]:
    """Drop a word drawn twice at (nearly) the same place (some tools paint text twice, e.g. as a halo), and an
    OCR word read inside a longer one."""
    out: list[Word] = []
    for w in words:
        if not any(w[0] == o[0] and g.iou(w[1], o[1]) > 0.6 for o in out):
            out.append(w)
    return [w for w in out if word_conf(w) is None or not any(
        len(o[0]) > len(w[0]) and g.intersection(w[1], o[1]) >= INSIDE_LONGER_WORD * g.area(w[1]) for o in out)]


#: how far in from its box's sides (a share of its short side) an OCR word's centre must lie to count as read
#: inside an event, gateway or data shape (not tuned: a name beside the shape has its centre outside the box, and
#: the detector's boxes are loose by a few per cent)
MARKER_INSET = 0.1


def _drop_icon_reads(words: list[Word], beside: list) -> list[Word]:
    """Drop OCR words whose centre lies well inside an event, gateway or data shape: tools write these shapes'
    names beside them, so what OCR read there is the marker ("у" for an envelope, "cococo" for a data object's
    folded corner). Text-layer words (no confidence) are kept: a marker drawn as a picture is never text."""
    inner = [g.expand(s.box, -MARKER_INSET * min(g.width(s.box), g.height(s.box))) for s in beside]
    return [w for w in words if word_conf(w) is None
            or not any(g.contains_point(b, g.center(w[1]), 0.0) for b in inner)]


def attach_labels(shapes: list, connectors: list, words: list[Word]) -> None:
    """Set ``label`` and ``label_box`` on shapes and connectors (objects with ``type``, ``box``/``points``).

    Words inside a task, an annotation or a pool/lane header belong to it. Other words form blocks; each
    block goes to the nearest event, gateway or data shape beside it, an expanded sub-process it heads, or
    the nearest connector it sits on.
    """
    beside = [s for s in shapes if s.type in BESIDE]
    words = _drop_icon_reads(_dedupe(words), beside)
    holders = [s for s in shapes if (s.type in INSIDE and not getattr(s, "expanded", False))
               or (s.type == "subProcess" and "collapsed" in s.markers)]
    heads = [s for s in shapes if s.type in ("participant", "lane") and getattr(s, "header", None)]
    # a pool that holds nothing (a black box; no lanes, no shapes) may have its name anywhere inside, as
    # tools centre it there, not in a header band
    region = {id(s): s.box if s.type == "participant" and not any(
        t is not s and g.contains_point(s.box, g.center(t.box), 0) for t in shapes) else s.header for s in heads}
    # associations (and data associations) carry no name in BPMN: words near them belong elsewhere
    connectors = [c for c in connectors if "ssociation" not in c.type]
    inside: dict[int, list[Word]] = {}
    free: list[Word] = []
    for w in words:
        c = g.center(w[1])
        cands = [s for s in holders if g.contains_point(s.box, c, 1.0)]
        cands += [s for s in heads if g.contains_point(region[id(s)], c, 1.0)]
        if cands:
            best = min(cands, key=lambda s: g.area(s.box) if s.type not in ("participant", "lane") else 0)
            inside.setdefault(id(best), []).append(w)
        else:
            free.append(w)
    for s in heads:  # a black box's name: the block nearest its centre; other words there label flows
        if region[id(s)] is s.box and s.box is not s.header and inside.get(id(s)):
            blks = blocks_of(lines_of(inside[id(s)]))
            name = min(blks, key=lambda bl: g.box_distance(_box(bl), (*g.center(s.box), *g.center(s.box))))
            keep = {id(w) for ln in name for w in ln}
            free += [w for w in inside[id(s)] if id(w) not in keep]
            inside[id(s)] = [w for w in inside[id(s)] if id(w) in keep]
    for s in holders + heads:
        ws = inside.get(id(s))
        if ws:
            lines = lines_of(ws)
            boxes = {id(ln): _box([ln]) for ln in lines}
            # rows by top edge in steps of half the median line height: one step for all lines (with each
            # line's own, OCR's shorter box of x-height words, "задача 5", sorted above a taller line); with
            # vertical text, each line's own
            own_step = any(_vertical(boxes[id(ln)]) and sum(len(w[0]) for w in ln) > 1 for ln in lines)
            hs = sorted(g.height(b) for b in boxes.values())
            unit = max(2.0, hs[len(hs) // 2] * 0.5)

            def row(ln: list[Word]) -> tuple[int, float]:
                b = boxes[id(ln)]
                return round(b[1] / (max(2.0, g.height(b) * 0.5) if own_step else unit)), b[0]

            lines.sort(key=row)
            if own_step and all(g.height(boxes[id(ln)]) > g.width(boxes[id(ln)]) for ln in lines):
                # text written bottom to top: its lines follow each other left to right
                lines.sort(key=lambda ln: boxes[id(ln)][0])
            s.label, s.label_box = text_of(lines), _box(lines)
    subs = [s for s in shapes if (s.type == "subProcess" and "collapsed" not in s.markers)
            or getattr(s, "expanded", False)]
    owned: dict[int, list] = {}
    free_lines = lines_of(free)
    for s in subs:  # an expanded sub-process's name: the first line at its top left corner
        heads_ = [ln for ln in free_lines if g.contains(s.box, _box([ln]), 1) and _box([ln])[0] - s.box[0] < 12
                  and _box([ln])[1] - s.box[1] < 1.5 * g.height(_box([ln]))]
        if heads_:
            top = min(heads_, key=lambda ln: _box([ln])[1])
            free_lines.remove(top)
            owned[id(s)] = [s, [[top]]]
    # every block's candidates scored; then nearest pairs first, one block per element: a gateway's name and
    # the label of a flow leaving it, both beside the gateway, go one to each
    blocks = blocks_of(free_lines)
    pairs = []
    for i, blk in enumerate(blocks):
        b = _box(blk)
        h = g.height(_box(blk[:1]))
        for s in beside:
            size = max(g.width(s.box), g.height(s.box))
            gap = g.box_distance(b, s.box)
            overlap = min(b[2], s.box[2]) - max(b[0], s.box[0])
            if gap < max(0.6 * size, 2.5 * h) and (overlap > 0 or gap < max(0.5 * size, 1.5 * h)):
                # (beside a small shape: within a line and a half of it)
                # tools centre a shape's label under or over it; a flow label beside a gateway is off centre
                centred = abs(g.center(b)[0] - g.center(s.box)[0]) < max(4.0, 0.12 * g.width(b))
                pairs.append((gap + (0 if overlap > 0 else 4) - (4 if centred and gap < 1.5 * h else 0), i, s))
        for s in subs:
            if g.contains(s.box, b, 2) and b[1] - s.box[1] < 3 * h and not any(
                    g.box_distance(b, t.box) < 0.5 * max(g.width(t.box), g.height(t.box)) for t in beside
                    if g.contains(s.box, t.box)):
                pairs.append((b[1] - s.box[1], i, s))
        for c in connectors:
            d = g.point_polyline_distance(g.center(b), c.points) - g.height(b) / 2
            if d < 2.5 * h:
                pairs.append((max(d, 0) + 3, i, c))
    placed: set[int] = set()
    for _, i, obj in sorted(pairs, key=lambda t: (t[0], t[1])):
        if i in placed:
            continue
        taken = owned.get(id(obj))
        if taken is None:
            owned[id(obj)] = [obj, [blocks[i]]]
            placed.add(i)
        elif g.box_distance(_box(blocks[i]), _box([ln for bl in taken[1] for ln in bl])) < \
                1.5 * g.height(_box(blocks[i][:1])):
            # just beside the block the element took: that label's other part (OCR splits a label's words and
            # lines into blocks where their boxes jitter: "Parallel" / "Gateway 2")
            taken[1].append(blocks[i])
            placed.add(i)
    orphans = _continue_labels([blk for i, blk in enumerate(blocks) if i not in placed], owned)
    _adopt(orphans, [s for s in beside if id(s) not in owned] + [c for c in connectors if id(c) not in owned], owned)
    for obj, blks in owned.values():
        lines = [ln for blk in sorted(blks, key=lambda bl: _box(bl)[1]) for ln in blk]
        obj.label, obj.label_box = text_of(lines), _box(lines)


#: a block of words beside nothing, just above or below an element's label (a gap under this many line heights)
#: and across the same columns, is more of that label: OCR boxes of lower-case words are x-height only (most
#: Cyrillic letters), so a label's lines look further apart than ``blocks_of`` joins
CONTINUATION_GAP = 1.6


def _continue_labels(orphans: list, owned: dict) -> list:
    """Join each orphan block that continues an element's label to it (nearest first); the rest stay orphans."""
    orphans = list(orphans)
    while True:
        best = None
        labels = {key: (_box([ln for bl in blks for ln in bl]), g.height(_box([blks[-1][-1]])))
                  for key, (_, blks) in owned.items()}
        for i, blk in enumerate(orphans):
            if word_conf(blk[0][0]) is None:  # a text layer's boxes are the font's full height: blocks_of is right
                continue
            b = _box(blk)
            line_h = g.height(_box(blk[:1]))
            for key, (lb, last_h) in labels.items():
                h = max(line_h, last_h)
                gap = max(b[1] - lb[3], lb[1] - b[3])
                across = min(b[2], lb[2]) - max(b[0], lb[0])
                if -0.3 * h < gap < CONTINUATION_GAP * h and across > 0.5 * min(g.width(b), g.width(lb)) and \
                        (best is None or gap < best[0]):
                    best = (gap, i, key)
        if best is None:
            return orphans
        owned[best[2]][1].append(orphans.pop(best[1]))


#: a block of words beside nothing is taken by the nearest unlabelled event, gateway, data shape or flow within
#: this many of its line heights (hdBPMN writers place flow and event labels up to 4-5 lines away, measured on
#: the train/val models drawn by bpmn-visualization; beyond that, text is a note or a title)
ORPHAN_REACH = 5.0


def _adopt(orphans: list, unlabelled: list, owned: dict) -> None:
    """Give each orphan block to an unlabelled element near it: nearest pairs first, one block per element."""
    pairs = []
    for i, blk in enumerate(orphans):
        b = _box(blk)
        h = g.height(_box(blk[:1]))
        for obj in unlabelled:
            if getattr(obj, "label", ""):
                continue
            if hasattr(obj, "points"):
                d = g.point_polyline_distance(g.center(b), obj.points) - g.height(b) / 2
            else:
                d = g.box_distance(b, obj.box)
            if d < ORPHAN_REACH * h:
                pairs.append((max(d, 0.0), i, obj))
    taken_blocks, taken_objs = set(), set()
    for d, i, obj in sorted(pairs, key=lambda t: (t[0], t[1])):
        if i in taken_blocks or id(obj) in taken_objs:
            continue
        taken_blocks.add(i)
        taken_objs.add(id(obj))
        owned[id(obj)] = [obj, [orphans[i]]]
