"""CNN Playground's service and command line; the engine lives in `engine`."""
