"""The simulator's kiosk, written from the guide alone, asks consent through FaceRights end to end over HTTP."""

import pytest

from consent.models import ConsentSession
from dataops.models import Holding
from dataops.registry.models import ProcessingSystem
from simulator.kiosk import Kiosk
from simulator.store import Store
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_kiosk_enrols_the_guest_who_consents_and_does_not_ask_the_one_who_said_no_again(
    live_server, entity, purpose, tmp_path, settings
):
    settings.FACERIGHTS_BASE_URL = live_server.url  # the QR code's address, as a guest's phone opens it
    settings.CSRF_COOKIE_SECURE = False  # the test server speaks plain HTTP, and urllib keeps secure cookies to HTTPS
    system, token = factories.pull_system(entity=entity, purpose=purpose)
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    store = Store(tmp_path / "kiosk.sqlite3")
    kiosk = Kiosk(token=token, store=store, portal_url=live_server.url, purpose=purpose.code)

    assert kiosk.check_in("ROOM-801", answer="consent", date_of_birth="1985-02-03") == "consented"
    holding = Holding.objects.get(system=system, subject_key="ROOM-801")
    assert holding.consent == ConsentSession.objects.get(subject_key="ROOM-801").record
    assert store.inventory() == ["ROOM-801"]

    assert kiosk.check_in("ROOM-802", answer="decline") == "declined"
    assert kiosk.check_in("ROOM-802", answer="consent", date_of_birth="1985-02-03") == "suppressed"
    assert not Holding.objects.filter(subject_key="ROOM-802").exists() and store.inventory() == ["ROOM-801"]
