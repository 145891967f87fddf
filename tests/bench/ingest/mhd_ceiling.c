/* The HTTP ceiling for the ingest benchmark: libmicrohttpd set up as ingest sets it up (internal
 * epoll thread pool, suspend/resume allowed, the same limits and pool size), reading the body and
 * answering 200 at once, without parsing or Kafka.
 * usage: mhd_ceiling [PORT [THREADS [CONN_MEMORY_BYTES]]] */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ceiling_reply[] = "{\"event_id\":\"00000000-0000-4000-8000-000000000000\"}";

static enum MHD_Result ceiling_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*req_cls) {
        *req_cls = conn;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    resp = MHD_create_response_from_buffer(sizeof(ceiling_reply) - 1, (void *)ceiling_reply,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 18183;
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    size_t memory = argc > 3 ? (size_t)atol(argv[3]) : 16384;
    struct MHD_Daemon *d;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                             MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
                         (uint16_t)port, NULL, NULL, ceiling_handle, NULL,
                         MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 4096U,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         memory, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd_ceiling: cannot listen on port %u\n", port);
        return 1;
    }
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
