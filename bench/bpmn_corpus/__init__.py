"""BPMN corpus generator (issue 15): diagrams drawn by several renderers, with the renderers' own truth."""
