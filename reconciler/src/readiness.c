#include "readiness.h"

#include <stdio.h>

#include "common/dial_ready_pub.h"
#include "common/pgconn.h"

long readiness_round(const struct readiness_cfg *cfg, PGconn *conn, rd_kafka_t *producer, char *err,
                     size_t errlen)
{
    PGresult *res;
    long total = 0;

    if (!cfg->topic[0])
        return 0;
    if (pgconn_query(conn, "SELECT id FROM tenants ORDER BY id", 0, NULL, &res, "tenants", err,
                     errlen) < 0)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        int n;

        if (!cfg->listed(cfg->only, id))
            continue;
        n = dialready_publish(conn, producer, cfg->topic, cfg->source, id, cfg->timeout_ms, err,
                              errlen);
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    }
    PQclear(res);
    return total;
}
