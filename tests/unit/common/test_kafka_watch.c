#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_watch.h"

static rd_kafka_t *t_producer(const struct kafka_kv *extra, const char *brokers)
{
    char err[256];
    rd_kafka_t *rk = kafka_producer_new(brokers, "test-watch", extra, err, sizeof(err));

    assert_non_null(rk);
    return rk;
}

static void test_up_with_an_answering_cluster(void **state)
{
    /* librdkafka's mock cluster answers metadata like a broker. */
    static const struct kafka_kv mock[] = {{"test.mock.num.brokers", "1"}, {NULL, NULL}};
    rd_kafka_t *rk = t_producer(mock, "127.0.0.1:1");
    char err[128];
    struct kafka_watch *w = kafka_watch_start(rk, 200, err, sizeof(err));
    int64_t until = ids_mono_us() + 10 * 1000000LL;

    (void)state;
    assert_non_null(w);
    while (!kafka_watch_up(w) && ids_mono_us() < until)
        nanosleep(&(struct timespec){0, 20000000L}, NULL);
    assert_true(kafka_watch_up(w));
    kafka_watch_stop(w);
    kafka_producer_close(rk, 1000);
}

static void test_down_without_a_broker_and_stops_at_once(void **state)
{
    rd_kafka_t *rk = t_producer(NULL, "127.0.0.1:1"); /* nothing listens there */
    char err[128];
    struct kafka_watch *w = kafka_watch_start(rk, 300, err, sizeof(err));
    int64_t t0;

    (void)state;
    nanosleep(&(struct timespec){0, 700000000L}, NULL);
    assert_false(kafka_watch_up(w));
    t0 = ids_mono_us();
    kafka_watch_stop(w);
    /* At most the probe in progress, never a whole further interval of waiting. */
    assert_true(ids_mono_us() - t0 < 1000000);
    assert_false(kafka_watch_up(NULL));
    kafka_producer_close(rk, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_with_an_answering_cluster),
        cmocka_unit_test(test_down_without_a_broker_and_stops_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
