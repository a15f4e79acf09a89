"""Errors a user can act on. Every message says what happened and, where it can, what to do."""


class AnomalizerError(Exception):
    """Base of all expected errors; the CLI prints ``error: <message>`` and exits 1."""


class AudioReadError(AnomalizerError):
    """A file could not be read as audio (corrupt, empty, unsupported, unreadable)."""


class WeightsUnavailableError(AnomalizerError):
    """Pre-trained encoder weights are not on this machine and were not downloaded."""


class WeightsFormatError(AnomalizerError):
    """A weights file does not match the expected model (wrong keys or shapes, bad format)."""


class ModelFileError(AnomalizerError):
    """A model file is missing, corrupt, or from an incompatible version."""


class EncoderMismatchError(AnomalizerError):
    """A model was trained on embeddings from another encoder than the one in use."""


class NotEnoughDataError(AnomalizerError):
    """Too few usable loops to train a model."""


class CatalogError(AnomalizerError):
    """The catalog database cannot be opened or migrated."""


class Cancelled(AnomalizerError):
    """The user cancelled a job; whatever was finished before is kept."""


class ExchangeError(AnomalizerError):
    """A Parquet exchange file cannot be written or read (not one, newer, or does not fit)."""
