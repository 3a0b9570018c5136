"""Job runners: one schedule loop per pipeline (see jobs.runner)."""
