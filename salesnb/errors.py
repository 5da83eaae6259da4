"""Errors meant for people.

Every error salesnb raises on purpose derives from :class:`SalesnbError`; the
command line turns it into one line on stderr and exit code 2, never a
traceback. Messages name the file, table, column or parameter and say what was
expected, in words a sales analyst understands.
"""

from __future__ import annotations


class SalesnbError(Exception):
    """Base class: a problem the user can fix (bad file, mapping, parameter)."""

    exit_code = 2


class InputError(SalesnbError):
    """A source file or mapping cannot be read as promised."""


class ParameterError(SalesnbError):
    """A study or command parameter is not valid (unknown region, bad period...)."""


class ModelError(SalesnbError):
    """Data does not fit the canonical model (missing table or column)."""


class FitError(SalesnbError):
    """A statistical model could not be fitted to the data given."""
