"""Variants of a rendered corpus page and the same transform applied to its truth (issue 15).

A vector render (``render_*.render``: a one-page PDF, ``.truth.bpmn`` and ``.truth.json`` in page points) becomes:

- ``scan``: the page rasterised in grey at a seeded 100-300 dpi (``DPI_RANGE``; a fixed dpi when given), rotated by
  a seeded angle in [-2, 2] degrees (``MAX_ANGLE``) about the page centre on a canvas grown to hold the whole
  rotated page (white corners), then scan noise (``degrade``: blur, ink/paper levels, uneven illumination, sensor
  noise, specks) and JPEG q 60-85, as an image-only page whose size is the canvas in points;
- ``pasted``: the page rasterised in colour at a seeded 150-300 dpi (``PASTE_DPI``), half of them with light scan
  noise (``degrade(light=True)``, JPEG q 80-92; the others PNG), placed on an A4 page of Russian body text
  (``pasted_diagrams.text_page``: a heading, paragraphs above and/or below, the picture centred or at the left margin, a caption
  "Рисунок N — Схема процесса ..."; the layout rules and the body text of ``bench/pasted_diagrams.py``);
  the body text is a real text layer, the diagram only pixels;
- ``ru`` (a language, crossed with every variant): the model's labels translated before rendering
  (``translate_xml``), so the renderer lays out the Russian text and its truth holds the Russian labels.

Truth transform rules (``Affine``: ``x' = a x + b y + c``, ``y' = d x + e y + f`` in page points):

- waypoints: mapped exactly;
- a box (shape bounds, label bounds, ``.truth.json`` ``box`` / ``label_box`` / ``di_label``) under a rotation: the
  axis-aligned box of its four corners rotated about the shape's centre, placed at the mapped centre, i.e. the
  centre maps exactly and the size becomes ``w|cos| + h|sin|`` by ``w|sin| + h|cos|`` (``map_box``); events
  (circles, rotation invariant) keep their size (``keep_size``); a rotated shape's ``.truth.json`` entry also
  has ``quad``, its four corners mapped exactly. Under a scale and shift (pasting) boxes map exactly. A flow's
  ``.truth.json`` ``box`` is the extent of its mapped waypoints;
- the rotation pixel grid: pixel centres lie at ``(i + 0.5) / s`` pt (``s = dpi / 72``), the canvas is a whole
  number of pixels and the page exactly that many points, so the image and the truth agree to the interpolation.
"""

from __future__ import annotations

import copy
import math
import random
import re
from pathlib import Path

Affine = tuple  # (a, b, c, d, e, f)

DPI_RANGE = (100, 300)
MAX_ANGLE = 2.0
PASTE_DPI = (150, 300)
MAX_PIXELS = 40_000_000
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


# ---------------------------------------------------------------- affine maps and the truth (pure)

def rotation(angle_deg: float, size: tuple[float, float], dpi: float | None = None) -> tuple[Affine, tuple]:
    """The map of a page of ``size`` (points) rotated by ``angle_deg`` (clockwise as seen: y points down) about its
    centre onto a canvas that holds the whole rotated page, and that canvas's size. With ``dpi`` the canvas is a
    whole number of pixels at ``dpi`` (its size in points is then ``pixels * 72 / dpi``)."""
    w, h = size
    t = math.radians(angle_deg)
    co, si = math.cos(t), math.sin(t)
    nw, nh = w * abs(co) + h * abs(si), w * abs(si) + h * abs(co)
    if dpi:
        s = dpi / 72.0
        nw, nh = math.ceil(nw * s - 1e-6) / s, math.ceil(nh * s - 1e-6) / s
    cx, cy, ncx, ncy = w / 2, h / 2, nw / 2, nh / 2
    # p' = R (p - c) + c'
    return (co, -si, ncx - co * cx + si * cy, si, co, ncy - si * cx - co * cy), (nw, nh)


def scale_shift(k: float, tx: float, ty: float) -> Affine:
    """``x' = k x + tx``, ``y' = k y + ty`` (a picture of the page pasted at ``(tx, ty)``, ``k`` points per point)."""
    return (k, 0.0, tx, 0.0, k, ty)


