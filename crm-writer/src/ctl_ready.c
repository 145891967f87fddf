#include "ctl_ready.h"

#include <stdio.h>

#include <libpq-fe.h>

#include "common/dial_ready_pub.h"
#include "common/kafka.h"

#define CTL_READY_KAFKA_MS 15000

int ctl_ready_after(const char *pg_dsn, const char *brokers, const char *topic, const char *tenant,
                    int rc)
{
    char err[512] = "";
    PGconn *conn;
    rd_kafka_t *producer;
    int n = -1;

    if (rc != 0 || !topic[0] || !tenant)
        return rc;
    conn = PQconnectdb(pg_dsn);
    producer = kafka_producer_new(brokers, "crmctl", NULL, err, sizeof(err));
    if (PQstatus(conn) != CONNECTION_OK)
        snprintf(err, sizeof(err), "postgresql: %s", PQerrorMessage(conn));
    else if (producer)
        n = dialready_publish(conn, producer, topic, "/crmctl", tenant, CTL_READY_KAFKA_MS, err,
                              sizeof(err));
    if (producer)
        kafka_producer_close(producer, 5000);
    PQfinish(conn);
    if (n >= 0)
        return 0;
    fprintf(stderr,
            "crmctl: the change is stored, but the notifier was not told (%s): run the command "
            "again, or wait for the reconciler's next publication (DIAL_READINESS_S)\n",
            err);
    return 1;
}
