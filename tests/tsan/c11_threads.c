/* ThreadSanitizer builds only: glibc's C11 threads (thrd_create, mtx_lock, cnd_wait...) call
 * the pthread functions internally, where TSan's interceptors do not see them. librdkafka runs
 * its threads and locks through them, so TSan neither knew its threads (it crashed in their
 * first malloc) nor its locks (false races on everything handed through its queues). These
 * definitions in the executable take precedence over glibc's and go through the intercepted
 * pthread calls. glibc's mtx_t and cnd_t have the layout of pthread_mutex_t and
 * pthread_cond_t. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) >= sizeof(pthread_mutex_t), "mtx_t holds a pthread mutex");
_Static_assert(sizeof(cnd_t) >= sizeof(pthread_cond_t), "cnd_t holds a pthread cond");

static int c11_rc(int err)
{
    return err == 0           ? thrd_success
           : err == ETIMEDOUT ? thrd_timedout
           : err == EBUSY     ? thrd_busy
           : err == ENOMEM    ? thrd_nomem
                              : thrd_error;
}

struct c11_start {
    thrd_start_t fn;
    void *arg;
};

static void *c11_trampoline(void *p)
{
    struct c11_start s = *(struct c11_start *)p;

    free(p);
    return (void *)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    struct c11_start *s = malloc(sizeof(*s));
    int err;

    if (!s)
        return thrd_nomem;
    s->fn = func;
    s->arg = arg;
    err = pthread_create((pthread_t *)thr, NULL, c11_trampoline, s);
    if (err)
        free(s);
    return c11_rc(err);
}

int thrd_join(thrd_t thr, int *res)
{
    void *ret = NULL;
    int err = pthread_join((pthread_t)thr, &ret);

    if (!err && res)
        *res = (int)(intptr_t)ret;
    return c11_rc(err);
}

int thrd_detach(thrd_t thr)
{
    return c11_rc(pthread_detach((pthread_t)thr));
}

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t attr;
    int err;

    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    err = pthread_mutex_init((pthread_mutex_t *)m, &attr);
    pthread_mutexattr_destroy(&attr);
    return c11_rc(err);
}

int mtx_lock(mtx_t *m)
{
    return c11_rc(pthread_mutex_lock((pthread_mutex_t *)m));
}

int mtx_trylock(mtx_t *m)
{
    return c11_rc(pthread_mutex_trylock((pthread_mutex_t *)m));
}

int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
    return c11_rc(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}

int mtx_unlock(mtx_t *m)
{
    return c11_rc(pthread_mutex_unlock((pthread_mutex_t *)m));
}

void mtx_destroy(mtx_t *m)
{
    pthread_mutex_destroy((pthread_mutex_t *)m);
}

int cnd_init(cnd_t *c)
{
    return c11_rc(pthread_cond_init((pthread_cond_t *)c, NULL));
}

int cnd_signal(cnd_t *c)
{
    return c11_rc(pthread_cond_signal((pthread_cond_t *)c));
}

int cnd_broadcast(cnd_t *c)
{
    return c11_rc(pthread_cond_broadcast((pthread_cond_t *)c));
}

int cnd_wait(cnd_t *c, mtx_t *m)
{
    return c11_rc(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
    return c11_rc(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}

void cnd_destroy(cnd_t *c)
{
    pthread_cond_destroy((pthread_cond_t *)c);
}