def compose(m2: Affine, m1: Affine) -> Affine:
    """``m2`` after ``m1``."""
    a2, b2, c2, d2, e2, f2 = m2
    a1, b1, c1, d1, e1, f1 = m1
    return (a2 * a1 + b2 * d1, a2 * b1 + b2 * e1, a2 * c1 + b2 * f1 + c2,
            d2 * a1 + e2 * d1, d2 * b1 + e2 * e1, d2 * c1 + e2 * f1 + f2)


def map_point(m: Affine, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]


def map_box(m: Affine, box, keep_size: bool = False) -> tuple[float, float, float, float]:
    """``box`` (x0, y0, x1, y1) under ``m``: centre mapped exactly; the axis-aligned box of the corners turned
    about that centre (``|a| w + |b| h`` by ``|d| w + |e| h``), or the same size with ``keep_size``."""
    x0, y0, x1, y1 = box
    cx, cy = map_point(m, (x0 + x1) / 2, (y0 + y1) / 2)
    w, h = x1 - x0, y1 - y0
    if keep_size:
        k = math.sqrt(abs(m[0] * m[4] - m[1] * m[3]))  # a rotation with a uniform scale: the scale
        nw, nh = w * k, h * k
    else:
        nw, nh = abs(m[0]) * w + abs(m[1]) * h, abs(m[3]) * w + abs(m[4]) * h
    return cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2


def _is_round(type_name: str) -> bool:
    return type_name.endswith("Event")


