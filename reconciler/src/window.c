#include "window.h"

int window_next(const struct window_cfg *cfg, int64_t watermark_us, int64_t now_us,
                int64_t *from_us, int64_t *till_us)
{
    int64_t till = now_us - cfg->settle_us;
    int64_t from =
        (watermark_us > 0 && watermark_us < till ? watermark_us : till) - cfg->lookback_us;
    int64_t span = cfg->max_span_us > 0 ? cfg->max_span_us : WINDOW_MAX_SPAN_US;

    /* Seconds are UIS's resolution. */
    from -= from % 1000000;
    till -= till % 1000000;
    if (watermark_us > 0 && watermark_us >= till)
        return 0;
    if (till - from > span)
        till = from + span;
    if (till <= from)
        return 0;
    *from_us = from;
    *till_us = till;
    return 1;
}
