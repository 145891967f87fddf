# shellcheck shell=bash
# Settings of the local stack. Sourced by every script in deploy/local (and by
# the test harness); every value can be overridden from the environment.

STACK_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export STACK_REPO_DIR

# Everything the stack writes (jars, data, logs, pid files) lives here.
export STACK_DIR="${STACK_DIR:-$STACK_REPO_DIR/.local}"

# Apache Kafka, KRaft single node. 4.x >= 4.0.1 is required: Debian's
# librdkafka 2.0.2 needs the broker fixes KAFKA-18659 and KAFKA-19444.
export KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
export KAFKA_SCALA_VERSION="${KAFKA_SCALA_VERSION:-2.13}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
export KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
export KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
# KAFKA_NODES=3: a KRaft cluster of three combined nodes (deploy/local/cluster.sh), node i on
# KAFKA_PORT + 2(i-1) and KAFKA_CONTROLLER_PORT + 2(i-1); topics replicated 3 times with
# min.insync.replicas=2. The default, 1, is the single node above.
export KAFKA_NODES="${KAFKA_NODES:-1}"
if [[ -z ${KAFKA_BROKERS:-} ]] && ((KAFKA_NODES > 1)); then
    for ((stack_n = 0; stack_n < KAFKA_NODES; stack_n++)); do
        KAFKA_BROKERS+="${KAFKA_BROKERS:+,}127.0.0.1:$((KAFKA_PORT + 2 * stack_n))"
    done
    unset stack_n
fi
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"

# PostgreSQL from Debian's packages.
export PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
export PG_PORT="${PG_PORT:-15432}"
export PG_DB="${PG_DB:-crm}"
export PG_USER="${PG_USER:-crm}"
export PG_PASSWORD="${PG_PASSWORD:-crm}"
export PG_OS_USER="${PG_OS_USER:-postgres}" # used only when running as root
export PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
export PG_DSN="${PG_DSN:-host=127.0.0.1 port=$PG_PORT dbname=$PG_DB user=$PG_USER password=$PG_PASSWORD}"

# Topics of SPEC section 7.
export TOPIC_CALL_EVENTS="${TOPIC_CALL_EVENTS:-uis.call-events.v1}"
export TOPIC_REJECTED="${TOPIC_REJECTED:-uis.call-events.rejected.v1}"
export TOPIC_ACTIONS="${TOPIC_ACTIONS:-crm.call-actions.v1}"
export TOPIC_POPUPS="${TOPIC_POPUPS:-crm.popups.v1}"
export TOPIC_DLQ="${TOPIC_DLQ:-pipeline.dead-letter.v1}"
export TOPIC_TENANT_TOKENS="${TOPIC_TENANT_TOKENS:-crm.tenant-tokens.v1}" # compacted: each tenant's token version
export TOPIC_CONTACTS="${TOPIC_CONTACTS:-crm.contacts.v1}"
export TOPIC_POPUP_USERS="${TOPIC_POPUP_USERS:-crm.popup-users.v1}" # compacted: revoked popup tokens, disabled users
export TOPIC_CALL_REQUESTS="${TOPIC_CALL_REQUESTS:-crm.call-requests.v1}" # click-to-call: notifier -> dialer
export TOPIC_DIAL_READINESS="${TOPIC_DIAL_READINESS:-crm.dial-readiness.v1}" # compacted: UIS keys and links the notifier checks
export TOPIC_PARTITIONS="${TOPIC_PARTITIONS:-6}"

# How long up/down wait for another up/down on the same STACK_DIR.
export STACK_LOCK_TIMEOUT="${STACK_LOCK_TIMEOUT:-300}"

# Derived paths (not meant to be overridden one by one).
export STACK_LOG_DIR="$STACK_DIR/logs"
export STACK_RUN_DIR="$STACK_DIR/run"
export KAFKA_HOME="$STACK_DIR/kafka"
export KAFKA_LIBS="$KAFKA_HOME/libs-$KAFKA_VERSION"
export PG_HOME="$STACK_DIR/pg"
export PG_DATA="$PG_HOME/data"
