/* Graceful stop: SIGTERM and SIGINT set a flag that every service loop polls. */
#ifndef COMMON_SIG_H
#define COMMON_SIG_H

/* Install the handlers (and ignore SIGPIPE, which a closed client socket would raise).
 * Returns 0 or -errno. */
int sig_install(void);

/* Non-zero once SIGTERM or SIGINT arrived. */
int sig_stop_requested(void);

/* Ask the loop to stop, as a signal would (used by tests and fatal error paths). */
void sig_request_stop(void);

#endif
