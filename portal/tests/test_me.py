"""A person's own pages: consent on its own screen, refusals, requests and refusals, copies, guardians."""

import datetime as dt
import io
import json
import zipfile

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentRecord, ConsentRefusal
from consent.services import Provenance, consent_withdraw, guardianship_record, subject_link_user
from dataops.copies.services import export_build, export_request
from dataops.deletions.opening import deletion_request_open
from dataops.models import DataExport, DeletionRequest, Request
from dataops.registry.services import system_retire, system_save
from dataops.requests.services import request_refuse, request_submit
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(client, subject):
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    return user


def signed_in_now(client, user, *, seconds_ago: int = 0):
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [{"method": "code", "at": timezone.now().timestamp() - seconds_ago}]
    session.save()


def _consent_url(system):
    return reverse("portal:consent_give", args=[system.pk, system.purposes.first().code])


def test_the_consent_screen_is_separate_and_never_pre_ticked(client, me, subject, system):
    page = client.get(_consent_url(system)).content.decode()
    checkbox = page[page.index('name="agree"') - 200 : page.index('name="agree"') + 200]
    assert 'type="checkbox"' in checkbox and "checked" not in checkbox
    assert "retention (zh)" in page  # the notice is on the same screen, in the page's language
    assert client.post(_consent_url(system), {"consent": "1"}).status_code == 200  # unticked: nothing recorded
    assert not ConsentRecord.objects.exists()
    client.post(_consent_url(system), {"consent": "1", "agree": "on"})
    record = ConsentRecord.objects.get()
    assert (record.subject, record.channel, record.method) == (subject, "portal", "separate")


def test_no_consent_is_taken_for_a_system_awaiting_reassessment(client, me, subject, system):
    # Used to pass: a system whose processing had changed went on collecting new consents.
    url = _consent_url(system)
    system_save(actor="dpo", system=system, purposes=[*system.purposes.all(), factories.purpose()])
    page = client.post(url, {"consent": "1", "agree": "on"}).content.decode()
    assert "新的影响评估尚未批准" in page
    assert not ConsentRecord.objects.exists()


def test_the_consent_screen_asks_a_date_of_birth_it_does_not_know(client, system):
    # Used to pass: someone whose age was unknown consented as an adult.
    unknown = factories.subject(phone="13700137000", date_of_birth=None)
    factories.subject_login(client, unknown)
    url = _consent_url(system)
    assert 'name="date_of_birth"' in client.get(url).content.decode()
    page = client.post(url, {"agree": "on"}).content.decode()
    assert "请填写出生日期" in page and not ConsentRecord.objects.exists()

    child = (timezone.localdate() - dt.timedelta(days=365 * 10)).isoformat()
    page = client.post(url, {"agree": "on", "date_of_birth": child}).content.decode()
    assert "不满十四周岁" in page and not ConsentRecord.objects.exists()
    unknown.refresh_from_db()
    assert unknown.date_of_birth is None  # nothing was kept from the refused attempt

    client.post(url, {"agree": "on", "date_of_birth": "1992-02-02"})
    assert ConsentRecord.objects.get().subject == unknown
    unknown.refresh_from_db()
    assert unknown.date_of_birth == dt.date(1992, 2, 2)


def test_after_a_refusal_no_new_prompt_for_48_hours(client, me, subject, system):
    client.post(_consent_url(system), {"refuse": "1"})
    assert ConsentRefusal.objects.filter(subject=subject, system=system).exists()
    assert "48" in client.get(_consent_url(system)).content.decode()
    ConsentRefusal.objects.update(at=timezone.now() - dt.timedelta(hours=49))
    assert 'name="agree"' in client.get(_consent_url(system)).content.decode()


def test_a_refusal_changes_nothing_else(client, me, subject, system):
    client.post(_consent_url(system), {"refuse": "1"})
    for name in ("portal:dashboard", "portal:requests", "portal:consent_history", "portal:contact"):
        assert client.get(reverse(name)).status_code == 200


