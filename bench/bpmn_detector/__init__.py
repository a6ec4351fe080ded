"""A BPMN shape and flow detector trained on the corpus of ``bench/bpmn_corpus`` (issue 16)."""
