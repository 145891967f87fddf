"""SSE benchmark client: hold N streams, send M popups to random users, measure fan-out
latency (send time stamped in the message → bytes received by the stream's reader).

  client.py notifier --port P[,P2...] --n N --m M --rate R --brokers B --topic T --key-b64 K --pid PID
                     --hop BUILD_DIR/tests/bench/kafka_hop
  client.py nchan    --port P --n N --m M --rate R --pid PID[,PID...]
  client.py nchan-kafka --port P --n N --m M --rate R --pid PID[,PID...] --brokers B --topic T

--procs K splits the streams over K client processes (each may hold at most 20,000 open files
here); user u connects to port number u % len(ports) (one replica each, as a load balancer
would spread them).

notifier: the messages are crm.popups.v1 messages produced to Kafka by a producer set up as the
router's (the stamp is taken just before produce()); nchan: the same JSON POSTed to nchan's publisher location (stamped just
before the POST); nchan-kafka: nchan's streams, the notifier's messages and publisher, carried
from the topic to nchan's publisher location by nchan_bridge (the run starts it; no Kafka hop's
pass: --hop is not given). Prints one JSON line of results."""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import random
import re
import resource
import statistics
import subprocess
import threading
import time

FLOOR_M = 500  # popups of the Kafka hop's pass
STAMP = re.compile(rb'"bench_ts":\s*([0-9.]+)')


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(key, tenant, user):
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = b64url(json.dumps({"tenant": tenant, "sub": str(user),
                              "exp": int(time.time()) + 3600}).encode())
    sig = b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def rss_kib(pid):
    total = 0
    for p in str(pid).split(","):
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


class Stats:
    def __init__(self, counter=None):
        self.lat = []
        self.connected = 0
        self.failed = 0
        self.first_event = 0
        self.counter = counter  # popups received, shared with the coordinating process

    def received(self, seconds):
        self.lat.append(seconds)
        if self.counter is not None:
            with self.counter.get_lock():
                self.counter.value += 1


