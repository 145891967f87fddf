/* Which part of the calls report a pass reads. The window reaches back `lookback` before the
 * durable watermark (calls that were still going on at the last pass, late UIS data), ends
 * `settle` before now (a call that just ended may still have its webhooks in flight), and never
 * spans more than UIS's 3 months: a reconciler that was away longer catches up in slices. */
#ifndef RECONCILER_WINDOW_H
#define RECONCILER_WINDOW_H

#include <stdint.h>

struct window_cfg {
    int64_t lookback_us; /* RECONCILE_WINDOW_S */
    int64_t settle_us;   /* RECONCILE_SETTLE_S */
    int64_t max_span_us; /* 89 days: within any 3 calendar months */
};

#define WINDOW_MAX_SPAN_US ((int64_t)89 * 86400 * 1000000)

/* The next window after watermark_us (0: none yet) at now_us. Returns 1 with [*from, *till], or
 * 0 when there is nothing new to read yet. */
int window_next(const struct window_cfg *cfg, int64_t watermark_us, int64_t now_us,
                int64_t *from_us, int64_t *till_us);

#endif
