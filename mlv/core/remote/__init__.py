"""Remotes: declaring them (``declared``), the one place that decides which remote a command
uses and opens it (``resolve``), push and fetch (``push``, ``fetch``) with packs going out
(``pack_out``) and coming in (``pack_in``), gc of a remote (``gc``) and repair of damaged local
objects from a remote (``repair``)."""
