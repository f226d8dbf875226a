"""Imbalance Lab core: data handling, strategies, training, storage and jobs.

Never imports Streamlit. Folders follow what a module may import (the
lower ones never import the higher ones; ``tests/test_boundaries.py`` checks):

    data/        reading, validating, profiling and splitting labelled texts
    runs/        one run without TensorFlow: its types, the pipeline, heads, decision rules, metrics, references
    strategies/  the strategy registry and the recipe syntax (TensorFlow-free: pages list them)
    keras/       the only place Keras and TensorFlow are imported: models, losses, encoder, fit loop
    jobs/        the store (SQLite + workspace), queue, lease, experiments; worker-side entry points
                 (runner, worker, predict_service) are the only jobs modules that reach keras/
    results/     result files, statistics, comparisons, merges, figures and the report

``cli`` (``python -m core``) sits on top of all of them.
"""

__version__ = "0.1.0"
