"""Bringing recorded files back: ``checkout`` writes a revision's artifacts into the work tree,
``reading`` reads one file of a revision for the Python API, ``pull`` fetches then checks out."""
