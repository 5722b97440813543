"""Execution: one batch run through its plan (run.py), its start images, and what it reports
(pace.py measures, reporter.py turns that into progress events)."""
