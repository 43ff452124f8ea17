"""maillage: territorial health planning and coordination for France."""

__version__ = "0.1.0"
