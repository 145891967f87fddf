#include "common/sig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t sig_stop;

static void sig_on_stop(int signo)
{
    (void)signo;
    sig_stop = 1;
}

int sig_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -errno;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -errno;
    return 0;
}

int sig_stop_requested(void)
{
    return sig_stop != 0;
}

void sig_request_stop(void)
{
    sig_stop = 1;
}
