"""The project over time: snapshots (``log``), experiments (``experiments``), what changed between
two sides (``diff``, ``sides``, ``rows`` for ``--key``), and what the HTML report shows
(``report``, ``report_env``)."""
