"""Docstrings composed from shared numpydoc entries: a setting documented in two places (the
estimator and the solver that owns it) is written once, by its owner."""

from __future__ import annotations

import re

__all__ = ["fill_doc"]

_FIELD = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(entries):
    """Class or function decorator: each docstring line that holds only ``%(name)s`` becomes
    ``entries[name]``, every line of it indented as the placeholder was.

    Only whole-line placeholders are replaced, so a ``%`` anywhere else in the text is safe.

    Parameters
    ----------
    entries : dict of str
        Name -> text (e.g. a numpydoc parameter entry, its description indented by four
        spaces under its first line).

    Raises
    ------
    KeyError
        A placeholder names no entry.
    """

    def indent(match):
        pad, name = match.groups()
        return "\n".join(pad + line if line else "" for line in entries[name].splitlines())

    def decorate(obj):
        obj.__doc__ = _FIELD.sub(indent, obj.__doc__)
        return obj

    return decorate
