"""Evaluation suites: loading (suite.py) and metrics (metrics.py). The runner and reports come with #3."""
