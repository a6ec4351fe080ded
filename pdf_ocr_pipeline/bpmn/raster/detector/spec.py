"""What the detector's training and its inference share: classes, the output layout, the working size.

The network is CenterNet-like (Zhou et al., "Objects as Points", 2019): for an image of H x W (multiples of
``INPUT_MULTIPLE``) it returns maps of H/STRIDE x W/STRIDE: ``heat`` (one channel per class, logits of "an object's
centre is here") and ``regress`` (``REGRESS`` channels at each centre: log width and height in output cells,
the centre's sub-cell offset, and for flows the tail and head as offsets from the centre in units of
``KEYPOINT_UNIT`` output cells).
"""

from __future__ import annotations

#: 15 shape classes then 3 flow classes: ``model.eval_class``'s names, the classes the evaluation scores
SHAPE_CLASSES = ("task", "subProcess", "startEvent", "intermediateEvent", "endEvent", "exclusiveGateway",
                 "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway", "participant", "lane",
                 "dataObject", "dataStore", "textAnnotation")
FLOW_CLASSES = ("sequenceFlow", "messageFlow", "association")
CLASSES = SHAPE_CLASSES + FLOW_CLASSES
#: output maps are this many input pixels apart
STRIDE = 4
#: input sides are padded up to a multiple of this (the network halves the image five times)
INPUT_MULTIPLE = 32
#: regress channels: log w, log h, offset x, offset y, tail dx, tail dy, head dx, head dy
REGRESS = 8
#: tail and head offsets are regressed in units of this many output cells (keeps the targets near 1)
KEYPOINT_UNIT = 16.0
#: the long side the detector sees a picture at, px; training crops come from pages scaled around it
WORKING_LONG_SIDE = 1024
#: the second, coarse look at the same page: pools, lanes and long flows the size training saw them whole
#: (``augment.WHOLE_PAGE_RANGE`` x its 512 px crops)
COARSE_LONG_SIDE = 512
