"""Exceptions that the command line turns into one-line errors and a non-zero exit."""


class HwbnnError(Exception):
    """Base class of every error hwbnn reports to the user as a one-line message."""


class DataError(HwbnnError):
    """A data set is missing, corrupt or malformed; the message names the file."""


class ModelError(HwbnnError):
    """An ONNX model cannot be lowered; the message names the node and what to do."""


class ConfigError(HwbnnError):
    """A configuration value (folding, model option, command line) is invalid."""
