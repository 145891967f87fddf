"""The pipeline benchmark's client side, each part in its own process so that none of them
waits on another's interpreter lock: the webhook sender (asyncio, HTTP/1.1 keep-alive
connections, open loop: a notification leaves at its scheduled time whatever the answers to
the previous ones), the SSE readers (one stream per connected user) and the crm.contacts.v1
reader. Every timestamp is time.time() on this machine, so the three can be joined.

Only the standard library and confluent-kafka: the load generator must stay cheap."""
import asyncio
import json
import os
import queue
import resource
import time


def _cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------- webhook sender

async def _open(port):
    return await asyncio.open_connection("127.0.0.1", port)


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    if length:
        await reader.readexactly(length)
    return status


async def _send_step(port, path, conns, schedule, t0):
    """schedule: [(offset_s, body_bytes)] sorted by offset. Returns [(sent, answered, status)]
    in schedule order; status 0 when the connection failed."""
    out = [None] * len(schedule)
    q = asyncio.Queue()
    prefix = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
              "Content-Type: application/json\r\nUser-Agent: uis-bench\r\n").encode()

    async def worker():
        reader = writer = None
        while True:
            item = await q.get()
            if item is None:
                break
            i, body = item
            sent = time.time()
            status = 0
            for _attempt in range(2):  # one reconnect if the server closed the idle socket
                try:
                    if writer is None:
                        reader, writer = await _open(port)
                    writer.write(prefix + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                    status = await _read_response(reader)
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
            out[i] = (sent, time.time(), status)
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    for i, (offset, body) in enumerate(schedule):
        delay = t0 + offset - time.time()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        q.put_nowait((i, body))
    for _ in workers:
        q.put_nowait(None)
    await asyncio.gather(*workers)
    return out


def sender_main(port, path, conns, pipe):
    """Runs steps sent over pipe as ("step", schedule, t0) and answers each with
    {"records": [...], "cpu_s": ...}; stops on None."""
    while True:
        msg = pipe.recv()
        if msg is None:
            return
        _, schedule, t0 = msg
        cpu0 = _cpu_s()
        records = asyncio.run(_send_step(port, path, conns, schedule, t0))
        pipe.send({"records": records, "cpu_s": _cpu_s() - cpu0})


# ---------------------------------------------------------------- SSE readers

async def _stream(port, user, token, out, ready):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET /v1/popups/stream?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").encode())
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    chunked = "transfer-encoding: chunked" in head.lower()
    ready.append((user, status))
    if status != 200:
        writer.close()
        return
    buf = b""
    while True:
        if chunked:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                break
            data = await reader.readexactly(size + 2)
            buf += data[:-2]
        else:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
        now = time.time()
        buf = buf.replace(b"\r\n", b"\n")
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    try:
                        d = json.loads(line[5:])
                    except ValueError:
                        continue
                    if isinstance(d, dict) and "call_id" in d:
                        out.append((d["call_id"], user, d.get("state"), d.get("action"), now))


async def _sse_all(port, tokens, q, ctl):
    out, ready = [], []
    tasks = [asyncio.create_task(_stream(port, u, t, out, ready)) for u, t in tokens.items()]
    while len(ready) < len(tokens):
        await asyncio.sleep(0.05)
        if any(t.done() and t.exception() for t in tasks):
            break
    q.put(("ready", ready))
    cpu0, closed = _cpu_s(), 0
    while True:
        await asyncio.sleep(0.2)
        if out:
            batch, out[:] = list(out), []
            q.put(("events", batch))
        dead = sum(1 for t in tasks if t.done())
        if dead != closed:  # a stream the notifier ended: its user sees no more popups
            closed = dead
            q.put(("closed", dead))
        try:
            if ctl.get_nowait() is None:
                break
        except queue.Empty:
            pass
    q.put(("cpu", _cpu_s() - cpu0))
    for t in tasks:
        t.cancel()


def sse_main(port, tokens, q, ctl):
    """tokens: {user_id: jwt}. Puts ("ready", [(user, status)]), then ("events", [(call_id,
    user, state, action, t_recv)]) batches until ctl yields None."""
    asyncio.run(_sse_all(port, tokens, q, ctl))


# ---------------------------------------------------------------- crm.contacts.v1 reader

def contacts_main(brokers, topic, tenant, q, ctl):
    """Puts ("ready", partitions) once assigned at the end of topic, then ("events", [(call_id,
    state, t_recv, kafka_ts_s)]) batches until ctl yields None."""
    from confluent_kafka import OFFSET_END, Consumer

    c = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-contacts-{os.getpid()}",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 5,
                  "fetch.min.bytes": 1, "isolation.level": "read_committed"})
    assigned = []

    def on_assign(consumer, parts):
        for p in parts:
            p.offset = OFFSET_END
        consumer.assign(parts)
        assigned.extend(parts)

    c.subscribe([topic], on_assign=on_assign)
    deadline = time.time() + 30
    while not assigned and time.time() < deadline:
        c.poll(0.1)
    q.put(("ready", len(assigned)))
    cpu0 = _cpu_s()
    batch, last = [], time.time()
    while True:
        for m in c.consume(500, 0.05):
            if m.error() or not m.value():
                continue
            now = time.time()
            try:
                v = json.loads(m.value())
            except ValueError:
                continue
            if v.get("tenant") == tenant:
                batch.append((v["call_id"], v.get("state"), now, m.timestamp()[1] / 1000.0))
        if time.time() - last > 0.2:
            if batch:
                q.put(("events", batch))
                batch = []
            last = time.time()
            try:
                if ctl.get_nowait() is None:
                    break
            except queue.Empty:
                pass
    if batch:
        q.put(("events", batch))
    q.put(("cpu", _cpu_s() - cpu0))
    c.close()