async def hold(port, path, stats, ready, sem):
    """One stream: connect, then read forever, de-chunking, stamping every popup received."""
    async with sem:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
                    .encode())
            head = await r.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            stats.failed += 1
            ready.release()
            return
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        stats.failed += 1
        ready.release()
        return
    chunked = b"chunked" in head.lower()
    stats.connected += 1
    ready.release()
    buf = b""
    try:
        while True:
            if chunked:
                size = int((await r.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    return
                data = await r.readexactly(size + 2)
                data = data[:-2]
            else:
                data = await r.read(65536)
                if not data:
                    return
            now = time.time()
            buf += data
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                m = STAMP.search(ev)
                if m:
                    stats.received(now - float(m.group(1)))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        return


def kafka_floor(args):
    """The Kafka hop alone: kafka_hop (tests/bench/notifier/kafka_hop.c), a consumer of the same
    topic with the notifier's librdkafka and settings in a process of its own, stamping each
    message on arrival (what any Kafka-fed server pays before its own work). Returns the
    process, reading once this returns."""
    p = subprocess.Popen([args.hop, args.brokers, args.topic, "0"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()  # assigned
    time.sleep(1)  # its first fetch waiting
    return p


def kafka_floor_result(p):
    p.stdin.close()
    out = json.loads(p.stdout.readline() or "{}")
    p.wait(10)
    return out


def popup(i, u, call):
    return {"popup_id": f"bench:{call}:{u}", "tenant": "bench", "user_id": u, "call_id": call,
            "action": "show", "state": "ringing", "event_id": str(i),
            "caller": {"number": "+79031112233", "formatted": "+7 (903) 111-22-33"},
            "counterparty": None, "direction": "in", "seq": i}


def kafka_sender(args, out):
    """The measured popups, with no consumer of the topic but the notifier's; then the Kafka hop
    alone: FLOOR_M popups to a user without a stream (the notifier reads them as every other),
    read by kafka_floor. Not both at once: a second consumer of the topic delays the notifier's
    fetch answers (the broker completes the waiting fetches of a partition one after the
    other), 0.15-0.18 ms at p50 here, which nchan's side of the bench does not pay. Measured
    popups first, so that they end before the streams' first heartbeats (15 s after they
    connected), as nchan's, which sends none."""
    from confluent_kafka import Producer
    # The router's popups producer (common/src/kafka.c kafka_producer_new, PRODUCER_LINGER_MS 0).
    p = Producer({"bootstrap.servers": args.brokers, "acks": "all", "enable.idempotence": True,
                  "compression.type": "lz4", "linger.ms": 0, "message.timeout.ms": 30000})

    def send(i, u, call):
        msg = popup(i, u, call)
        msg["bench_ts"] = time.time()
        p.produce(args.topic, key=f"bench:{call}", value=json.dumps(msg))
        p.poll(0)
        time.sleep(1.0 / args.rate)

    # the producer id and the partitions' leaders known before the first stamped popup
    p.produce(args.topic, key="bench:warm-up", value=json.dumps(popup(0, args.n + 1, "warm-up")))
    p.flush(10)
    for i in range(args.m):
        send(i, random.randint(1, args.n), str(i))
    p.flush(10)
    if not args.hop:
        return
    floor = kafka_floor(args)
    for i in range(min(args.m, FLOOR_M)):
        send(i, args.n + 1, f"floor-{i}")
    p.flush(10)
    time.sleep(0.5)
    out["floor"] = kafka_floor_result(floor)


def nchan_sender(args, out):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", int(str(args.port).split(",")[0]), timeout=10)
    for i in range(args.m):
        u = random.randint(1, args.n)
        msg = popup(i, u, str(i))
        msg["bench_ts"] = time.time()
        c.request("POST", f"/pub/u{u}", body=json.dumps(msg),
                  headers={"Content-Type": "application/json"})
        c.getresponse().read()
        time.sleep(1.0 / args.rate)


async def hold_users(args, users, stats):
    """Opens the streams of users (one each) and waits until each is held or failed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ready = asyncio.Semaphore(0)
    sem = asyncio.Semaphore(256)
    key = base64.b64decode(args.key_b64) if args.key_b64 else None
    ports = [int(p) for p in str(args.port).split(",")]
    tasks = []
    for u in users:
        path = (f"/v1/popups/stream?token={token(key, 'bench', u)}" if args.target == "notifier"
                else f"/sub/u{u}")
        tasks.append(asyncio.create_task(hold(ports[u % len(ports)], path, stats, ready, sem)))
    for _ in users:
        await ready.acquire()
    return tasks


def worker(args, users, conn, counter):
    """A client process: holds its users' streams, reports (connected, failed), then on "stop"
    sends back its latencies."""
    async def run():
        stats = Stats(counter)
        tasks = await hold_users(args, users, stats)
        conn.send((stats.connected, stats.failed))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(stats.lat)
        for t in tasks:
            t.cancel()
    asyncio.run(run())


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", choices=["notifier", "nchan", "nchan-kafka"])
    ap.add_argument("--port", required=True, help="server port(s), comma-separated (replicas)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--pid", required=True, help="server pid(s), comma-separated, for RSS")
    ap.add_argument("--procs", type=int, default=1, help="client processes holding the streams")
    ap.add_argument("--brokers")
    ap.add_argument("--topic")
    ap.add_argument("--key-b64")
    ap.add_argument("--hop", help="kafka_hop binary (the Kafka hop alone)")
    args = ap.parse_args()

    rss_idle = rss_kib(args.pid)
    counter = multiprocessing.Value("i", 0)
    users = list(range(1, args.n + 1))
    procs, conns = [], []
    t0 = time.time()
    ctx = multiprocessing.get_context("fork")
    for k in range(args.procs):
        here, there = ctx.Pipe()
        p = ctx.Process(target=worker, args=(args, users[k::args.procs], there, counter),
                        daemon=True)
        p.start()
        procs.append(p)
        conns.append(here)
    loop = asyncio.get_running_loop()
    reports = [await loop.run_in_executor(None, c.recv) for c in conns]
    connected, failed = sum(r[0] for r in reports), sum(r[1] for r in reports)
    connect_s = time.time() - t0
    await asyncio.sleep(2)
    rss_held = rss_kib(args.pid)

    sent = {}
    sender = nchan_sender if args.target == "nchan" else kafka_sender
    th = threading.Thread(target=sender, args=(args, sent), daemon=True)
    th.start()
    while th.is_alive():
        await asyncio.sleep(0.2)
    deadline = time.time() + 5
    while counter.value < args.m and time.time() < deadline:
        await asyncio.sleep(0.1)
    rss_after = rss_kib(args.pid)
    floor = sent.get("floor", {})
    lat = []
    for c in conns:
        c.send("stop")
    for c in conns:
        lat += await loop.run_in_executor(None, c.recv)
    for p in procs:
        p.join(10)
    lat.sort()
    q = (lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)) if lat else None
    print(json.dumps({
        "target": args.target, "streams": connected, "failed": failed,
        "connect_s": round(connect_s, 1), "messages": args.m, "received": len(lat),
        "client_procs": args.procs, "servers": len(str(args.pid).split(",")),
        "p50_ms": q(0.50) if lat else None, "p99_ms": q(0.99) if lat else None,
        "max_ms": round(lat[-1] * 1000, 2) if lat else None,
        "mean_ms": round(statistics.mean(lat) * 1000, 2) if lat else None,
        "kafka_floor_p50_ms": floor.get("p50_ms"), "kafka_floor_p99_ms": floor.get("p99_ms"),
        "rss_idle_mib": round(rss_idle / 1024, 1), "rss_streams_mib": round(rss_held / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
    }))


if __name__ == "__main__":
    asyncio.run(main())
