"""The simulator's kiosk, written from the guide alone, asks consent through FaceRights end to end over HTTP."""

import datetime

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


def test_many_guests_answering_at_once_at_one_kiosk_all_get_recorded(entity, purpose):
    """Answers for one system lock only their own session (the benchmark found a deadlock when they locked the
    system's and purpose's rows too)."""
    import threading  # noqa: PLC0415 (only this test runs threads)

    from django.db import connection  # noqa: PLC0415

    from consent.services import Provenance  # noqa: PLC0415
    from consent.sessions import consent_session_answer, consent_session_open  # noqa: PLC0415

    system, _token = factories.pull_system(entity=entity, purpose=purpose)
    errors: list[Exception] = []
    guests = 8
    start = threading.Barrier(guests)

    def check_in(n):
        try:
            start.wait()
            for round_ in range(3):  # each guest's kiosk opens and the guest answers, again and again
                session, _page = consent_session_open(
                    actor="t", system=system, purpose=purpose, subject_key=f"LOBBY-{n}-{round_}"
                )
                consent_session_answer(
                    session=session,
                    answer="consent",
                    date_of_birth=datetime.date(1980, 1, 1),
                    notice_version=1,
                    provenance=Provenance(channel="device"),
                )
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check_in, args=(n,)) for n in range(guests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(ConsentSession.objects.filter(system=system).values_list("state", flat=True).distinct()) == [
        "consented"
    ]
    assert ConsentSession.objects.filter(system=system).count() == 3 * guests
