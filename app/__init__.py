"""CNN Playground's service and command line; the engine lives in `engine`."""

__version__ = "0.1.0"
