"""The package version, read by hatchling and reported by the status endpoint."""

__version__ = "0.1.0"
