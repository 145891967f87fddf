"""The local stack really works: Apache Kafka (KRaft) and PostgreSQL of deploy/local.

Python's confluent-kafka bundles a recent librdkafka; the kcat tests go through
Debian's librdkafka 2.0.2, the one the C services link.
"""
import re
import shutil
import subprocess
import time
import uuid

import psycopg
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

TIMEOUT = 30


def producer(stack, **conf):
    return Producer({"bootstrap.servers": stack["brokers"], "acks": "all",
                     "enable.idempotence": True, "linger.ms": 5, **conf})


def consumer(stack, group=None, **conf):
    return Consumer({"bootstrap.servers": stack["brokers"],
                     "group.id": group or f"test-{uuid.uuid4().hex[:8]}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     **conf})


def produce_all(prod, topic, messages, headers=None):
    """Produces (key, value) pairs and asserts each one was delivered."""
    errors, delivered = [], []

    def report(err, msg):
        (errors if err else delivered).append(err or msg)

    for key, value in messages:
        prod.produce(topic, key=key, value=value, headers=headers, on_delivery=report)
        prod.poll(0)
    assert prod.flush(TIMEOUT) == 0, "messages still in flight"
    assert not errors, errors
    assert len(delivered) == len(messages)
    return delivered


def consume_n(cons, n, timeout=TIMEOUT):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        msg = cons.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        out.append(msg)
    assert len(out) == n, f"consumed {len(out)} of {n}"
    return out


def test_product_topics_exist(stack):
    admin = AdminClient({"bootstrap.servers": stack["brokers"]})
    md = admin.list_topics(timeout=10)
    for name in stack["topics"].values():
        assert name in md.topics, name
        assert len(md.topics[name].partitions) == stack["partitions"]
    res = ConfigResource(ConfigResource.Type.TOPIC, stack["topics"]["tenant_tokens"])
    config = admin.describe_configs([res])[res].result(timeout=10)
    assert config["cleanup.policy"].value == "compact"


@pytest.mark.parametrize("codec", ["lz4", "zstd", "gzip", "snappy"])
def test_compressed_idempotent_produce(stack, new_topic, codec):
    topic = new_topic(f"test.{codec}")
    messages = [(f"caller-{i % 7}".encode(), f"{codec}-{i}".encode() * 20) for i in range(300)]
    produce_all(producer(stack, **{"compression.type": codec}), topic, messages)

    cons = consumer(stack)
    cons.subscribe([topic])
    got = consume_n(cons, len(messages))
    cons.close()
    assert sorted(m.value() for m in got) == sorted(v for _, v in messages)
    # Same key, same partition, produced order kept.
    for key in {k for k, _ in messages}:
        values = [m.value() for m in got if m.key() == key]
        assert values == [v for k, v in messages if k == key]
        assert len({m.partition() for m in got if m.key() == key}) == 1


def test_headers_round_trip(stack, new_topic):
    topic = new_topic("test.headers")
    headers = [("ce_specversion", b"1.0"), ("ce_id", uuid.uuid4().hex.encode()),
               ("ce_type", b"uis.call.event.v1"), ("ce_source", b"/ingest/demo"),
               ("ce_time", b"2025-01-01T00:00:00Z"), ("content-type", b"application/json"),
               ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
               ("binary", bytes(range(256)))]
    produce_all(producer(stack), topic, [(b"+79161234567", b'{"a":1}')], headers=headers)
    cons = consumer(stack)
    cons.subscribe([topic])
    (msg,) = consume_n(cons, 1)
    cons.close()
    assert msg.headers() == headers


def test_consumer_group_shares_partitions(stack, new_topic):
    topic = new_topic("test.group", partitions=6)
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    members = [consumer(stack, group, **{"partition.assignment.strategy": "cooperative-sticky"})
               for _ in range(2)]
    for cons in members:
        cons.subscribe([topic])

    # Both members get a share of the partitions before anything is produced,
    # so that no rebalance moves uncommitted messages between them.
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for cons in members:
            assert cons.poll(0.2) is None
        parts = [{tp.partition for tp in cons.assignment()} for cons in members]
        if all(parts) and len(parts[0] | parts[1]) == 6:
            break
    assert all(parts) and not parts[0] & parts[1] and len(parts[0] | parts[1]) == 6, parts

    messages = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(600)]
    produce_all(producer(stack), topic, messages)

    seen = {id(cons): [] for cons in members}
    deadline = time.monotonic() + TIMEOUT
    while sum(map(len, seen.values())) < len(messages) and time.monotonic() < deadline:
        for cons in members:
            msg = cons.poll(0.1)
            if msg is not None:
                assert msg.error() is None, msg.error()
                seen[id(cons)].append(msg)
    values = [m.value() for got in seen.values() for m in got]
    assert sorted(values) == sorted(v for _, v in messages), "each message exactly once"
    assert all(seen.values()), "both members consumed"

    for cons in members:
        cons.commit(asynchronous=False)
    committed = {tp.partition: tp.offset
                 for cons in members
                 for tp in cons.committed(list(cons.assignment()), timeout=10)}
    for cons in members:
        cons.close()
    probe = consumer(stack)
    ends = {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(6)}
    probe.close()
    assert committed == ends


def read_to_end(stack, topic, isolation):
    cons = consumer(stack, **{"isolation.level": isolation, "enable.partition.eof": True})
    cons.subscribe([topic])
    values, eof = [], set()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        msg = cons.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            eof.add(msg.partition())
            if len(eof) == 3:
                break
            continue
        values.append(msg.value())
    cons.close()
    assert len(eof) == 3, "did not reach the end of every partition"
    return values


def test_transactions_read_committed(stack, new_topic):
    topic = new_topic("test.tx", partitions=3)
    prod = producer(stack, **{"transactional.id": f"test-tx-{uuid.uuid4().hex[:8]}"})
    prod.init_transactions(TIMEOUT)

    prod.begin_transaction()
    for i in range(10):
        prod.produce(topic, key=str(i).encode(), value=f"committed-{i}".encode())
    prod.commit_transaction(TIMEOUT)

    prod.begin_transaction()
    for i in range(10):
        prod.produce(topic, key=str(i).encode(), value=f"aborted-{i}".encode())
    prod.flush(TIMEOUT)
    prod.abort_transaction(TIMEOUT)

    committed = read_to_end(stack, topic, "read_committed")
    assert sorted(committed) == sorted(f"committed-{i}".encode() for i in range(10))
    everything = read_to_end(stack, topic, "read_uncommitted")
    assert len(everything) == 20


def test_postgres_round_trip(stack):
    with psycopg.connect(stack["pg_dsn"], connect_timeout=10) as conn:
        user, db, version = conn.execute(
            "SELECT current_user, current_database(), current_setting('server_version_num')::int"
        ).fetchone()
        assert (user, db) == (stack["env"]["PG_USER"], stack["env"]["PG_DB"])
        assert version >= 150000
        conn.execute("CREATE TEMP TABLE t (id bigint PRIMARY KEY, phone text, seen timestamptz)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, %s, now())",
                            [(i, f"+7916{i:07d}") for i in range(100)])
        count, last = conn.execute("SELECT count(*), max(phone) FROM t").fetchone()
        assert (count, last) == (100, "+79160000099")
        # The product's role owns its database, so it can create real tables too.
        conn.execute("CREATE TABLE IF NOT EXISTS stack_probe (id int)")
        conn.execute("DROP TABLE stack_probe")


# ---- Debian's librdkafka 2.0.2 (what the C services link), through kcat ----

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
needs_kcat = pytest.mark.requires(KCAT is not None, "kcat not installed (deploy/local/install-deps --tests)")


def kcat(stack, *args, stdin=None):
    proc = subprocess.run([KCAT, "-b", stack["brokers"], *args], input=stdin,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


@needs_kcat
def test_kcat_uses_system_librdkafka(stack):
    out = kcat(stack, "-V").stdout.decode()
    version = re.search(r"librdkafka (\d+\.\d+\.\d+)", out)
    assert version, out
    print(f"kcat links librdkafka {version.group(1)}")
    meta = kcat(stack, "-L", "-J").stdout.decode()
    assert '"brokers"' in meta


@needs_kcat
@pytest.mark.parametrize("codec", ["lz4", "zstd", "gzip", "snappy"])
def test_librdkafka_2_0_2_compressed_idempotent_produce_and_group(stack, new_topic, codec):
    topic = new_topic(f"test.kcat.{codec}", partitions=3)
    lines = [f"caller-{i % 5}\t{codec}-{i}" for i in range(200)]
    kcat(stack, "-P", "-t", topic, "-K", "\t", "-H", "ce_specversion=1.0",
         "-X", "enable.idempotence=true", "-X", "acks=all",
         "-X", f"compression.codec={codec}",
         stdin="\n".join(lines).encode() + b"\n")

    # A balanced consumer (consumer group) of librdkafka 2.0.2 reads all back
    # and commits its offsets on close.
    group = f"test-kcat-{uuid.uuid4().hex[:8]}"
    out = kcat(stack, "-C", "-G", group, "-X", "auto.offset.reset=earliest", "-e",
               "-f", "%k\t%s\t%h\n", topic).stdout.decode()
    got = [line for line in out.splitlines() if line]
    assert sorted(line.rsplit("\t", 1)[0] for line in got) == sorted(lines)
    assert all(line.endswith("ce_specversion=1.0") for line in got)

    probe = consumer(stack, group)
    committed = probe.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    ends = [probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(3)]
    probe.close()
    assert [tp.offset for tp in committed] == ends
