"""Environments: capture the running one (capture, details), compare two records (diff, drift),
rebuild a recorded one into a virtual environment (restore, interpreters) and keep rebuilt ones
per fingerprint for reproduce (cache)."""
