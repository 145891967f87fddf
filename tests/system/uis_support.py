"""Helpers of the tests that talk to a fake UIS: the fake in this process, crmctl's UIS
commands with its endpoints, a tenant with a checked key."""
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fake_uis"))
import calls as uis_calls  # noqa: E402,F401  (re-exported for the tests)
import fake_uis  # noqa: E402

from crm_writer_support import CRMCTL, base_env  # noqa: E402


class FakeUis:
    """The fake served on an ephemeral port of this host."""

    def __init__(self, minute_seconds=60):
        self.server, self.state = fake_uis.serve(0, minute_seconds=minute_seconds)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.data_url = self.base + "/v2.0"
        self.call_url = self.base + "/v4.0"

    def account(self, token, **spec):
        return uis_calls.post_json(self.base + "/_fake/account", {"token": token, **spec})

    def employees(self, token, employees, remove=()):
        uis_calls.post_json(self.base + "/_fake/employees",
                            {"token": token, "employees": employees, "remove": list(remove)})

    def calls(self, token, rows):
        uis_calls.post_json(self.base + "/_fake/calls", {"token": token, "calls": rows})

    def end_call(self, token, external_id, talk=30):
        """The call UIS started for external_id ends now (talk 0: the client did not answer);
        its calls report row gets its finish. The call session id."""
        return uis_calls.post_json(self.base + "/_fake/end_call",
                                   {"token": token, "external_id": external_id,
                                    "talk": talk})["id"]

    def fail(self, **spec):
        uis_calls.post_json(self.base + "/_fake/fail", spec)

    def delay(self, seconds):
        uis_calls.post_json(self.base + "/_fake/delay", {"seconds": seconds})

    def log(self, app_id=None):
        return uis_calls.post_json(self.base + "/_fake/log", {"app_id": app_id})["log"]

    def env(self):
        return {"UIS_DATA_API_URL": self.data_url, "UIS_CALL_API_URL": self.call_url}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_uis_server():
    fake = FakeUis()
    yield fake
    fake.close()


def new_key():
    return "uis-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def crmctl_uis(stack, fake, *args, stdin=None, check=True, **env):
    proc = subprocess.run([str(CRMCTL), *map(str, args)], input=stdin,
                          env=base_env(stack, **fake.env(), **env), capture_output=True,
                          text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"crmctl {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def migrated(stack):
    from crm_writer_support import crmctl
    crmctl(stack, "migrate")
    return stack
