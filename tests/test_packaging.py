"""The README's test command runs the suite CI runs: same extras, and they provide every
optional module a test needs (a test that would be skipped under the README's command is a
test the README's users never run)."""

import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def _extras_before_pytest(text):
    """The extras of the ``pip install ".[...]"`` that a ``python -m pytest`` follows."""
    match = re.search(r'pip install "\.\[([\w,]+)\]"\s*&&\s*python -m pytest', text)
    assert match, "no `pip install \".[extras]\" && python -m pytest` command"
    return set(match.group(1).split(","))


def test_readme_and_ci_install_the_same_extras_for_the_tests():
    readme = _extras_before_pytest((ROOT / "README.md").read_text())
    ci = _extras_before_pytest((ROOT / ".ci" / "run").read_text())
    assert readme == ci


def test_those_extras_provide_every_module_a_test_imports_or_skips():
    extras = _extras_before_pytest((ROOT / "README.md").read_text())
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    installed = " ".join(req for extra in extras for req in optional[extra])
    needed = set()
    for path in (ROOT / "tests").glob("*.py"):
        needed |= set(re.findall(r'importorskip\(\s*"([\w.]+)"', path.read_text()))
    assert needed >= {"matplotlib", "pandas", "distributed"}  # the scan finds them
    needed -= set(sys.stdlib_module_names)
    missing = {name for name in needed if name.split(".")[0] not in installed}
    assert not missing
