/* `crmctl call CALL_ID TENANT`: one call's whole story for people — the notifications UIS sent
 * as ingest received them and what the reconciler found in UIS's calls report (SOURCE
 * uis-calls-report), the router's decisions (its per-call state and the actions it
 * produced), the rows crm-writer wrote, the popups sent. Kafka is read only in the time window
 * the call's rows span (offsets for times), never from the beginning of a topic. */
#ifndef CRMW_CTL_CALL_H
#define CRMW_CTL_CALL_H

/* Runs `crmctl call CALL_ID TENANT [--margin SECONDS]` (argv as crmctl got it), printing on
 * stdout. Topics from TOPIC_CALL_EVENTS, TOPIC_ACTIONS and TOPIC_POPUPS. Returns crmctl's exit
 * code: 0, 1 failed (reason on stderr), 2 bad usage. */
int ctl_call_run(const char *pg_dsn, const char *kafka_brokers, int argc, char **argv);

#endif
