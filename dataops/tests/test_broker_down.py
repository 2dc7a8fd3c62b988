"""The broker refuses: a person's action is still recorded and answered, and the sweepers deliver it later."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from celery.app.task import Task
from django.urls import reverse
from kombu.exceptions import OperationalError

from consent.services import subject_link_user
from dataops.copies.services import export_request
from dataops.deletions.tasks import propagations_sweep
from dataops.filings.documents import DOCUMENTS, filing_build_document
from dataops.filings.services import filing_create, filing_generate
from dataops.models import DataExport, DeletionRequest
from dataops.workbench.tasks import queued_work_sweep
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):  # noqa: PT004 (sets things up, returns nothing)
    """Every publish fails as kombu fails when Redis refuses the connection."""

    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)


def test_a_withdrawal_while_the_broker_is_down_is_recorded_answered_and_later_delivered(
    client, subject, system, broker_down, django_capture_on_commit_callbacks, caplog, monkeypatch
):
    factories.holding(subject, system)
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:consents_withdraw_all"))
    deletion = DeletionRequest.objects.get(subject=subject)
    assert response.status_code == 302 and response["Location"].endswith(f"/requests/{deletion.reference}/")
    assert "broker unavailable: deletions.deliver not queued now" in caplog.text

    monkeypatch.undo()  # the broker is back
    queued = []
    monkeypatch.setattr(
        Task, "apply_async", lambda self, args=(), kwargs=None, **options: queued.append((self.name, args))
    )
    assert propagations_sweep()["systems"] == 1
    assert ("deletions.dispatch", (system.pk,)) in queued


def test_a_copy_asked_for_while_the_broker_is_down_is_built_once_it_is_back(
    subject, broker_down, django_capture_on_commit_callbacks, monkeypatch
):
    user = factories.user_with_role("data_subject")
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(actor="t", user=user, subject=subject, language="en")
    assert DataExport.objects.get(pk=export.pk).state == DataExport.State.QUEUED

    monkeypatch.undo()
    queued = []
    monkeypatch.setattr(
        Task, "apply_async", lambda self, args=(), kwargs=None, **options: queued.append((self.name, args))
    )
    assert queued_work_sweep() == 0  # a fresh request may still be on its way to a worker
    DataExport.objects.filter(pk=export.pk).update(created_at=export.created_at - dt.timedelta(minutes=6))
    assert queued_work_sweep() == 1
    assert queued == [("copies.build", (export.pk,))]


def test_filing_documents_never_queued_are_queued_by_the_sweeper_only_those_missing(
    entity, system, broker_down, django_capture_on_commit_callbacks, monkeypatch
):

    filing = filing_create(actor="t", entity=entity, kind="initial")
    with django_capture_on_commit_callbacks(execute=True):
        filing_generate(actor="t", filing=filing)  # the six builds are lost with the broker
    kind, language = DOCUMENTS[0]
    filing_build_document(filing_id=filing.pk, kind=kind, language=language)  # one got built somehow

    monkeypatch.undo()
    queued = []
    monkeypatch.setattr(
        Task, "apply_async", lambda self, args=(), kwargs=None, **options: queued.append((self.name, args))
    )
    assert queued_work_sweep() == len(DOCUMENTS) - 1
    assert sorted(args for _name, args in queued) == sorted((filing.pk, k, lang) for k, lang in DOCUMENTS[1:])
