"""Fixtures shared by the API tests."""

import pytest

from dataops.registry.models import ProcessingSystem
from tests import factories


@pytest.fixture
def kiosk(entity, purpose):
    """A check-in kiosk that asks consent through FaceRights, and its token."""
    system, token = factories.pull_system(entity=entity, purpose=purpose, name_en="Lobby kiosk")
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    system.refresh_from_db()
    return system, token
