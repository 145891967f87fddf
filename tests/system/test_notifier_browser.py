"""The popup page in a real browser: headless Chromium (Debian's) opens the page the notifier
serves with a user's token; popup messages produced to Kafka make cards appear, turn "in call"
and close. Screenshots go to tests/artifacts/ (kept as the test's artifact)."""
import json
import shutil
import subprocess
import time
import uuid

import pytest

from notifier_support import (REPO, Notifier, make_producer, make_topic, new_secret, popup,
                              popup_token, produce)
from harness import binary, needs_binaries

pytestmark = needs_binaries(binary("notifier"))

BROWSER_DIR = REPO / "tests" / "browser"
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def browser_env(stack, tmp_path):
    if not shutil.which("node") or not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("run `npm install` in tests/browser first (playwright-core)")
    topic, admin = make_topic(stack["brokers"])
    key, key_b64 = new_secret()
    n = Notifier(stack["brokers"], topic, key_b64, tmp_path / "notifier.log").start()
    yield n, key, topic, make_producer(stack["brokers"])
    n.stop()
    admin.delete_topics([topic])


class Browser:
    def __init__(self, url, first="#conn.conn-online"):
        ARTIFACTS.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(["node", str(BROWSER_DIR / "popup.test.mjs"), url,
                                      str(ARTIFACTS), first], cwd=BROWSER_DIR,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def read(self, allow_problems=False):
        line = self.proc.stdout.readline()
        assert line, "the browser driver exited"
        out = json.loads(line)
        assert out["ok"], out
        assert allow_problems or not out.get("problems"), out["problems"]
        return out

    def wait(self, selector, shot=None, gone=False, settle=0, allow_problems=False, click=None,
             fill=None, text=None):
        """Optionally fill a field and click, then wait for selector."""
        self.proc.stdin.write(json.dumps({"wait": selector, "shot": shot, "gone": gone,
                                          "settle": settle, "click": click, "fill": fill,
                                          "text": text}) + "\n")
        self.proc.stdin.flush()
        return self.read(allow_problems)

    def quit(self):
        if self.proc.poll() is None:
            self.proc.stdin.write('{"quit": true}\n')
            self.proc.stdin.flush()
            self.proc.wait(30)


def card(_, popup_id, state):
    return f'.card[data-popup-id="{popup_id}"][data-state="{state}"]'


def test_popup_page_shows_calls(browser_env):
    n, key, topic, producer = browser_env
    tenant = f"acme{uuid.uuid4().hex[:6]}"
    token = popup_token(key, tenant, 5)
    b = Browser(f"http://127.0.0.1:{n.port}/popup?token={token}")
    try:
        first = b.read()
        assert first["conn"] == "На связи"
        assert "token=" not in first["url"]  # the token left the address bar

        known = popup(tenant, 5, "3001", "show", "ringing",
                      ringing_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      counterparty={"id": 42, "name": "ООО «Ромашка»"},
                      responsible={"id": 5, "name": "Анна Смирнова"},
                      deal={"id": 9, "title": "Поставка оборудования"})
        fresh = popup(tenant, 5, "3002", "show", "ringing",
                      ringing_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      caller={"number": "+79165550101", "formatted": "+7 (916) 555-01-01"},
                      virtual_number={"number": "+74951234567",
                                      "formatted": "+7 (495) 123-45-67"})
        produce(producer, topic, [known, fresh])
        out = b.wait(card(None, fresh["popup_id"], "ringing"), shot="popup-ringing", settle=400)
        cards = {c["popup_id"]: c for c in out["cards"]}
        assert set(cards) == {known["popup_id"], fresh["popup_id"]}
        k = cards[known["popup_id"]]["text"]
        for text in ("Входящий звонок", "+7 (903) 111-22-33", "ООО «Ромашка»",
                     "+7 (499) 348-29-58", "Анна Смирнова", "Поставка оборудования"):
            assert text in k, (text, k)
        assert "Новый клиент" in cards[fresh["popup_id"]]["text"]

        answered = dict(known, action="update", state="in_call",
                        answered_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        answered_by={"id": 5, "name": "Анна Смирнова"})
        produce(producer, topic, [answered])
        out = b.wait(card(None, known["popup_id"], "in_call"), shot="popup-in-call", settle=400)
        k = {c["popup_id"]: c for c in out["cards"]}[known["popup_id"]]["text"]
        assert "В разговоре" in k

        closed = dict(answered, action="close", state="closed",
                      ended_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        produce(producer, topic, [closed])
        b.wait(card(None, known["popup_id"], "closed"), shot="popup-closed", settle=300)
        # closed after a moment: the card fades out and leaves; the other call stays
        out = b.wait(f'.card[data-popup-id="{known["popup_id"]}"]', gone=True)
        assert [c["popup_id"] for c in out["cards"]] == [fresh["popup_id"]]
        produce(producer, topic, [dict(fresh, action="close", state="closed")])
        out = b.wait(f'.card[data-popup-id="{fresh["popup_id"]}"]', gone=True)
        out = b.wait("#empty:not([hidden])", shot="popup-empty")
        assert out["cards"] == []
    finally:
        b.quit()


def test_popup_page_expired_link(browser_env):
    n, key, _, _ = browser_env
    token = popup_token(key, "acme", 5, exp=int(time.time()) - 10)
    b = Browser(f"http://127.0.0.1:{n.port}/popup?token={token}", first="#conn.conn-denied")
    try:
        # the browser itself logs the refused stream (401) as a console error: expected here
        out = b.read(allow_problems=True)
        assert out["conn"] == "Нет доступа"
        out = b.wait("#denied:not([hidden])", shot="popup-denied", allow_problems=True)
        assert all("401" in p for p in out["problems"]), out["problems"]
        assert out["cards"] == []
    finally:
        b.quit()
