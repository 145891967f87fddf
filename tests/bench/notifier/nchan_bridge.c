/* nchan_bridge: nginx+nchan as it would sit in this pipeline, fed from crm.popups.v1. A
 * consumer set up exactly as the notifier's feed (notifier/src/feed.c: its properties, assign at
 * the partitions' ends, the same poll) reads each popup and POSTs its value to nchan's publisher
 * location of the popup's user, /pub/u<user_id> (the channel the nchan run uses for that user),
 * over one keep-alive HTTP/1.1 connection with Nagle off (opened again as soon as nginx closes
 * it: keepalive_requests), reading and checking every answer
 * (201 or 202) before the next poll. It adds to nchan the hop the notifier pays and nothing
 * more: the bench measures the publisher's stamp → the client's read as for the notifier.
 *
 *   nchan_bridge BROKERS TOPIC PORT
 * FETCH_WAIT_MAX_MS as the notifier's (default 100). Prints {"ready": true} once assigned, and
 * on SIGTERM or SIGINT {"posted": n, "skipped": n, "connections": n}, then exits (1 on the first
 * error). */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "common/kafka.h"

#define BRIDGE_TIMEOUT_MS 10000

static volatile sig_atomic_t bridge_stop;
static long bridge_connections;

static void bridge_on_signal(int sig)
{
    (void)sig;
    bridge_stop = 1;
}

/* A socket connected to 127.0.0.1:port with Nagle off, or -1 with the reason in err. */
static int bridge_connect(int port, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    bridge_connections++;
    return fd;
}

/* Writes all of iov[n] (modified). 0, or -1 with the reason in err. */
static int bridge_write(int fd, struct iovec *iov, int n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "write: %s", strerror(errno));
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads at most len bytes: how many (> 0), or -1 with the reason in err (nginx closed too). */
static ssize_t bridge_read(int fd, char *buf, size_t len, char *err, size_t errlen)
{
    for (;;) {
        ssize_t r = read(fd, buf, len);

        if (r > 0)
            return r;
        if (r < 0 && errno == EINTR)
            continue;
        snprintf(err, errlen, "read: %s", r < 0 ? strerror(errno) : "nginx closed the connection");
        return -1;
    }
}

/* Reads one answer (a head with Content-Length, then that body) and checks its status: 201 or
 * 202 (nchan: the message was queued, with or without subscribers). 0, 1 when nginx closes the
 * connection after it (keepalive_requests, 1,000 by default), or -1 with the reason in err. */
