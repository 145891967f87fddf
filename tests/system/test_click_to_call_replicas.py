"""Click-to-call's per-user limit across notifier replicas (issue 18): CALLS_MAX_IN_FLIGHT holds
for a user whose requests reach two replicas (a load balancer spreads them), because every
replica reads crm.call-requests.v1 back, all partitions, and counts each request until its
outcome comes on the popup feed."""
import uuid

import requests

from pipeline_stack import wait_until
from pipeline_support import Service, free_port
from test_click_to_call import call, result, start_dialer, uis_tenant, world  # noqa: F401


def second_notifier(pipe):
    port = free_port()
    n = Service("notifier", dict(pipe.env, HTTP_PORT=str(port),
                                 INSTANCE_ID=f"n2-{uuid.uuid4().hex[:6]}"))
    n.start(ready_timeout=60)
    n.url = f"http://127.0.0.1:{port}"
    pipe.dialers.append(n)  # stopped with the world
    return n


def post(url, t, login, phone):
    return requests.post(url + "/v1/calls", json={"phone": phone},
                         headers={"Authorization": f"Bearer {t.token(login)}"}, timeout=15)


def test_the_limit_holds_across_two_replicas(stack, world):
    t = uis_tenant(world)
    other = second_notifier(world)
    urls = [world.notifier_url, other.url]
    # no dialer runs: nothing comes back, every accepted request stays in flight
    codes = [post(urls[i % 2], t, "anna", f"8916000001{i}").status_code for i in range(3)]
    assert codes == [202, 202, 202], codes
    # each replica counts all three (it reads every replica's requests back) ...
    replicas = [world.services["notifier"], other]
    for n in replicas:
        wait_until(lambda n=n: n.metric("notifier_call_requests_in_flight") == 3, 20,
                   what="every replica to count the three requests")
    # ... so the fourth is refused whichever replica takes it
    for url in urls:
        r = post(url, t, "anna", "89160000019")
        assert r.status_code == 429 and r.json()["error"] == "too_many_calls", r.text
    # another user is not counted with anna
    t.user("olga", "Ольга Новая", ext="114")
    assert post(other.url, t, "olga", "89160000020").status_code == 202
    # the dialer answers: both replicas let anna call again
    start_dialer(world)
    anna = t.stream("anna")
    for url in urls:
        r = wait_until(lambda u=url: (lambda x: [x] if x.status_code == 202 else None)(
            post(u, t, "anna", "89160000021")), 30, what=f"{url} to release anna's requests")
        assert result(anna, r[0].json()["request_id"])["status"] == "calling"
