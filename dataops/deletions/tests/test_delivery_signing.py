"""Standard Webhooks signatures, as the portal and a vendor compute them."""

import json
import time
import urllib.error
import urllib.request

import pytest

from dataops.deletions.delivery import signing
from dataops.registry.credentials import secret_new
from simulator import signing as vendor


def test_the_portal_and_a_vendor_agree_on_the_signature():
    secret = secret_new()
    body = b'{"instructions":[]}'
    headers = signing.sign_headers([secret], "msg_1", body)
    assert vendor.verify(secret, headers, body)
    assert signing.verify([secret], vendor.headers(secret, "msg_1", body), body) == "msg_1"


@pytest.mark.parametrize("tamper", ["body", "id", "key", "old_timestamp", "future_timestamp"])
def test_the_simulator_rejects_a_tampered_delivery(simulated_push, tamper):
    simulator = simulated_push(keys=["KEY-1"])
    body = json.dumps({"instructions": [{"id": "i1", "subject_key": "KEY-1", "action": "delete"}]}).encode()
    stamp = int(time.time()) + {"old_timestamp": -310, "future_timestamp": 310}.get(tamper, 0)
    secret = secret_new() if tamper == "key" else simulator.secret
    headers = signing.sign_headers([secret], "msg_1", body, timestamp=stamp)
    if tamper == "id":
        headers["webhook-id"] = "msg_other"
    if tamper == "body":
        body = body.replace(b"KEY-1", b"KEY-2")
    request = urllib.request.Request(simulator.url, data=body, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 401
    assert simulator.store.inventory() == ["KEY-1"]


def test_the_simulator_accepts_a_good_delivery(simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    body = json.dumps({"instructions": [{"id": "i1", "subject_key": "KEY-1", "action": "delete"}]}).encode()
    request = urllib.request.Request(
        simulator.url, data=body, headers=signing.sign_headers([simulator.secret], "i1", body), method="POST"
    )
    answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
    assert answer["results"][0]["status"] == "deleted"
    assert simulator.store.inventory() == []
