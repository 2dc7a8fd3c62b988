"""The shape of the code holds: imports run one way, no module is in a circle, lazy imports say why.

- Apps: portal -> consent, dataops; dataops -> consent; the kernel (facerights) imports no app.
- Inside dataops, each capability imports only those below it (CAPABILITIES), tests included,
  and never the app's shell (the gathering `models`, `admin`, `tasks`, the API, commands).
- No module of the project is in an import cycle, counting imports inside functions too.
- An import inside a function carries a one-line reason: a comment on its line, or just
  above it (or above the block of imports it opens).
Each rule is also shown to catch a planted violation, so a rule that stopped working would fail.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("facerights", "consent", "dataops", "portal")

FORBIDDEN = {
    "facerights": {"consent", "dataops", "portal"},
    "consent": {"dataops", "portal"},
    "dataops": {"portal"},
    "portal": set(),
}

# What each capability of dataops may import (dataops/README.md draws the layers).
CAPABILITIES: dict[str, set[str]] = {
    "registry": set(),
    "incidents": {"registry"},
    "requests": {"registry", "incidents"},
    "deletions": {"registry", "incidents", "requests"},
    "copies": {"registry", "requests", "deletions"},
    "filings": {"registry", "incidents", "requests", "deletions"},
    "desk": {"registry", "incidents", "requests", "deletions"},
    "workbench": {"registry", "incidents", "requests", "deletions", "copies", "filings"},
    "demo": {"registry", "incidents", "requests", "deletions", "copies", "filings", "desk", "workbench"},
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module imported
    line: int
    in_function: bool
    explained: bool  # a comment on its line or just above it


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _explained(lines: list[str], node: ast.stmt) -> bool:
    if "#" in lines[node.lineno - 1]:
        return True
    index = node.lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#"):
            return True
        if not (text.startswith(("from ", "import ")) or text == ""):
            return False
        index -= 1
    return False


def imports(root: Path, packages: tuple[str, ...]) -> list[Import]:
    known = modules(root, packages)
    found = []
    for name, path in known.items():
        source = path.read_text()
        lines = source.splitlines()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(node: ast.AST, in_function: bool, name=name, lines=lines, package=package) -> None:
            for child in ast.iter_child_nodes(node):
                inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for target in _targets(child, package, known):
                        found.append(Import(name, target, child.lineno, in_function, _explained(lines, child)))
                visit(child, inside)

        visit(ast.parse(source, filename=str(path)), False)
    return found


def _targets(node: ast.Import | ast.ImportFrom, package: str, known: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {_nearest(alias.name, known) for alias in node.names} - {None}
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    targets = set()
    for alias in node.names:
        submodule = f"{module}.{alias.name}"
        targets.add(submodule if submodule in known else _nearest(module, known))  # `from . import x`: x itself
    return targets - {None}


def _nearest(module: str, known: dict[str, Path]) -> str | None:
    while module and module not in known:
        module = module.rpartition(".")[0]
    return module or None


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.module != edge.target:
            graph.setdefault(edge.module, set()).add(edge.target)
            graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in graph[node]:
            if neighbour not in index:
                connect(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def capability_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "dataops" and parts[1] in CAPABILITIES else None


def upward_imports(edges: list[Import], allowed: dict[str, set[str]]) -> list[str]:
    offenders = []
    for edge in edges:
        own = capability_of(edge.module)
        if own is None or not edge.target.startswith("dataops"):
            continue
        target = capability_of(edge.target)
        if target is None:
            offenders.append(f"{edge.module}:{edge.line} imports the app's shell ({edge.target})")
        elif target != own and target not in allowed[own]:
            offenders.append(f"{edge.module}:{edge.line} ({own}) imports {edge.target} ({target})")
    return offenders


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return imports(ROOT, PACKAGES)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_apps_import_one_way(edges, package):
    offenders = [
        f"{edge.module}:{edge.line} imports {edge.target}"
        for edge in edges
        if edge.module.split(".")[0] == package
        and ".tests" not in edge.module
        and edge.target.split(".")[0] in FORBIDDEN[package]
    ]
    assert not offenders, "\n".join(offenders)


def test_the_capabilities_of_dataops_import_only_those_below_them_tests_included(edges):
    offenders = upward_imports(edges, CAPABILITIES)
    assert not offenders, "\n".join(offenders)


def test_the_order_of_the_capabilities_has_no_circle():
    edges = [Import(own, below, 0, False, True) for own, allowed in CAPABILITIES.items() for below in allowed]
    assert cycles(edges) == []


def test_every_capability_is_a_package_of_dataops():
    assert {path.parent.name for path in (ROOT / "dataops").glob("*/__init__.py")} - {
        "management",
        "templatetags",
    } >= set(CAPABILITIES)


def test_no_module_is_in_an_import_cycle(edges):
    assert cycles(edges) == []


def test_every_import_inside_a_function_says_why(edges):
    silent = [f"{edge.module}:{edge.line}" for edge in edges if edge.in_function and not edge.explained]
    assert not silent, "imports inside functions without a reason:\n" + "\n".join(silent)


def test_the_rules_catch_planted_violations(tmp_path):
    package = tmp_path / "dataops"
    for capability in ("registry", "deletions"):
        (package / capability).mkdir(parents=True)
        (package / capability / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("from .registry import models\n")
    (package / "registry" / "models.py").write_text(
        "from ..deletions import ledger\n\n\ndef f():\n    from . import services\n"
    )
    (package / "registry" / "services.py").write_text("from . import models\n")
    (package / "deletions" / "ledger.py").write_text("from ..registry import models\nfrom .. import models as shell\n")
    planted = imports(tmp_path, ("dataops",))

    assert cycles(planted) == [
        ["dataops.deletions.ledger", "dataops.models", "dataops.registry.models", "dataops.registry.services"]
    ]
    assert upward_imports(planted, CAPABILITIES) == [
        "dataops.deletions.ledger:2 imports the app's shell (dataops.models)",
        "dataops.registry.models:1 (registry) imports dataops.deletions.ledger (deletions)",
    ]
    assert [(e.module, e.line) for e in planted if e.in_function and not e.explained] == [
        ("dataops.registry.models", 5)
    ]


def test_no_model_has_a_face_image_or_template_field():
    """Measures Art 8: the portal is an index of who is held where, never a store of faces."""

    suspicious = ("image", "photo", "template", "embedding", "feature", "biometric", "face_data")
    offenders = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in ("facerights", "consent", "dataops", "portal")
        for field in model._meta.get_fields()
        if field.concrete
        and any(word in field.name for word in suspicious)
        and field.get_internal_type() in ("BinaryField", "FileField", "ImageField", "TextField", "JSONField")
    ]
    assert offenders == []
