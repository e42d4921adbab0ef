"""Recording the project's state: ``snapshot`` writes mlv.lock (and commits it), ``status``
compares the work tree, stages, environment and code with it."""
