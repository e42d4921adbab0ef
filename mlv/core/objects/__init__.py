"""What the store's objects mean together: tree objects read and walked (``trees``), the closure
of objects a set of manifests needs (``closure``), what gc keeps and the live set both gcs share
(``kept``), and the clones that share one store (``sharing``)."""