def test_a_guardian_consents_for_their_child_and_sees_the_childs_holdings(client, me, subject, system):
    child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 9))
    guardianship_record(actor="t", ward=child, guardian=subject, relationship="parent", verified=True)
    url = reverse("portal:ward_consent_give", args=[child.uuid, system.pk, system.purposes.first().code])
    client.post(url, {"consent": "1", "agree": "on"})
    record = ConsentRecord.objects.get(subject=child)
    assert (record.method, record.guardian) == ("guardian", subject)
    factories.holding(child, system, consent=record)
    assert system.name_zh in client.get(reverse("portal:ward_dashboard", args=[child.uuid])).content.decode()


def test_a_guardian_makes_every_request_for_their_child_under_the_childs_name(client, me, subject, system):
    child = factories.ward_of(subject, name="王小宝")
    record = factories.consent(child, system, method=ConsentRecord.Method.GUARDIAN, guardian=subject)
    factories.holding(child, system, key="CHILD-KEY", consent=record)
    own = factories.holding(subject, system, key="OWN-KEY")
    assert "王小宝" in client.get(reverse("portal:dashboard")).content.decode()  # the child by name, not "Child 1"
    page = client.get(reverse("portal:ward_dashboard", args=[child.uuid])).content.decode()
    assert "王小宝" in page and reverse("portal:ward_requests", args=[child.uuid]) in page

    response = client.post(
        reverse("portal:ward_request_new", args=[child.uuid]), {"type": "correction", "details": "名字写错了"}
    )
    item = Request.objects.get(type="correction")
    assert item.subject == child and response.url == reverse("portal:request_detail", args=[item.reference])
    assert client.get(response.url).status_code == 200
    assert item.reference in client.get(reverse("portal:ward_requests", args=[child.uuid])).content.decode()
    assert item.reference not in client.get(reverse("portal:requests")).content.decode()

    client.post(reverse("portal:ward_copy_request", args=[child.uuid]))
    assert DataExport.objects.get().subject == child

    client.post(reverse("portal:ward_consents_withdraw_all", args=[child.uuid]))
    record.refresh_from_db()
    own.consent.refresh_from_db()
    assert record.state == ConsentRecord.State.WITHDRAWN
    assert own.consent.state == ConsentRecord.State.ACTIVE  # the guardian's own consent is untouched


def test_nobody_acts_for_a_child_they_are_not_the_guardian_of(client, me, other_subject):
    stranger_child = factories.ward_of(other_subject)
    for name, method in (
        ("portal:ward_requests", "get"),
        ("portal:ward_request_new", "post"),
        ("portal:ward_copy_request", "post"),
        ("portal:ward_consents_withdraw_all", "post"),
    ):
        response = getattr(client, method)(reverse(name, args=[stranger_child.uuid]), {"type": "correction"})
        assert response.status_code == 404, name
    assert not Request.objects.exists() and not DataExport.objects.exists()


def test_a_child_under_14_cannot_consent_from_their_own_account(client, system):
    child = factories.subject(phone="13600000001", date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 13))
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=child, user=user)
    client.force_login(user)
    response = client.post(_consent_url(system), {"consent": "1", "agree": "on"})
    assert response.status_code == 200
    assert not ConsentRecord.objects.exists()


def test_a_guardian_of_someone_else_sees_nothing(client, me, system):
    stranger_child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 9))
    assert client.get(reverse("portal:ward_dashboard", args=[stranger_child.uuid])).status_code == 404
    url = reverse("portal:ward_consent_give", args=[stranger_child.uuid, system.pk, system.purposes.first().code])
    assert client.post(url, {"consent": "1", "agree": "on"}).status_code == 404


@pytest.mark.parametrize(
    "kind",
    [
        "access",
        "correction",
        "deletion",
        "restriction",
        "explanation",
        "complaint",
    ],
)
def test_every_request_type_can_be_made_with_minimal_fields(client, me, subject, system, kind):
    factories.holding(subject, system)
    response = client.post(
        reverse("portal:request_new"), {"type": kind, "details": "请核实" if kind != "deletion" else ""}
    )
    item = Request.objects.get()
    assert response["Location"] == reverse("portal:request_detail", args=[item.reference])
    assert item.type == kind and item.due_on > timezone.localdate()
    if kind == "deletion":
        assert DeletionRequest.objects.get(subject=subject).request == item


