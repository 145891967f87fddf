#include "common/kafka_watch.h"

#include "common/kafka.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct kafka_watch {
    rd_kafka_t *rk;
    int interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop; /* under lock */
    atomic_int up;
};

static void *kafka_watch_run(void *arg)
{
    struct kafka_watch *w = arg;
    int stop = 0;

    while (!stop) {
        struct timespec until;

        atomic_store(&w->up, kafka_probe(w->rk, w->interval_ms) == 0);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += w->interval_ms / 1000;
        until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* A condition variable, so that kafka_watch_stop need not wait out the interval. */
        pthread_mutex_lock(&w->lock);
        while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0)
            ;
        stop = w->stop;
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

struct kafka_watch *kafka_watch_start(rd_kafka_t *rk, int interval_ms, char *err, size_t errlen)
{
    struct kafka_watch *w = calloc(1, sizeof(*w));

    if (!w) {
        snprintf(err, errlen, "kafka watch: out of memory");
        return NULL;
    }
    w->rk = rk;
    w->interval_ms = interval_ms > 0 ? interval_ms : 2000;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, kafka_watch_run, w) != 0) {
        snprintf(err, errlen, "kafka watch: cannot start its thread");
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

int kafka_watch_up(const struct kafka_watch *w)
{
    return w && atomic_load(&w->up);
}

void kafka_watch_stop(struct kafka_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