def transform_truth_xml(xml: str, m: Affine) -> str:
    """The truth ``.bpmn`` (DI in page points) under ``m``: every ``BPMNShape`` / ``BPMNLabel`` bounds by
    ``map_box`` (events keep their size), every waypoint by ``map_point``."""
    from lxml import etree
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                            etree.XMLParser(remove_blank_text=False, huge_tree=True))
    types = {el.get("id"): etree.QName(el).localname for el in root.iter()
             if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace == MODEL_NS}
    for di in root.iter(f"{{{DI_NS}}}BPMNShape", f"{{{DI_NS}}}BPMNEdge"):
        shape = etree.QName(di).localname == "BPMNShape"
        for el in di.iter(f"{{{DC_NS}}}Bounds", "{http://www.omg.org/spec/DD/20100524/DI}waypoint"):
            x, y = float(el.get("x")), float(el.get("y"))
            if etree.QName(el).localname == "waypoint":
                nx, ny = map_point(m, x, y)
                el.set("x", f"{nx:.3f}")
                el.set("y", f"{ny:.3f}")
                continue
            is_label = etree.QName(el.getparent()).localname == "BPMNLabel"
            keep = shape and not is_label and _is_round(types.get(di.get("bpmnElement"), ""))
            b = map_box(m, (x, y, x + float(el.get("width")), y + float(el.get("height"))), keep)
            for key, v in zip(("x", "y", "width", "height"), (b[0], b[1], b[2] - b[0], b[3] - b[1])):
                el.set(key, f"{v:.3f}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def transform_truth_json(d: dict, m: Affine, size: tuple[float, float]) -> dict:
    """The ``.truth.json`` dict under ``m`` on a page of ``size``: waypoints exactly, a flow's ``box`` their
    extent, shape and label boxes by ``map_box`` (events keep their size); under a rotation each shape also gets
    ``quad``, its box's four corners mapped exactly (top left, top right, bottom right, bottom left)."""
    out = copy.deepcopy(d)
    out["width_pt"], out["height_pt"] = size
    for e in out["elements"]:
        if e.get("waypoints"):
            e["waypoints"] = [list(map_point(m, *p)) for p in e["waypoints"]]
            xs, ys = [p[0] for p in e["waypoints"]], [p[1] for p in e["waypoints"]]
            e["box"] = [min(xs), min(ys), max(xs), max(ys)]
        elif e.get("box"):
            x0, y0, x1, y1 = e["box"]
            if m[1] or m[3]:  # rotated: also the exact outline (corners clockwise from the top left)
                e["quad"] = [list(map_point(m, x, y)) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            e["box"] = list(map_box(m, e["box"], _is_round(e.get("type", ""))))
        for k in ("label_box", "di_label"):
            if e.get(k):
                e[k] = list(map_box(m, e[k]))
    return out


def map_words(words, m: Affine) -> list:
    """Word blocks (``.text``, ``.x0`` ... ``.y1``) under ``m`` (boxes by ``map_box``)."""
    from types import SimpleNamespace
    out = []
    for w in words:
        b = map_box(m, (w.x0, w.y0, w.x1, w.y1))
        out.append(SimpleNamespace(text=w.text, x0=b[0], y0=b[1], x1=b[2], y1=b[3]))
    return out


# ---------------------------------------------------------------- pixels

def raster(page, dpi: float, grey: bool = True):
    """``page`` at ``dpi`` as a uint8 array (grey, or RGB)."""
    import numpy as np
    import pymupdf
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY if grey else pymupdf.csRGB, alpha=False)
    shape = (pix.height, pix.width) if grey else (pix.height, pix.width, 3)
    return np.frombuffer(pix.samples, np.uint8).reshape(shape).copy()


def rotate_image(img, m: Affine, dpi: float, size_pt: tuple[float, float]):
    """``img`` (pixels of a page at ``dpi``) under ``m`` (points) onto a canvas of ``size_pt``; white outside.
    Pixel centres at ``(i + 0.5) / s`` pt: ``M_px = R (p + 0.5) + s t - 0.5``."""
    import cv2
    import numpy as np
    s = dpi / 72.0
    a, b, c, d, e, f = m
    mx = np.array([[a, b, a * 0.5 + b * 0.5 + s * c - 0.5], [d, e, d * 0.5 + e * 0.5 + s * f - 0.5]], np.float64)
    wpx, hpx = int(round(size_pt[0] * s)), int(round(size_pt[1] * s))
    border = 255 if img.ndim == 2 else (255, 255, 255)
    return cv2.warpAffine(img, mx, (wpx, hpx), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def degrade(img, rng, light: bool = False):
    """Scan noise on a uint8 image (grey or RGB), amounts drawn from ``rng`` (numpy Generator): Gaussian blur,
    ink not quite black and paper not quite white, uneven illumination (a smooth ramp), sensor noise, specks.
    ``light``: a pasted picture that went through a scanner or a screenshot once (less of each, no specks)."""
    import cv2
    import numpy as np
    x = img.astype(np.float32)
    h, w = x.shape[:2]
    sigma = rng.uniform(0.3, 0.6) if light else rng.uniform(0.4, 0.9)
    x = cv2.GaussianBlur(x, (3, 3), sigma)
    lo, hi = (rng.uniform(0, 20), rng.uniform(240, 255)) if light else (rng.uniform(0, 45), rng.uniform(225, 255))
    x = lo + x * (hi - lo) / 255.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * xx / max(w, 1) + np.sin(ang) * yy / max(h, 1))
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    ramp = 1.0 - rng.uniform(0.0, 0.1 if light else 0.28) * ramp
    x = x * (ramp[..., None] if x.ndim == 3 else ramp)
    x = x + rng.normal(0, rng.uniform(2, 5) if light else rng.uniform(6, 14), x.shape)
    if not light:
        x[rng.random((h, w)) < 0.002] = 0  # salt and pepper specks
    return np.clip(x, 0, 255).astype(np.uint8)


def encode(img, quality: int | None) -> bytes:
    """JPEG at ``quality``, or PNG for ``None``."""
    import cv2
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)]) if quality else \
        cv2.imencode(".png", img)
    return buf.tobytes()


def _capped_dpi(size_pt, dpi: float) -> float:
    return min(dpi, math.sqrt(MAX_PIXELS / max(size_pt[0] * size_pt[1] / 72.0 ** 2, 1e-6)))


