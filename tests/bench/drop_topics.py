"""Delete a benchmark's topics at its end: left behind, hundreds of partitions slow the local
broker for every later run. usage: drop_topics.py BROKERS TOPIC..."""
import sys

from confluent_kafka.admin import AdminClient

if len(sys.argv) > 2:
    admin = AdminClient({"bootstrap.servers": sys.argv[1]})
    for topic, fut in admin.delete_topics(sys.argv[2:], operation_timeout=30).items():
        try:
            fut.result(30)
        except Exception as exc:  # noqa: BLE001 - reported, the benchmark's figures stand
            print(f"drop_topics: {topic}: {exc}", file=sys.stderr)
