"""Every state change goes through a service, with its audit event.

Views, the API, admin classes, tasks and management commands call services; they never
save, update, delete or create a model row themselves. The source of each is read (AST)
and every write call is a failure; the allow-list is empty. A planted violation of each
kind shows the check still sees them. A second check walks the admin's registry: a
model the admin can add, change or delete saves and deletes through a service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("facerights", "consent", "dataops", "portal")
ALLOWED: set[str] = set()  # "path:line" of a write a reviewer accepted; none

ALWAYS_WRITES = {"create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
QUERYSET_METHODS = {"objects", "filter", "exclude", "all", "select_for_update", "select_related", "only", "order_by"}


def entry_points() -> list[Path]:
    """Views, the API, admin classes, tasks and management commands."""
    paths: set[Path] = set()
    for package in PACKAGES:
        base = ROOT / package
        paths |= {p for p in base.rglob("*.py") if p.name in ("views.py", "admin.py", "tasks.py", "api.py")}
        paths |= set(base.rglob("views/*.py"))
        paths |= set(base.rglob("management/commands/*.py"))
    paths.add(ROOT / "portal" / "adapter.py")  # allauth's hooks into our accounts
    return sorted(p for p in paths if "tests" not in p.parts and p.name != "__init__.py")


def _chain(node: ast.AST) -> list[str]:
    """The names along a call chain, receiver first: `Filing.objects.filter(x).update` -> [Filing, objects, filter]."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return list(reversed(names))
        else:
            return list(reversed(names))


def _is_super(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def writes(source: str) -> list[tuple[int, str]]:
    """Every direct write in a module's source: (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, node.func.value
        chain = _chain(receiver)
        if (
            method in ALWAYS_WRITES
            or method in ("save", "delete")
            and not _is_super(receiver)
            and "session" not in chain
        ):
            found.append((node.lineno, f"{'.'.join(chain)}.{method}()"))
        elif method == "update" and (QUERYSET_METHODS & set(chain) or any("queryset" in name for name in chain)):
            found.append((node.lineno, f"{'.'.join(chain)}.update()"))
    return found


def test_the_entry_points_are_found():
    names = {str(p.relative_to(ROOT)) for p in entry_points()}
    assert {
        "portal/views/deletions.py",
        "dataops/api.py",
        "dataops/filings/admin.py",
        "dataops/deletions/tasks.py",
    } <= names
    assert "dataops/management/commands/seed_demo.py" in names


@pytest.mark.parametrize("path", entry_points(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_view_admin_task_or_command_writes_a_row_itself(path):
    relative = path.relative_to(ROOT)
    found = [f"{relative}:{line} {what}" for line, what in writes(path.read_text())]
    assert [f for f in found if f.split(" ")[0] not in ALLOWED] == []


@pytest.mark.parametrize(
    "snippet",
    [
        "def view(request, pk):\n    filing = Filing.objects.get(pk=pk)\n    filing.agent_name = 'x'\n    filing.save()\n",
        "def action(self, request, queryset):\n    queryset.update(state='done')\n",
        "def view(request):\n    Filing.objects.filter(state='draft').update(progress=0)\n",
        "def task(pk):\n    Propagation.objects.get(pk=pk).delete()\n",
        "def command():\n    RegulatorAccount.objects.create(province='31')\n",
        "def view(request, system):\n    system.holdings.create(subject_key='K')\n",
    ],
    ids=["save", "queryset update", "manager update", "delete", "create", "related create"],
)
def test_a_planted_write_of_each_kind_is_found(snippet):
    assert len(writes(snippet)) == 1


def test_reads_and_delegations_are_not_writes():
    source = (
        "def view(request):\n"
        "    data = {}\n    data.update(a=1)\n    request.session.save()\n"
        "    super().save_model(request, obj, form, change)\n    Filing.objects.filter(x=1).count()\n"
    )
    assert writes(source) == []


DOMAIN_APPS = ("facerights", "consent", "dataops")


def _admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()]


@pytest.mark.parametrize(
    "model, model_admin",
    [(m, a) for m, a in _admins() if m._meta.app_label in DOMAIN_APPS],
    ids=lambda value: value._meta.label if hasattr(value, "_meta") else type(value).__name__,
)
def test_every_admin_that_can_write_saves_through_a_service(rf, model, model_admin):
    """Django's own save_model and delete_model write the row with no audit event: each is overridden."""
    request = rf.get("/")
    request.user = type("Superuser", (), {"is_active": True, "is_superuser": True, "has_perm": lambda *a: True})()
    can_save = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
    can_delete = model_admin.has_delete_permission(request)
    if can_save:
        assert type(model_admin).save_model is not admin.ModelAdmin.save_model, f"{model._meta.label} saves itself"
    if can_delete:
        assert type(model_admin).delete_model is not admin.ModelAdmin.delete_model
        assert type(model_admin).delete_queryset is not admin.ModelAdmin.delete_queryset
    for inline in model_admin.get_inline_instances(request):
        assert not inline.can_delete, f"{model._meta.label}: an inline deletes rows itself"
