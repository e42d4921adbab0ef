"""The shell of every HTML page mlv writes (``mlv report``, ``mlv lineage --format html``).

One self-contained file, no script, no network: the page carries a Content-Security-Policy that
forbids scripts and every network fetch, so even an escaping mistake could not make an injected
``<script>`` run. The body is escaped HTML already.
"""

from __future__ import annotations

from html import escape

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.changed{background:#fff1c2;font-weight:600}.drift-warn{background:#ffe9a8}
.drift-alert{background:#ffc9c9;font-weight:700}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;padding:.3em}figure.drift-alert{background:none;border:3px solid #d33}
figure.drift-warn{background:none;border:3px solid #e0a800}figcaption{font-size:.8em}
td.date{white-space:nowrap}.note{color:#8a5a00}.scroll{overflow-x:auto}code{font-size:.95em}
"""


def document(title: str, body: str) -> str:
    """A complete page: the policy, the style and ``body`` (already escaped HTML)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<meta name='viewport' content='width=device-width'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
