"""The detector's training script on the CPU: one step on four images of the committed corpus sample, a
checkpoint that a second call resumes from, and an ONNX export that onnxruntime runs (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from bench.bpmn_detector import dataset as ds  # noqa: E402
from bench.bpmn_detector import train  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.runtime import OnnxDetector  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "corpus" / "sample"


def test_one_step_on_four_images_then_resume_and_export(tmp_path):
    data, run = tmp_path / "ds", tmp_path / "run"
    ds.build(SAMPLE, data, size=640, val_percent=0, workers=1, log=lambda s: None)  # one model: all in train
    (data / "annotations" / "val.json").write_text((data / "annotations" / "train.json").read_text())
    common = ["--data", str(data), "--out", str(run), "--images", "4", "--val-images", "1", "--steps", "1",
              "--batch", "4", "--device", "cpu", "--workers", "0"]
    assert train.main(common + ["--epochs", "1"]) == 0
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1] and log[0]["step"] == 1
    assert log[0]["loss_heat"] > 0 and "shapes_f1" in log[0]["val"]
    assert (run / "last.pt").exists() and (run / "best.pt").exists()
    # a second call goes on from the checkpoint instead of starting over
    assert train.main(common + ["--epochs", "2", "--export", str(tmp_path / "m.onnx")]) == 0
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["step"]) for r in log] == [(1, 1), (2, 2)]
    det = OnnxDetector(tmp_path / "m.onnx", threads=1)
    assert det.metadata["classes"].split(",") == list(CLASSES)
    import numpy as np
    heat, regress = det.maps(np.ones((1, 1, 96, 160), np.float32))
    assert heat.shape == (len(CLASSES), 24, 40) and regress.shape == (8, 24, 40)


def test_a_grown_network_starts_as_the_weights_it_grew_from():
    """``--grown`` adds residual blocks that start as the identity: the plain network's trained weights loaded
    into it compute what they computed, and weights of another shape are refused."""
    from bench.bpmn_detector.net import Detector, load_grown
    torch.manual_seed(0)
    plain = Detector()
    for m in plain.modules():  # batch norm statistics other than the defaults, as trained weights have
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    grown = Detector(grown=True)
    load_grown(grown, plain.state_dict())
    plain.eval(), grown.eval()
    x = torch.rand(1, 1, 128, 160)
    with torch.no_grad():
        (h0, r0), (h1, r1) = plain(x), grown(x)
    assert torch.equal(h0, h1) and torch.equal(r0, r1)
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in plain.parameters())
    with pytest.raises(ValueError):  # the grown blocks' weights have no place in the plain network
        load_grown(Detector(), grown.state_dict())
    with pytest.raises(RuntimeError):  # another width: torch refuses the shapes
        load_grown(Detector(widths=(8, 16, 32, 48, 64)), plain.state_dict())
