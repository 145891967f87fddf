/* crmctl tells the notifier what changed a tenant's readiness to place calls (its UIS key, its
 * users' UIS links): after `tenant uis-key` and `uis employees|link` succeeded, the tenant's
 * state is published on the compacted dial-readiness topic (common/dial_ready.h). */
#ifndef CRMW_CTL_READY_H
#define CRMW_CTL_READY_H

/* rc is the command's exit code. When 0, publish tenant's state; returns rc, or 1 when the
 * publication failed (said on stderr: the change is stored, the notifier not told yet). An
 * empty topic or a NULL tenant publishes nothing. */
int ctl_ready_after(const char *pg_dsn, const char *brokers, const char *topic, const char *tenant,
                    int rc);

#endif
