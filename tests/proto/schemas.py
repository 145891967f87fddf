"""The proto/ contracts for Python tests: validate what is seen on a topic against its schema.

    import sys; sys.path.insert(0, str(REPO / "tests" / "proto"))
    import schemas
    schemas.validate("uis.call-events.v1", msg.value())       # raises schemas.ContractError
    schemas.validate_headers("uis.call-events.v1", msg.headers())
    schemas.validate_key("uis.call-events.v1", msg.key())
    schemas.errors("crm.popups.v1", value)                    # list of messages, [] when valid

Topics are the default names (`uis.call-events.v1`, ...), not the configurable ones a test may
produce to: pass the contract's name. Values may be given parsed (dict) or as the record's bytes
or str (decoded as JSON). A None value is a tombstone: allowed on compacted topics only.
Formats are checked (date-time through rfc3339-validator; an equivalent check is used when that
package is missing, so a bad timestamp never passes silently).
"""
import datetime
import json
import re
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PROTO = Path(__file__).resolve().parents[2] / "proto"
SCHEMAS = PROTO / "schemas"
EXAMPLES = PROTO / "examples"

# A base URI for the schema files so that references between and inside them resolve; nothing
# is fetched from it.
_BASE = "https://uis-crm.invalid/proto/schemas/"

COMPACTED = frozenset({"crm.tenant-tokens.v1", "crm.popup-users.v1", "crm.dial-readiness.v1"})
DEAD_LETTER = "pipeline.dead-letter.v1"


class ContractError(AssertionError):
    """A value, key or headers do not match the topic's contract."""


def _rfc3339(value):
    if not isinstance(value, str):
        return True
    m = re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value)
    if m is None:
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _format_checker():
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        checker.checks("date-time")(_rfc3339)
    return checker


@lru_cache(maxsize=None)
def _registry():
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((_BASE + path.name,
                          Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def _pointer(name):
    return name.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=None)
def _validator(ref):
    return Draft202012Validator({"$ref": _BASE + ref}, registry=_registry(),
                                format_checker=_format_checker())


def topics():
    """Every topic that has a value schema (the AsyncAPI channels)."""
    names = [p.name[: -len(".schema.json")] for p in SCHEMAS.glob("*.schema.json")]
    return sorted(n for n in names if re.fullmatch(r"[a-z]+(\.[a-z-]+)+\.v[0-9]+", n))


def _schema_file(topic):
    if topic not in topics():
        raise KeyError(f"no schema for topic {topic!r} in {SCHEMAS}")
    return f"{topic}.schema.json"


def _decode(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8")
    if isinstance(value, str):
        value = json.loads(value)
    return value


def _messages(validator, instance):
    out = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where}: {err.message}")
    return out


def errors(topic, value):
    """Why value is not a valid record value of topic; [] when it is."""
    if value is None:
        return [] if topic in COMPACTED else [f"a null value (tombstone) on {topic}"]
    try:
        instance = _decode(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if topic == DEAD_LETTER:
            return []  # the original bytes are kept whatever they are
        return [f"value is not UTF-8 JSON: {exc}"]
    return _messages(_validator(_schema_file(topic)), instance)


def validate(topic, value):
    """Raise ContractError unless value is a valid record value of topic. Returns the parsed value."""
    problems = errors(topic, value)
    if problems:
        raise ContractError(f"{topic} value does not match its schema:\n  " + "\n  ".join(problems))
    return None if value is None else _decode(value) if topic != DEAD_LETTER else value


def _headers_dict(headers):
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, dict) else headers
    out = {}
    for name, raw in items:
        if isinstance(raw, (bytes, bytearray, memoryview)):
            raw = bytes(raw).decode("utf-8")
        if name in out:
            raise ContractError(f"header {name!r} appears twice")
        out[name] = raw
    return out


def header_errors(topic, headers):
    """Why headers (a dict, or confluent-kafka's list of (name, bytes)) do not fit topic; [] if they do."""
    _schema_file(topic)
    try:
        instance = _headers_dict(headers)
    except (UnicodeDecodeError, ContractError) as exc:
        return [str(exc)]
    if topic == DEAD_LETTER:
        ref = "dlq-headers.schema.json"
    else:
        ref = f"cloudevents-headers.schema.json#/$defs/{_pointer(topic)}"
    return _messages(_validator(ref), instance)


def validate_headers(topic, headers):
    """Raise ContractError unless headers carry the topic's CloudEvents (or dead-letter) headers."""
    problems = header_errors(topic, headers)
    if problems:
        raise ContractError(f"{topic} headers do not match:\n  " + "\n  ".join(problems))
    return _headers_dict(headers)


def validate_key(topic, key):
    """Raise ContractError unless key (bytes or str) has the topic's key form."""
    _schema_file(topic)
    if key is None and topic == DEAD_LETTER:
        return None  # the original record had no key
    if isinstance(key, (bytes, bytearray, memoryview)):
        key = bytes(key).decode("utf-8")
    problems = _messages(_validator(f"kafka-keys.schema.json#/$defs/{_pointer(topic)}"), key)
    if problems:
        raise ContractError(f"{topic} key {key!r} does not match:\n  " + "\n  ".join(problems))
    return key


def examples(topic, invalid=False):
    """Paths of the example values of topic (or of the ones that must fail)."""
    base = EXAMPLES / "invalid" if invalid else EXAMPLES
    return sorted((base / topic).glob("*.json"))
