"""Errors that texplain-widgets raises on purpose: each names the thing at fault and the problem."""


class TExplainError(Exception):
    """Base class of every error this package raises deliberately."""


class InputError(TExplainError, ValueError):
    """Bad user input (an image, a folder, a caption file, an argument), with what is wrong."""


class CheckpointMismatchError(TExplainError):
    """A saved TExplain does not fit the classifier or language model it is loaded against."""


class MissingDependencyError(TExplainError, ImportError):
    """An optional package is needed; the message says what to install."""


class Cancelled(TExplainError):
    """A long run (generation, training) was stopped by its cancel signal."""
