"""Imbalance strategies: one class per strategy, one registry (``registry``)."""
