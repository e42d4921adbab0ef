"""Pure data: ids, tree objects, the lineage manifest and the declarations, with their codecs."""