def test_switching_to_a_non_face_method_deletes_there_and_ends_the_consent(client, me, subject, system):
    holding = factories.holding(subject, system)
    client.post(reverse("portal:request_new"), {"type": "switch_alternative", "system": system.pk})
    deletion = DeletionRequest.objects.get(subject=subject)
    assert deletion.trigger == "switch_alternative"
    assert ConsentRecord.objects.get(pk=holding.consent.pk).state == "withdrawn"


def test_a_bad_request_is_explained_and_nothing_is_created(client, me):
    response = client.post(reverse("portal:request_new"), {"type": "correction", "details": ""})
    assert response.status_code == 400
    response = client.post(reverse("portal:request_new"), {"type": "not-a-type"})
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_a_refusal_shows_its_reason_and_where_to_complain(client, me, subject):
    client.post(reverse("portal:request_new"), {"type": "access"})
    item = Request.objects.get()
    request_refuse(
        actor="dpo", request=item, reason_code="identity_unverified", text="无法核实您的身份，请携带证件到前台。"
    )
    page = client.get(reverse("portal:request_detail", args=[item.reference])).content.decode()
    assert "无法核实您的身份" in page
    assert "网信部门" in page and "人民法院" in page


def test_a_refusal_needs_a_reason(subject):

    item = request_submit(actor="t", subject=subject, type="access")
    with pytest.raises(ValidationError):
        request_refuse(actor="dpo", request=item, reason_code="", text="")
    with pytest.raises(ValidationError):
        request_refuse(actor="dpo", request=item, reason_code="legal_retention", text=" ")


def test_a_copy_holds_json_and_a_pdf_and_no_face_data(client, me, subject, system):
    factories.holding(subject, system)
    response = client.post(reverse("portal:copy_request"))
    export = DataExport.objects.get()
    assert response["Location"] == reverse("portal:copy_status", args=[export.pk])
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.state, export.progress) == ("ready", 100)
    content = client.get(reverse("portal:copy_download", args=[export.pk])).content
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert set(archive.namelist()) == {
        "facerights-data.json",
        "facerights-data.schema.json",
        "facerights-data.pdf",
        "README.txt",
    }
    data = json.loads(archive.read("facerights-data.json"))
    assert data["holdings"][0]["system"] == system.name_zh
    assert {"kind": "phone", "value": "+8613800138000"} in data["subject"]["identifiers"]
    text = json.dumps(data)
    for forbidden in ("image_data", "template_data", "base64", "embedding"):
        assert forbidden not in text
    assert archive.read("facerights-data.pdf").startswith(b"%PDF")
    assert Request.objects.get(type="copy").state == "completed"


def test_a_copy_is_for_the_account_that_asked_and_expires(client, me, subject):
    client.post(reverse("portal:copy_request"))
    export = DataExport.objects.get()
    export_build(export_id=export.pk)
    url = reverse("portal:copy_download", args=[export.pk])
    other = factories.user_with_role("data_subject")
    client.force_login(other)
    signed_in_now(client, other)
    assert client.get(url).status_code == 404
    client.force_login(me)
    signed_in_now(client, me)
    DataExport.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(url).status_code == 404


def test_a_copy_after_a_stale_sign_in_asks_to_reauthenticate_but_a_withdrawal_never_does(client, subject, system):

    holding = factories.holding(subject, system)
    user = factories.user_with_role("data_subject")
    EmailAddress.objects.create(user=user, email="me@example.com", verified=True, primary=True)
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user, seconds_ago=3600)
    response = client.post(reverse("portal:copy_request"))
    assert response.status_code == 302 and "reauthenticate" in response["Location"]  # a password to re-enter
    assert not DataExport.objects.exists()
    response = client.post(reverse("portal:consent_withdraw", args=[holding.consent.pk]))
    assert response.status_code == 302 and "reauthenticate" not in response["Location"]


