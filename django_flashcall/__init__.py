"""Phone login and phone verification by flash call."""

__version__ = "0.2.0"
