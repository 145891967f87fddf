"""tests/proto/schemas.py accepts every example of proto/examples and rejects every invalid one,
so system tests that import it check messages against the same contract as validate.mjs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import schemas  # noqa: E402

TOPICS = schemas.topics()

VALID = [(t, p) for t in TOPICS for p in schemas.examples(t)]
INVALID = [(t, p) for t in TOPICS for p in schemas.examples(t, invalid=True)]


def test_every_topic_has_examples():
    assert set(TOPICS) == {
        "uis.call-events.v1", "uis.call-events.rejected.v1", "crm.call-actions.v1",
        "crm.popups.v1", "crm.tenant-tokens.v1", "crm.contacts.v1", "pipeline.dead-letter.v1",
        "crm.popup-users.v1", "crm.call-requests.v1", "crm.dial-readiness.v1"}
    for topic in TOPICS:
        assert schemas.examples(topic), topic


@pytest.mark.parametrize("topic,path", VALID, ids=lambda x: getattr(x, "name", x))
def test_example_is_valid(topic, path):
    value = json.loads(path.read_text(encoding="utf-8"))
    assert schemas.errors(topic, value) == []
    # the bytes form a consumer sees is accepted too
    schemas.validate(topic, path.read_bytes())


@pytest.mark.parametrize("topic,path", INVALID, ids=lambda x: getattr(x, "name", x))
def test_invalid_example_is_rejected(topic, path):
    value = json.loads(path.read_text(encoding="utf-8"))
    assert schemas.errors(topic, value) != []
    with pytest.raises(schemas.ContractError):
        schemas.validate(topic, value)


def test_invalid_examples_exist():
    assert len(INVALID) >= 20


def _headers(**over):
    h = json.loads((schemas.EXAMPLES / "cloudevents-headers" / "01-call-event.json").read_text())
    h.update(over)
    # confluent-kafka's form: a list of (name, bytes)
    return [(k, v.encode()) for k, v in h.items() if v is not None]


def test_headers_fit_their_topic_only():
    schemas.validate_headers("uis.call-events.v1", _headers())
    with pytest.raises(schemas.ContractError):
        schemas.validate_headers("crm.popups.v1", _headers())
    schemas.validate_headers("crm.popups.v1", _headers(ce_type="ru.crm.popup.close"))
    with pytest.raises(schemas.ContractError):
        schemas.validate_headers("uis.call-events.v1", _headers(traceparent=None))
    with pytest.raises(schemas.ContractError):
        schemas.validate_headers("uis.call-events.v1", _headers(ce_time="now"))


def test_dead_letter_headers_and_values():
    assert schemas.examples("dlq-headers") and schemas.examples("dlq-headers", invalid=True)
    for path in schemas.examples("dlq-headers"):
        schemas.validate_headers("pipeline.dead-letter.v1", json.loads(path.read_text()))
    for path in schemas.examples("dlq-headers", invalid=True):
        with pytest.raises(schemas.ContractError):
            schemas.validate_headers("pipeline.dead-letter.v1", json.loads(path.read_text()))
    # the original bytes are kept whatever they are
    assert schemas.errors("pipeline.dead-letter.v1", b"\xff not json") == []
    assert schemas.validate_key("pipeline.dead-letter.v1", None) is None


def test_keys():
    assert schemas.validate_key("uis.call-events.v1", b"acme:+79031112233") == "acme:+79031112233"
    schemas.validate_key("uis.call-events.v1", "acme:call:2981734700")
    schemas.validate_key("crm.popups.v1", "acme:2981734650")
    for topic, key in [("uis.call-events.v1", "acme:79031112233"), ("crm.popups.v1", "acme"),
                       ("crm.tenant-tokens.v1", "Acme")]:
        with pytest.raises(schemas.ContractError):
            schemas.validate_key(topic, key)


def test_tombstone_only_on_compacted_topic():
    assert schemas.errors("crm.tenant-tokens.v1", None) == []
    assert schemas.errors("crm.popups.v1", None) != []


def test_not_json_is_refused():
    assert schemas.errors("uis.call-events.v1", b'{"call_id":') != []
    assert schemas.errors("uis.call-events.v1", b"\xff") != []


def test_date_time_is_checked():
    value = json.loads(schemas.examples("uis.call-events.v1")[0].read_text())
    value["received_at"] = "2026-13-45T99:00:00Z"
    assert schemas.errors("uis.call-events.v1", value) != []


def test_fallback_date_time_check():
    # used when rfc3339-validator is not installed
    assert schemas._rfc3339("2026-11-25T11:40:10.123Z")
    assert schemas._rfc3339("2026-11-25T14:40:10+03:00")
    for bad in ["2026-11-25 11:40:10", "2026-02-30T00:00:00Z", "2026-11-25T11:40:10", "now"]:
        assert not schemas._rfc3339(bad), bad


def test_unknown_topic():
    with pytest.raises(KeyError):
        schemas.validate("uis.call-events.v2", {})


# The examples of uis.call-events.v1 named after the UIS fixtures are what `ingest check` prints
# for them (envelope aside). Needs a built ingest: skipped without one, failed when CI is set.
_REPO = Path(__file__).resolve().parents[2]
_INGEST = Path(os.environ.get("BUILD_DIR", _REPO / "build")) / "ingest" / "ingest"
_FIXTURES = _REPO / "tests" / "fixtures" / "uis"
_FIXTURE_EXAMPLES = [p for p in schemas.examples("uis.call-events.v1")
                     if (_FIXTURES / (p.stem + ".body")).exists()]


def test_fixture_examples_exist():
    assert _FIXTURE_EXAMPLES, f"no uis.call-events.v1 example is named after a body in {_FIXTURES}"


@pytest.mark.parametrize("path", _FIXTURE_EXAMPLES, ids=lambda p: p.stem)
def test_fixture_examples_are_what_ingest_prints(path):
    if not _INGEST.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{_INGEST} is not built (CI is set: a missing binary fails)", pytrace=False)
        pytest.skip(f"needs a built ingest ({_INGEST}; BUILD_DIR)")
    out = subprocess.run([str(_INGEST), "check", str(_FIXTURES / (path.stem + ".body"))],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    printed = json.loads(out.stdout)
    example = json.loads(path.read_text(encoding="utf-8"))
    # check has no live envelope: take the example's and validate the whole event
    printed.update({k: example[k] for k in ("tenant", "received_at", "event_id")})
    schemas.validate("uis.call-events.v1", printed)
    assert list(printed.items()) == list(example.items())
