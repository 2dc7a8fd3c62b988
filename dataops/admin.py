"""The `dataops` admin, gathered from its capabilities for Django's admin autodiscovery.

Each capability registers its models in its own `admin.py`. A capability that adds to a
model of the one below it (deletions adds the connection test to the systems, filings
adds the end of face recognition to the entities) registers its subclass after
unregistering the base, so these are imported from the bottom up.
"""

from .registry import admin as registry_admin
from .requests import admin as requests_admin

from .deletions import admin as deletions_admin  # isort: skip (after the registry's)
from .filings import admin as filings_admin  # isort: skip
from .incidents import admin as incidents_admin  # isort: skip
from .desk import admin as desk_admin  # isort: skip
from .workbench import admin as workbench_admin  # isort: skip

__all__ = [
    "deletions_admin",
    "desk_admin",
    "filings_admin",
    "incidents_admin",
    "registry_admin",
    "requests_admin",
    "workbench_admin",
]