def make_scan(vector_pdf: Path, out_pdf: Path, seed: int, dpi: int | None = None,
              max_angle: float = MAX_ANGLE) -> tuple[Affine, tuple, dict]:
    """Write the scan of ``vector_pdf``'s page 1 to ``out_pdf`` (image only). Returns the map of page points to
    the scan's page points, the scan page's size and what was drawn (``dpi``, ``angle``, ``jpeg``)."""
    import numpy as np
    import pymupdf
    rng = np.random.default_rng(seed)
    drawn_dpi = int(rng.integers(DPI_RANGE[0], DPI_RANGE[1] + 1))
    angle = float(rng.uniform(-max_angle, max_angle))
    with pymupdf.open(vector_pdf) as src:
        page = src[0]
        size = (page.rect.width, page.rect.height)
        use_dpi = round(_capped_dpi(size, dpi or drawn_dpi))
        img = raster(page, use_dpi)
    m, new_size = rotation(angle, size, use_dpi)
    img = rotate_image(img, m, use_dpi, new_size)
    img = degrade(img, rng)
    q = int(rng.integers(60, 86))
    jpg = encode(img, q)
    doc = pymupdf.open()
    p = doc.new_page(width=new_size[0], height=new_size[1])
    p.insert_image(p.rect, stream=jpg)
    _save(doc, out_pdf)
    return m, new_size, {"dpi": use_dpi, "angle": round(angle, 4), "jpeg": q}


def _save(doc, out_pdf: Path) -> None:
    out_pdf = Path(out_pdf)
    tmp = out_pdf.with_suffix(".tmp.pdf")
    try:
        doc.subset_fonts()  # a text page embeds only the glyphs it uses (DejaVu whole: 0.7 MB)
    except Exception:  # noqa: BLE001 - an older PyMuPDF: the whole fonts
        pass
    doc.save(tmp, garbage=3, deflate=True)
    doc.close()
    tmp.replace(out_pdf)


# ---------------------------------------------------------------- the picture pasted into a text page

def make_pasted(vector_pdf: Path, out_pdf: Path, seed: int, testdata: Path | None = None,
                dpi: int | None = None) -> tuple[Affine, tuple, dict]:
    """Write ``vector_pdf``'s page 1 as a picture (seeded ``PASTE_DPI``, half with light noise) pasted into a
    Russian text page (``pasted_diagrams.text_page``) to ``out_pdf``. Returns the map of vector page points to the text page's
    points (``scale_shift``), the text page's size and what was drawn."""
    import numpy as np
    import pymupdf
    nrng = np.random.default_rng(seed)
    rng = random.Random(seed)
    drawn_dpi = int(nrng.integers(PASTE_DPI[0], PASTE_DPI[1] + 1))
    noisy = bool(nrng.random() < 0.5)
    with pymupdf.open(vector_pdf) as src:
        page = src[0]
        size = (page.rect.width, page.rect.height)
        use_dpi = round(_capped_dpi(size, dpi or drawn_dpi))
        img = raster(page, use_dpi, grey=False)
    q = None
    if noisy:
        img = degrade(img, nrng, light=True)
        q = int(nrng.integers(80, 93))
    pic = encode(img, q)
    # the pixels cover img.shape * 72 / dpi points of the vector page (MuPDF rounds the pixel count)
    natural = (img.shape[1] * 72.0 / use_dpi, img.shape[0] * 72.0 / use_dpi)
    from bench.pasted_diagrams import text_page
    doc, rect, info = text_page(pic, natural, rng, testdata)
    k = (rect[2] - rect[0]) / natural[0]
    m = scale_shift(k, rect[0], rect[1])
    page_size = (doc[0].rect.width, doc[0].rect.height)
    _save(doc, out_pdf)
    info.update({"dpi": use_dpi, "noise": noisy, "jpeg": q, "scale": k})
    return m, page_size, info


# ---------------------------------------------------------------- Russian labels