static int bridge_answer(int fd, char *err, size_t errlen)
{
    char buf[4096], *end = NULL, *cl;
    size_t have = 0, head, body;
    int status, closing;

    while (!end) {
        ssize_t r;

        if (have + 1 >= sizeof(buf)) {
            snprintf(err, errlen, "answer head longer than %zu bytes", sizeof(buf));
            return -1;
        }
        r = bridge_read(fd, buf + have, sizeof(buf) - 1 - have, err, errlen);
        if (r < 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    head = (size_t)(end - buf) + 4;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(err, errlen, "not an http answer");
        return -1;
    }
    if (status != 201 && status != 202) {
        snprintf(err, errlen, "publisher answered %d", status);
        return -1;
    }
    *end = '\0';
    for (char *c = buf; *c; c++) /* header names are case-insensitive */
        *c = (char)tolower((unsigned char)*c);
    cl = strstr(buf, "\r\ncontent-length:");
    if (!cl) {
        snprintf(err, errlen, "answer without content-length");
        return -1;
    }
    closing = strstr(buf, "\r\nconnection: close") != NULL;
    body = strtoul(cl + 17, NULL, 10);
    for (size_t got = have - head; got < body;) {
        ssize_t r =
            bridge_read(fd, buf, sizeof(buf) < body - got ? sizeof(buf) : body - got, err, errlen);

        if (r < 0)
            return -1;
        got += (size_t)r;
    }
    if (have - head > body) {
        snprintf(err, errlen, "answer longer than its content-length");
        return -1;
    }
    return closing;
}

/* The popup's user (its "user_id", a positive integer), or -1. */
static long long bridge_user(const rd_kafka_message_t *m)
{
    json_t *root = json_loadb(m->payload, m->len, 0, NULL);
    json_t *user = root ? json_object_get(root, "user_id") : NULL; /* borrowed */
    long long u = json_is_integer(user) ? json_integer_value(user) : -1;

    json_decref(root);
    return u > 0 ? u : -1;
}

/* POSTs m's value to /pub/u<its user> and checks the answer. 0, 1 when nginx closes the
 * connection after it, 2 when m is no popup of a user (skipped), or -1 with the reason in err. */
static int bridge_post(int fd, const rd_kafka_message_t *m, char *err, size_t errlen)
{
    long long u = bridge_user(m);
    char head[256];
    int n;
    struct iovec iov[2];

    if (u < 0)
        return 2;
    n = snprintf(head, sizeof(head),
                 "POST /pub/u%lld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 u, m->len);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        snprintf(err, errlen, "request head too long");
        return -1;
    }
    iov[0].iov_base = head;
    iov[0].iov_len = (size_t)n;
    iov[1].iov_base = m->payload;
    iov[1].iov_len = m->len;
    if (bridge_write(fd, iov, 2, err, errlen) < 0)
        return -1;
    return bridge_answer(fd, err, errlen);
}

/* Assigns every partition of topic at its high watermark, asked for explicitly so that no
 * message produced after this returns is missed. 0, or -1 with the reason in err. */
static int bridge_assign(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t e;
    int nparts;

    if (!rkt) {
        snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    e = rd_kafka_metadata(rk, 0, rkt, &md, BRIDGE_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        snprintf(err, errlen, "no metadata for %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        snprintf(err, errlen, "no partitions of %s: %s", topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in the answer");
        rd_kafka_metadata_destroy(md);
        return -1;
    }
    nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    parts = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi;

        e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, BRIDGE_TIMEOUT_MS);
        if (e) {
            snprintf(err, errlen, "end of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
    }
    e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* The notifier's feed: polls, drains what is already there, POSTs each popup over *fd (to
 * port), connecting again at once when nginx closes it (as its keepalive_requests asks: not
 * while a popup waits). Returns 0 when stopped, or -1 with the reason in err. */
static int bridge_run(rd_kafka_t *rk, int *fd, int port, long *posted, long *skipped, char *err,
                      size_t errlen)
{
    while (!bridge_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        while (m) {
            int r = 0;

            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                snprintf(err, errlen, "consumer: %s", rd_kafka_message_errstr(m));
                r = -1;
            } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "nchan_bridge: consumer: %s\n", rd_kafka_message_errstr(m));
            } else if (!m->err) {
                r = bridge_post(*fd, m, err, errlen);
                *(r == 2 ? skipped : posted) += r >= 0;
            }
            if (r == 1) {
                close(*fd);
                *fd = bridge_connect(port, err, errlen);
                r = *fd < 0 ? -1 : 0;
            }
            rd_kafka_message_destroy(m);
            if (r < 0)
                return -1;
            m = rd_kafka_consumer_poll(rk, 0);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *wait = getenv("FETCH_WAIT_MAX_MS");
    /* notifier/src/feed.c's properties, group.id as its client id. */
    const struct kafka_kv props[] = {
        {"group.id", "nchan-bridge"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", wait && *wait ? wait : "100"},
        {"socket.nagle.disable", "true"},
        {"auto.offset.reset", "earliest"},
        {NULL, NULL},
    };
    struct sigaction sa = {.sa_handler = bridge_on_signal};
    char err[512];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    long posted = 0, skipped = 0;
    int fd, port, rc;

    if (argc != 4 || (port = atoi(argv[3])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: nchan_bridge BROKERS TOPIC PORT\n");
        return 2;
    }
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
        fprintf(stderr, "nchan_bridge: sigaction: %s\n", strerror(errno));
        return 1;
    }
    conf = kafka_conf_new(argv[1], "nchan-bridge", props, err, sizeof(err));
    if (!conf) {
        fprintf(stderr, "nchan_bridge: consumer: %s\n", err);
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "nchan_bridge: consumer: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    /* rd_kafka_new took ownership of conf. */
    if (bridge_assign(rk, argv[2], err, sizeof(err)) < 0) {
        fprintf(stderr, "nchan_bridge: %s\n", err);
        rd_kafka_destroy(rk);
        return 1;
    }
    fd = bridge_connect(port, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "nchan_bridge: %s\n", err);
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("{\"ready\": true}\n");
    fflush(stdout);
    rc = bridge_run(rk, &fd, port, &posted, &skipped, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "nchan_bridge: %s\n", err);
    printf("{\"posted\": %ld, \"skipped\": %ld, \"connections\": %ld}\n", posted, skipped,
           bridge_connections);
    if (fd >= 0)
        close(fd);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc < 0 ? 1 : 0;
}
