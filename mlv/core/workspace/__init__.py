"""The work tree as mlv sees it: the scanner that identifies files by stat and hash (``scanner``),
the per-directory builder of format 2 trees (``dir_scan``), the directories that changed since a
record (``dir_changes``), and declared artifacts scanned, stored and recorded (``artifacts``)."""
