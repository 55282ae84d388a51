"""Evaluation: pure metric functions, model evaluation runs and the run report."""
