"""The detector's network (torch): a compact encoder to 1/32 with dilated context, a U-shaped decoder back to
1/4, and two heads (``spec``: class heat maps and the regress channels). Plain convolutions, batch norm and ReLU
only, so the ONNX export runs the same in onnxruntime and OpenCV's DNN module.

About 6 G multiply-adds for a 1024 x 1024 grey input (``macs``); 1.3 M parameters, 5 MB as float32.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES, REGRESS

#: channels at 1/2, 1/4, 1/8, 1/16, 1/32 of the input, and of the decoder at 1/4
WIDTHS = (16, 32, 64, 96, 128)
DECODER = 48
#: a class map's bias at start: sigmoid(-2.19) = 0.1, CenterNet's prior (a few centres among many cells)
HEAT_PRIOR_BIAS = -2.19


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, c: int, dilation: int = 1):
        super().__init__()
        self.a = conv_bn(c, c, dilation=dilation)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.b(self.a(x)))


class Up(nn.Module):
    """Upsample the coarser map twice and add the finer one (projected to the same width), then a 3 x 3."""

    def __init__(self, coarse: int, fine: int, out: int):
        super().__init__()
        self.lat = conv_bn(fine, out, k=1)
        self.top = conv_bn(coarse, out, k=1)
        self.mix = conv_bn(out, out)

    def forward(self, coarse, fine):
        up = F.interpolate(self.top(coarse), size=fine.shape[-2:], mode="nearest")
        return self.mix(up + self.lat(fine))


def grown_block(c: int) -> Residual:
    """A residual block that starts as the identity (its last batch norm's scale at zero): added to a trained
    network, the network computes what it did, and the block learns only what helps."""
    block = Residual(c)
    nn.init.zeros_(block.b[1].weight)
    return block


class Detector(nn.Module):
    """``grown``: three more residual blocks where the first model was thinnest (the encoder at 1/4 and 1/8, the
    decoder at 1/4), about 5 G multiply-adds more at 1024 x 1024; grown from trained weights (``load_grown``)."""

    def __init__(self, widths=WIDTHS, decoder: int = DECODER, classes: int = len(CLASSES), regress: int = REGRESS,
                 grown: bool = False):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.s2 = conv_bn(1, c1, stride=2)
        self.s4 = conv_bn(c1, c2, stride=2)
        self.s8 = nn.Sequential(conv_bn(c2, c3, stride=2), Residual(c3))
        self.s16 = nn.Sequential(conv_bn(c3, c4, stride=2), Residual(c4), Residual(c4))
        # dilated blocks reach across a page at 1/32: pools and lanes are as wide as the diagram
        self.s32 = nn.Sequential(conv_bn(c4, c5, stride=2), Residual(c5), Residual(c5, 2), Residual(c5, 4))
        self.up16 = Up(c5, c4, c4)
        self.up8 = Up(c4, c3, c3)
        self.up4 = Up(c3, c2, decoder)
        self.more4 = grown_block(c2) if grown else nn.Identity()
        self.more8 = grown_block(c3) if grown else nn.Identity()
        self.more_decoder = grown_block(decoder) if grown else nn.Identity()
        self.heat = nn.Sequential(conv_bn(decoder, decoder), nn.Conv2d(decoder, classes, 1))
        self.regress = nn.Sequential(conv_bn(decoder, decoder), nn.Conv2d(decoder, regress, 1))
        nn.init.constant_(self.heat[-1].bias, HEAT_PRIOR_BIAS)

    def forward(self, x):
        """``x``: N x 1 x H x W, grey in 0..1 (ink dark). Returns heat logits and regress, both at 1/4."""
        x = 1.0 - x  # ink as signal: padding and paper are zero
        a = self.s2(x)
        b = self.more4(self.s4(a))
        c = self.more8(self.s8(b))
        d = self.s16(c)
        e = self.s32(d)
        f = self.more_decoder(self.up4(self.up8(self.up16(e, d), c), b))
        return self.heat(f), self.regress(f)


def macs(model: nn.Module, h: int = 1024, w: int = 1024) -> int:
    """Multiply-adds of the convolutions for one h x w input (counted by forward hooks)."""
    total = [0]

    def hook(mod, inp, out):
        total[0] += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, h, w))
    for hd in hs:
        hd.remove()
    return total[0]


def load_grown(model: Detector, state: dict) -> None:
    """Trained weights into ``model``, which may hold grown blocks the weights lack (they stay the identity)."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("more") for k in missing):
        raise ValueError(f"weights do not fit the network: missing {missing}, unexpected {unexpected}")
