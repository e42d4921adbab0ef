"""Tables: summaries of tabular files (``summarise``), where they are kept (``records``), and
how two versions differ (``compare``, ``drift``, ``rows``). pyarrow, DuckDB and fastdigest are
imported inside the functions that need them, so ``mlv --help`` and git hooks stay fast."""
