"""Docstrings composed from shared entries (skalm/_docstring.py): every entry reaches each
docstring that names it, whole and indented, and nothing is left unfilled."""

import inspect
import re
import textwrap

import pytest

import skalm
from skalm import ElmanRNNRegressor
from skalm._docstring import fill_doc
from skalm.solvers import ALMBCDSolver
from skalm.solvers.alm_bcd.alm import SETTINGS_DOC


def _documented(doc):
    """Parameter name -> its entry (first line and description), dedented."""
    section = doc.split("Parameters\n    ----------\n")[1]
    section = re.split(r"\n    [A-Z][a-z]+\n    -+\n", section)[0]
    entries, name = {}, None
    for line in textwrap.dedent("    " + section.lstrip()).splitlines():
        head = re.match(r"^(\w+) : ", line)
        if head:
            name = head.group(1)
            entries[name] = [line]
        elif name is not None:
            entries[name].append(line)
    return {k: "\n".join(v).strip() for k, v in entries.items()}


@pytest.mark.parametrize("owner", [ElmanRNNRegressor, ALMBCDSolver])
def test_the_shared_alm_settings_appear_word_for_word_in_both_docstrings(owner):
    documented = _documented(owner.__doc__)
    for name, text in SETTINGS_DOC.items():
        assert documented[name] == text, name


def test_the_estimator_documents_its_parameters_in_signature_order():
    documented = list(_documented(ElmanRNNRegressor.__doc__))
    assert documented == list(inspect.signature(ElmanRNNRegressor).parameters)


def test_no_placeholder_is_left_in_any_public_docstring():
    objects = [getattr(skalm, name) for name in skalm.__all__]
    objects += list(skalm.solvers.SOLVERS.values())
    docs = [obj.__doc__ for obj in objects]
    docs += [m.__doc__ for obj in objects if isinstance(obj, type)
             for m in vars(obj).values() if callable(m)]
    assert sum(bool(doc) for doc in docs) > len(objects)
    for doc in docs:
        assert not re.search(r"%\(\w+\)s", doc or ""), doc[:60]


def test_fill_doc_indents_each_line_and_leaves_other_percent_signs():
    @fill_doc({"entry": "x : int\n    The x.\n\n    More."})
    def f():
        """Top, 100 % literal %(entry)s inline.

        Parameters
        ----------
        %(entry)s
        """

    assert f.__doc__ == (
        "Top, 100 % literal %(entry)s inline.\n\n        Parameters\n        ----------\n"
        "        x : int\n            The x.\n\n            More.\n        "
    )


def test_fill_doc_names_a_missing_entry():
    def g():
        """%(nowhere)s"""

    g.__doc__ = "\n    %(nowhere)s\n"
    with pytest.raises(KeyError, match="nowhere"):
        fill_doc({})(g)
