"""Stages and their runs: which stage is stale (``staleness``), running stale stages and
recording them (``run``, ``interrupted``), params and metrics files (``params``), the lineage of
an output (``lineage``), and re-running a revision in isolation to judge it (``reproduce``)."""
