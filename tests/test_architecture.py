"""Imports run one way: portal -> consent, dataops; dataops -> consent; the kernel imports no app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "facerights": {"consent", "dataops", "portal"},
    "consent": {"dataops", "portal"},
    "dataops": {"portal"},
    "portal": set(),
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        bad = _imported_packages(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


def test_no_model_has_a_face_image_or_template_field():
    """Measures Art 8: the portal is an index of who is held where, never a store of faces."""
    from django.apps import apps

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
