"""Typed errors. Every user-facing failure is a :class:`FlowError` subclass whose message says
what to do; the CLI prints it as one line and exits non-zero."""


class FlowError(Exception):
    """Base of every error the CLI reports as one clear line."""


class ConfigError(FlowError):
    """A model TOML, --config file or option is malformed or inconsistent."""


class DataError(FlowError):
    """A dataset file is missing, unreadable, or has wrong columns, labels or values."""


class UnknownNameError(FlowError):
    """An unknown model, target, stage or layer name."""


class ToolError(FlowError):
    """An external tool (Verilator, Yosys, g++, hls4ml) failed or is missing."""


class MismatchError(FlowError):
    """Two implementations that must agree bit for bit do not."""


class UnsupportedTypeError(FlowError):
    """A back end cannot implement a fixed-point type of an otherwise valid graph (other back ends may
    still build it); the message names the layer, the type, why, and a type that would work."""
