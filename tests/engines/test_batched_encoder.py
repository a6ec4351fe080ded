"""The batched vision encoder cuts the towers' output back into pages exactly as vLLM's per-page loop does.

Needs torch (the GPU image has it; CI does not, so these skip there). What the towers compute is checked against
vLLM's own loop on the GPU: ``bench/gpu_engine.py``'s ``encoder_check`` (0.0 difference on an H200,
BENCHMARKS.md "Third pass").
"""

import pytest

torch = pytest.importorskip("torch")

from pdf_ocr_pipeline.engines.batched_encoder import encode_global_views  # noqa: E402


class TowersStandIn:
    """DeepSeek-OCR's batched global path reduced to a per-page function of the view: 272 rows a page (16 x 16
    grid plus a newline a row), 4 features, so a page's rows depend on that page alone, as the real towers do."""

    global_image_output_token = 272
    view_seperator = torch.full((4,), -1.0)

    def __init__(self):
        self.batch_sizes = []

    def _batched_encoder_forward_global_path(self, views):
        self.batch_sizes.append(views.shape[0])
        return torch.cat([self.one_page(v) for v in views])

    def one_page(self, view):
        return view.mean() + torch.arange(272 * 4, dtype=torch.float32).view(272, 4)


def test_pages_come_back_in_order_with_the_separator_and_in_bounded_chunks():
    model = TowersStandIn()
    views = torch.stack([torch.full((3, 8, 8), float(i)) for i in range(19)])
    pages = encode_global_views(model, views, chunk=8)
    assert model.batch_sizes == [8, 8, 3]
    assert len(pages) == 19
    for i, page in enumerate(pages):
        assert page.shape == (273, 4)
        assert torch.equal(page[:272], model.one_page(views[i]))  # the per-page loop's global features
        assert torch.equal(page[272], model.view_seperator)
