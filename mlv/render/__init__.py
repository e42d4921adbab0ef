"""Renderings of mlv's results in formats other tools read: JUnit XML, Mermaid, Graphviz dot.

Output, not data: ``mlv/model`` holds what a result is, this package how it is written out. It
depends on ``mlv.model`` and the standard library only (no click, no rich), so the CLI and core
alike can write these formats.
"""
