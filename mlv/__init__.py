"""mlv: Git-native versioning and reproducibility for machine-learning projects."""

# The one place the version is written: the wheel's metadata (hatch), `mlv --version` and the
# record of the writer in mlv.lock all read it here. Bump it with a CHANGELOG.md entry.
__version__ = "0.1.0"
# The distribution this package ships in; a package `mlv` from another distribution lacks it.
__distribution__ = "mlv-cli"
