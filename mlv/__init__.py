"""mlv: Git-native versioning and reproducibility for machine-learning projects."""

__version__ = "0.1.0"