#: English word (lower case) -> Russian, for the vocabulary of hdBPMN's exercises (the ~300 most frequent words;
#: the rest is transliterated). Full labels are looked up first in ``bench/bpmn_russian_glossary.json``.
WORDS = {
    "order": "заказ", "orders": "заказы", "claim": "претензия", "claims": "претензии", "received": "получено",
    "recieved": "получено", "recived": "получено", "receive": "получить", "recieve": "получить",
    "receiving": "получение", "receives": "получает", "send": "отправить", "sent": "отправлено",
    "sends": "отправляет", "sending": "отправка", "sended": "отправлено", "offer": "предложение", "to": "в",
    "request": "запрос", "requests": "запросы", "requested": "запрошено", "students": "студенты",
    "student": "студент", "of": "из", "forms": "формы", "form": "форма", "formulars": "формуляры", "check": "проверить",
    "checked": "проверено", "checks": "проверки", "not": "не", "application": "заявление",
    "applications": "заявления", "applicant": "заявитель", "list": "список", "lists": "списки", "by": "по",
    "risk": "риск", "customer": "клиент", "costumer": "клиент", "client": "клиент", "process": "процесс",
    "prozess": "процесс", "officer": "сотрудник", "for": "для", "the": "", "a": "", "an": "",
    "expert": "эксперт", "experts": "эксперты", "expertise": "экспертиза", "course": "курс", "courses": "курсы",
    "out": "вне", "rejected": "отклонено", "recommendation": "рекомендация", "recomendation": "рекомендация",
    "reccomendation": "рекомендация", "recommandation": "рекомендация", "recommedation": "рекомендация",
    "change": "изменить", "changes": "изменения", "changed": "изменено", "create": "создать",
    "created": "создано", "ok": "ок", "okay": "ок", "note": "заметка", "simple": "простой", "write": "написать",
    "written": "написано", "register": "зарегистрировать", "registered": "зарегистрировано",
    "registration": "регистрация", "claimant": "заявитель", "claiment": "заявитель",
    "description": "описание", "descriptions": "описания", "describtion": "описание", "review": "рассмотреть",
    "bank": "банк", "confirmation": "подтверждение", "system": "система", "in": "в", "update": "обновить",
    "updated": "обновлено", "assessment": "оценка", "assesment": "оценка", "assasment": "оценка",
    "cheque": "чек", "new": "новый", "start": "начало", "started": "начато", "starts": "начинается",
    "insurer": "страховщик", "settlement": "урегулирование", "settelment": "урегулирование",
    "insurance": "страхование", "insurence": "страхование", "insured": "застрахованный", "phone": "телефон",
    "evaluate": "оценить", "evaluated": "оценено", "evaluation": "оценка", "senior": "старший",
    "notify": "уведомить", "notified": "уведомлён", "notification": "уведомление", "is": "", "before": "до",
    "befor": "до", "confirm": "подтвердить", "confirmed": "подтверждено", "complex": "сложный", "file": "файл",
    "files": "файлы", "website": "сайт", "web": "веб", "pinboard": "доска", "board": "доска", "ask": "спросить",
    "asked": "спрошено", "school": "школа", "qa": "ОК", "time": "время", "times": "раз", "retailer": "продавец",
    "report": "отчёт", "external": "внешний", "rejection": "отказ", "credit": "кредит", "interview": "собеседование",
    "interviews": "собеседования", "interviewing": "собеседование", "account": "счёт",
    "cancellation": "отмена", "threshold": "порог", "treshold": "порог", "threshhold": "порог",
    "secretary": "секретарь", "print": "печать", "printed": "напечатано", "response": "ответ",
    "information": "информация", "info": "инфо", "infos": "сведения", "case": "случай", "year": "год",
    "years": "годы", "cancel": "отменить", "cancelled": "отменено", "canceled": "отменено",
    "complete": "завершить", "completed": "завершено", "prepare": "подготовить", "prepared": "подготовлено",
    "down": "вниз", "supplier": "поставщик", "results": "результаты", "result": "результат",
    "hospital": "больница", "director": "директор", "attach": "приложить", "attached": "приложено",
    "many": "много", "end": "конец", "ended": "завершено", "ends": "заканчивается", "with": "с",
    "too": "слишком", "accepted": "принято", "acepted": "принято", "approved": "одобрено", "approve": "одобрить",
    "relevant": "нужный", "specialist": "специалист", "processed": "обработано", "carry": "выполнить",
    "teacher": "преподаватель", "teachers": "преподаватели", "examine": "изучить", "examined": "изучено",
    "reject": "отклонить", "above": "выше", "patients": "пациенты", "patient": "пациент", "managing": "управление",
    "management": "управление", "enter": "ввести", "forward": "переслать", "inform": "сообщить", "card": "карта",
    "pin": "ПИН", "advanced": "продвинутый", "department": "отдел", "departement": "отдел", "doctor": "врач",
    "severity": "тяжесть", "choose": "выбрать", "fees": "сборы", "fee": "сбор", "organize": "организовать",
    "handling": "обработка", "handeling": "обработка", "handled": "обработано", "number": "номер",
    "hours": "часы", "welcome": "приветствие", "assess": "оценить", "asses": "оценить", "assign": "назначить",
    "assigned": "назначено", "pack": "упаковать", "package": "пакет", "if": "если",
    "completeness": "полнота", "completness": "полнота", "all": "все", "documents": "документы",
    "document": "документ", "documentation": "документация", "rebook": "перебронировать", "and": "и",
    "disbursement": "выплата", "disbursment": "выплата", "fill": "заполнить", "filled": "заполнено",
    "filling": "заполнение", "office": "офис", "no": "нет", "yes": "да", "one": "один", "two": "два",
    "three": "три", "finished": "завершено", "quality": "качество", "collect": "собрать", "mark": "отметить",
    "marked": "отмечено", "assurance": "обеспечение", "month": "месяц", "months": "месяцы", "db": "БД",
    "database": "база", "data": "данные", "work": "работа", "week": "неделя", "weeks": "недели",
    "email": "письмо", "mail": "почта", "letter": "письмо", "as": "как", "than": "чем", "online": "онлайн",
    "notice": "извещение", "each": "каждый", "every": "каждый", "event": "событие", "payment": "оплата",
    "pay": "оплатить", "paid": "оплачено", "payed": "оплачено", "rating": "рейтинг", "rated": "оценено",
    "below": "ниже", "into": "в", "garage": "гараж", "take": "взять", "via": "через", "returned": "возвращено",
    "return": "вернуть", "proceed": "продолжить", "proceeded": "продолжено", "proceeds": "продолжает",
    "owner": "владелец", "admission": "приём", "admissions": "приём", "normally": "обычно",
    "incomplete": "неполный", "positive": "положительный", "negative": "отрицательный", "date": "дата",
    "give": "дать", "back": "назад", "outcome": "итог", "outcomes": "итоги", "fulfilled": "выполнено",
    "fullfilled": "выполнено", "or": "или", "from": "от", "hearing": "слушание", "about": "о", "on": "на",
    "free": "свободно", "less": "меньше", "more": "больше", "pdf": "PDF", "elective": "факультатив",
    "book": "забронировать", "booked": "забронировано", "booking": "бронирование", "until": "до",
    "authorize": "авторизовать", "priority": "приоритет", "perform": "выполнить", "automatic": "автоматический",
    "auto": "авто", "make": "сделать", "academic": "учебный", "grades": "оценки", "schedule": "расписание",
    "wait": "ждать", "car": "автомобиль", "pizzeria": "пиццерия", "pizza": "пицца", "empty": "пусто",
    "details": "детали", "cashier": "кассир", "have": "иметь", "has": "имеет", "compensation": "компенсация",
    "expenses": "расходы", "are": "", "be": "быть", "been": "был", "was": "был", "over": "свыше",
    "higher": "выше", "lower": "ниже", "closed": "закрыто", "tribunal": "суд", "repairs": "ремонт",
    "repair": "ремонт", "respond": "ответить", "responds": "отвечает", "responding": "ответ",
    "answer": "ответ", "election": "выборы", "elected": "избран", "university": "университет",
    "convincing": "убедительный", "provide": "предоставить", "set": "задать", "acceptable": "приемлемый",
    "premises": "помещения", "already": "уже", "another": "другой", "other": "другой",
    "motivation": "мотивация", "initial": "начальный", "accept": "принять", "acceptance": "принятие",
    "opening": "открытие", "opened": "открыто", "call": "звонок", "after": "после", "hand": "передать",
    "few": "несколько", "retrieve": "извлечь", "at": "в", "prior": "прежде", "administration": "администрация",
    "passed": "сдано", "that": "что", "it": "это", "allocate": "распределить", "done": "готово",
    "amount": "сумма", "who": "кто", "unaccepted": "непринято", "later": "позже", "do": "сделать",
    "produce": "выпустить", "compliant": "соответствует", "when": "когда", "can": "может",
    "participate": "участвовать", "participants": "участники", "committee": "комиссия", "commitee": "комиссия",
    "company": "компания", "up": "вверх", "arrived": "прибыло", "get": "получить", "needed": "нужно",
    "required": "требуется", "which": "который", "days": "дни", "selection": "отбор", "places": "места",
    "generate": "сформировать", "sufficient": "достаточно", "insufficient": "недостаточно",
    "enough": "достаточно", "submitted": "подано", "filing": "подача", "message": "сообщение",
    "certain": "определённый", "established": "установлено", "meeting": "встреча", "once": "однажды",
    "failed": "не удалось", "paper": "бумага", "use": "использовать", "contract": "договор",
    "contact": "контакт", "upon": "по", "per": "на", "questions": "вопросы", "feedback": "отзыв",
    "integrate": "интегрировать", "containing": "содержащий", "max": "макс", "least": "минимум",
    "twelve": "двенадцать", "download": "скачать", "sign": "подписать", "signed": "подписано",
    "ready": "готово", "pick": "выбрать", "continue": "продолжить", "first": "первый", "within": "в течение",
    "sap": "САП", "cis": "СИС", "cbs": "ЦБС", "lieferando": "Лиферандо",
    "liferando": "Лиферандо", "workflow": "процесс",
    "h": "ч", "t": "т", "s": "с", "x": "х",
    "e": "е", "c": "ц", "th": "-й", "st": "-й", "nd": "-й", "rd": "-й", "con": "кон", "ment": "мент",
    "rec": "рек", "acc": "акк", "mation": "мация", "dation": "дация", "recommen": "рекомен",
}

