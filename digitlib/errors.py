"""Errors that digitlib raises: each one a single line naming what is wrong."""


class DigitlibError(Exception):
    """Base class of every error digitlib raises on purpose."""


class DataError(DigitlibError):
    """A data file or folder is missing, malformed or inconsistent."""


class ParameterError(DigitlibError, ValueError):
    """A parameter has a value that cannot work."""


class MissingArtifactError(DigitlibError, FileNotFoundError):
    """A lesson needs a file that an earlier lesson writes."""


class ImageError(DigitlibError):
    """An image file cannot be read or holds no digit."""


class SeveralDigitsError(ImageError):
    """An image holds several digits side by side where one was expected."""


class LessonError(DigitlibError):
    """A lesson failed while it was executed in batch; ``notebook`` shows where."""

    def __init__(self, message: str, notebook=None):
        super().__init__(message)
        self.notebook = notebook
