"""docs/compliance.md stays true: every obligation has a row, and every test it names exists."""

import ast
from pathlib import Path

import pytest

from facerights.compliance import STATES, obligations_load, obligations_parse

ROOT = Path(__file__).resolve().parent.parent
OBLIGATIONS = obligations_load()


def _test_exists(node_id: str) -> bool:
    path, *names = node_id.split("::")
    source = ROOT / path
    if not source.is_file() or not names:
        return False
    scope = ast.parse(source.read_text()).body
    for name in names:
        found = next(
            (
                n
                for n in scope
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
            ),
            None,
        )
        if found is None:
            return False
        scope = getattr(found, "body", [])
    return names[-1].startswith("test")


def test_every_obligation_has_exactly_one_row():
    assert [o.ref for o in OBLIGATIONS] == [f"R{n}" for n in range(1, 31)]


@pytest.mark.parametrize("obligation", OBLIGATIONS, ids=lambda o: o.ref)
def test_each_row_is_complete(obligation):
    for name in ("Source", "Does", "Code", "Tests", "State"):
        assert obligation.fields.get(name), f"{obligation.ref} has no {name}"
    assert obligation.state in STATES, f"{obligation.ref}: state must start with one of {STATES}"
    if obligation.state == "met":
        assert obligation.tests, f"{obligation.ref} is marked met but names no test"
    if obligation.state == "partly met":
        assert obligation.state_note, f"{obligation.ref} is partly met but does not say what is missing"


@pytest.mark.parametrize("obligation", OBLIGATIONS, ids=lambda o: o.ref)
def test_every_named_test_exists(obligation):
    missing = [node for node in obligation.tests if not _test_exists(node)]
    assert missing == [], f"{obligation.ref} names tests that do not exist: {missing}"


def test_the_check_notices_a_deleted_test():
    row = (
        "### R1 · Example\n\n- Source: s\n- Does: d\n- Code: c\n"
        "- Tests: `tests/test_compliance_matrix.py::test_that_was_deleted`\n- State: met\n"
    )
    [obligation] = obligations_parse(row)
    assert obligation.state == "met"
    assert not _test_exists(obligation.tests[0])
    assert _test_exists("tests/test_compliance_matrix.py::test_every_obligation_has_exactly_one_row")