def test_a_passwordless_account_signs_in_again_before_a_copy(client, subject):

    user = get_user_model().objects.create_user(username="nopassword")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user, seconds_ago=3600)
    response = client.post(reverse("portal:copy_request"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert not DataExport.objects.exists()


def test_withdraw_all_is_one_confirmation(client, me, subject, system, entity, purpose):
    other = factories.active_system(entity=entity, purpose=purpose)
    factories.holding(subject, system)
    factories.holding(subject, other)
    client.post(reverse("portal:consents_withdraw_all"))
    deletion = DeletionRequest.objects.get(subject=subject)
    assert deletion.propagations.count() == 2
    assert set(ConsentRecord.objects.values_list("state", flat=True)) == {"withdrawn"}


def test_the_consent_history_lists_events(client, me, subject, system):
    holding = factories.holding(subject, system)

    consent_withdraw(actor="t", record=holding.consent, provenance=Provenance())
    page = client.get(reverse("portal:consent_history")).content.decode()
    assert page.count("<li>") >= 2


def test_following_a_link_never_signs_anyone_out_and_a_strangers_copy_is_404_first(client, subject):
    # Used to pass: GET /me/copy/<any id>/download/ signed a passwordless person out, from any site.
    user = get_user_model().objects.create_user(username="nopassword-get")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user, seconds_ago=3600)
    assert client.get(reverse("portal:copy_download", args=[987654])).status_code == 404
    assert client.session.get("_auth_user_id") == str(user.pk)
    export = export_request(actor="t", user=user, subject=subject, language="zh-hans")
    page = client.get(reverse("portal:copy_download", args=[export.pk]))
    assert page.status_code == 200 and reverse("portal:sign_in_again") in page.content.decode()
    assert client.session.get("_auth_user_id") == str(user.pk)  # still signed in
    back = client.post(reverse("portal:sign_in_again"), {"next": reverse("portal:copy_status", args=[export.pk])})
    assert back.status_code == 302 and back["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_the_switch_says_before_sending_what_it_does_and_which_way_in_replaces_the_face(client, me, subject, system):
    factories.holding(subject, system)
    page = client.get(reverse("portal:request_new"), headers={"Accept-Language": "en"}).content.decode()
    assert "withdraws your face consent at that system and deletes your facial data there" in page
    assert f"{system.name_en or system.name_zh} (without your face: " in page


def test_the_notice_a_person_consented_to_stays_readable_in_that_version(client, me, subject, system, other_subject):
    record = factories.holding(subject, system).consent
    first = record.notice
    factories.published_notice(system)  # a new version since
    system_retire(actor="t", system=system)
    assert client.get(reverse("portal:processing_rules", args=[system.pk])).status_code == 404
    page = client.get(reverse("portal:consent_notice", args=[record.pk]), headers={"Accept-Language": "en"})
    body = page.content.decode()
    assert page.status_code == 200 and f"Notice version {first.version}," in body
    assert first.snapshot["en"]["retention"] in body and "as you consented to it" in body
    others = factories.holding(other_subject, factories.active_system(entity=system.entity, purpose=record.purpose))
    assert client.get(reverse("portal:consent_notice", args=[others.consent.pk])).status_code == 404


def test_the_guardians_view_names_the_child_and_calls_the_consent_the_guardians(client, me, subject, system):
    child = factories.ward_of(subject, name="王小宝")
    consent = factories.consent(child, system, method="guardian", guardian=subject)
    factories.holding(child, system, consent=consent)
    page = client.get(reverse("portal:ward_dashboard", args=[child.uuid]), headers={"Accept-Language": "en"})
    body = page.content.decode()
    assert "王小宝" in body and "Your consent as the child's guardian" in body
    assert "<dt>Your consent</dt>" not in body


def test_where_is_my_face_leads_with_a_summary_and_says_why_each_holding_is_kept(client, me, subject, system, purpose):
    other = factories.active_system(entity=system.entity, purpose=purpose)
    factories.holding(subject, system)
    factories.holding(subject, other)
    deletion_request_open(actor="t", subject=subject, trigger="subject_request", systems=[other])
    page = client.get(reverse("portal:dashboard"), headers={"Accept-Language": "en"}).content.decode()
    summary = page[page.index('class="summary"') : page.index("</p>", page.index('class="summary"'))]
    assert "2 systems" in summary and "1 deletion in progress" in summary
    assert f"why: {system.retention_justification_en or system.retention_justification_zh}" in page
    assert 'class="badge badge-deletion_pending"' in page
