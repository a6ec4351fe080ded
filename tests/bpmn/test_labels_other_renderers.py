"""Labels on another renderer's drawings (issue 15; bpmn-js renders of hdBPMN models): short words of vertical
pool names, names centred in empty (black-box) pools, labels beside tiny shapes, no names on associations."""

from types import SimpleNamespace

from pdf_ocr_pipeline.bpmn.labels import attach_labels


def _shape(type_, box, header=None):
    return SimpleNamespace(type=type_, box=box, header=header, markers=(), label="", label_box=None)


def _flow(type_, points):
    return SimpleNamespace(type=type_, points=points, label="", label_box=None)


def test_short_words_of_a_vertical_name_read_bottom_to_top():
    # "SAP system" written bottom to top: "SAP" (18 x 10) is not tall enough to tell alone
    lane = _shape("lane", (33.75, 96.75, 740.25, 226.5), header=(33.75, 96.75, 55.0, 226.5))
    words = [("system", (39.55, 137.29, 49.60, 165.79)), ("SAP", (39.55, 168.13, 49.60, 186.14))]
    attach_labels([lane], [], words)
    assert lane.label == "SAP system"
    pool = _shape("participant", (15, 15, 700, 300), header=(15, 15, 37, 300))
    words = [("tribunal", (20, 100, 30, 130)), ("the", (20, 132, 30, 145)), ("of", (20, 147, 30, 155)),
             ("cashier", (20, 157, 30, 185))]
    attach_labels([pool], [], words)
    assert pool.label == "cashier of the tribunal"


def test_name_centred_in_an_empty_pool_and_flow_label_beside_it():
    pool = _shape("participant", (46.5, 15.0, 661.5, 69.0), header=(46.5, 15.0, 68.5, 69.0))
    flow = _flow("messageFlow", [(500.0, 69.0), (500.0, 150.0)])
    words = [("Claimant", (336.2, 36.5, 371.7, 46.6)), ("submit", (502.0, 59.0, 522.0, 68.2)),
             ("claim", (524.0, 59.0, 540.0, 68.2))]
    attach_labels([pool], [flow], words)
    assert pool.label == "Claimant"
    assert flow.label == "submit claim"


def test_label_beside_a_small_data_object_not_on_its_association():
    data = _shape("dataObjectReference", (352.5, 113.25, 362.25, 122.25))
    assoc = _flow("association", [(356.0, 122.25), (356.0, 144.3)])
    words = [("request", (368.7, 110.2, 396.3, 119.2))]
    attach_labels([data], [assoc], words)
    assert data.label == "request"
    assert assoc.label == ""
