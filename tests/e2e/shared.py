"""The browser tests' shared dataset and experiment (see conftest.py): one tiny
3-class dataset whose class names, texts and name carry HTML, trained once."""

DATASET_NAME = "<u>html labels"  # no "/": the store reads a name with one as a path
CLASSES = ("<b>bold</b>", "<img src=x onerror=window.__pwned=1>", "<script>window.__pwned=2</script>")
COUNTS = (30, 60, 150)
SIGNAL_WORDS = (("awful", "broken", "refund"), ("fine", "average", "decent"), ("lovely", "perfect", "great"))
RECIPES = ("baseline", "class_weight")  # what the flow test ticks (baseline is always on)
EXPERIMENT_NAME = "<em>html</em> experiment"
