"""Imbalance Lab core: data handling, strategies, training, storage and jobs.

This package never imports Streamlit; TensorFlow is imported lazily, only in
code paths that train or predict (worker processes, CLI).
"""

__version__ = "0.1.0"
