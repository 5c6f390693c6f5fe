"""Docstrings composed from shared numpydoc entries: a setting documented in two places (the
estimator and the solver that owns it) is written once, by its owner."""

from __future__ import annotations

import re

__all__ = ["SHARED_DOC", "fill_doc", "join_entries"]

#: numpydoc entries the package's sequence estimators share word for word.
SHARED_DOC = {
    "X": """X : array-like of shape (n_samples, n_features)
    Inputs, one row per time step, in time order.""",
    "y": """y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    Targets.""",
    "n_features_in_": """n_features_in_ : int
    Number of input features seen during fit.""",
    "feature_names_in_": """feature_names_in_ : ndarray of shape (n_features,)
    Names of the features, when X had string column names.""",
    "n_outputs_": """n_outputs_ : int
    Number of outputs.""",
}

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


def join_entries(table, names):
    """The entries of ``table`` named by ``names``, in that order, a blank line apart."""
    return "\n\n".join(table[name] for name in names)
