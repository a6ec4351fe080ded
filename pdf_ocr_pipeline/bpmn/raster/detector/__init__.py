"""A trained BPMN detector (issue 16): shapes as boxes, flows as boxes with tail and head points, run with
onnxruntime on the CPU. ``spec`` is what training and inference share, ``decode`` turns the network's maps into
detections (numpy only), ``assemble`` turns detections and words into a ``BpmnDiagram``, ``runtime`` loads the
committed ONNX model. The network and its training live in ``bench/bpmn_detector``."""
