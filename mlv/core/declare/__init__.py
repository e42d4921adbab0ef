"""What a person declares in mlv.toml: the project (``init``), tracked artifacts (``track``),
stages (``stage``), and the .gitignore lines that keep tracked paths out of git (``gitignore``)."""