_TRANSLIT = [("sch", "ш"), ("sh", "ш"), ("ch", "ч"), ("th", "т"), ("ph", "ф"), ("ck", "к"), ("qu", "кв"),
             ("ee", "и"), ("oo", "у"), ("ou", "ау"), ("ya", "я"), ("yu", "ю"), ("zh", "ж"), ("kh", "х"),
             ("ts", "ц"), ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"),
             ("h", "х"), ("i", "и"), ("j", "дж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
             ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"),
             ("x", "кс"), ("y", "й"), ("z", "з")]


def transliterate(word: str) -> str:
    """Latin letters -> Cyrillic (a simple phonetic scheme; other characters kept); capitals kept."""
    low, out, i = word.lower(), [], 0
    while i < len(low):
        for a, b in _TRANSLIT:
            if low.startswith(a, i):
                out.append(b)
                i += len(a)
                break
        else:
            out.append(low[i])
            i += 1
    ru = "".join(out)
    if word.isupper() and len(word) > 1:
        return ru.upper()
    return ru[:1].upper() + ru[1:] if word[:1].isupper() else ru


def translate_label(text: str, glossary: dict[str, str] | None = None) -> str:
    """Russian for an English label: the whole label from ``glossary`` (``bench/bpmn_russian``'s), else word by
    word from ``WORDS`` (an English article or copula is dropped), else transliterated, so every word with a
    Latin letter becomes Cyrillic; digits, punctuation and line breaks stay."""
    from bench import bpmn_russian as br
    glossary = br.load_glossary() if glossary is None else glossary
    if br._norm(text) in glossary:
        return glossary[br._norm(text)]

    def word(m):
        w = m.group(0)
        ru = WORDS.get(w.lower())
        if ru is None:
            return transliterate(w)
        if w[:1].isupper() and ru:
            ru = ru[:1].upper() + ru[1:]
        return ru

    out = re.sub(r"[A-Za-z]+", word, text)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = "\n".join(ln.strip(" ") for ln in out.split("\n"))
    if not re.search(r"[А-Яа-яЁё]", out) and re.search(r"[A-Za-z]", text):  # all words dropped ("The")
        out = transliterate(text)
    return out.strip() if out.strip() else out


def translate_xml(xml: str, glossary: dict[str, str] | None = None) -> str:
    """The model with every ``name`` (and text annotation text) of the BPMN model translated (``translate_label``);
    ids, DI and everything else unchanged."""
    from lxml import etree

    from bench import bpmn_russian as br
    glossary = br.load_glossary() if glossary is None else glossary
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                            etree.XMLParser(remove_blank_text=False, huge_tree=True))
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != MODEL_NS:
            continue
        if el.get("name"):
            el.set("name", translate_label(el.get("name"), glossary))
        if etree.QName(el).localname == "text" and el.text and el.text.strip():
            el.text = translate_label(el.text, glossary)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
