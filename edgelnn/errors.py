"""Specific error types, so callers (and the CLI) can tell one failure from another."""


class EdgelnnError(Exception):
    """Base class of every error edgelnn raises on purpose."""


class CheckpointError(EdgelnnError, ValueError):
    """A checkpoint file is missing, truncated, or does not match the model it describes."""


class ConversionError(EdgelnnError, ValueError):
    """A foreign model (e.g. from ncps) cannot be converted."""
