# shellcheck shell=bash
# The four services of the product on the local stack: started in the background with pid files
# and JSON logs under $STACK_DIR, stopped with SIGTERM (graceful), each waited for on /readyz.
# Sourced after env.sh and lib.sh.

export BUILD_DIR="${BUILD_DIR:-$STACK_REPO_DIR/build}"
export SECRETS_FILE="$STACK_DIR/secrets.env"
SERVICES=(crm-writer router notifier ingest)
# The reconciler and, in place of UIS's APIs on this machine, the fake UIS it reads (issue 17).
SERVICES+=(fake-uis reconciler)

# Local secrets, made once: webhook token key, popup JWT key. Never committed, never printed.
svc_secrets() {
    mkdir -p "$STACK_DIR"
    if [[ ! -f $SECRETS_FILE ]]; then
        umask 077
        {
            echo "export WEBHOOK_KEY_ID=local1"
            echo "export WEBHOOK_KEYS=local1:$(head -c 32 /dev/urandom | base64 -w0)"
            echo "export POPUP_JWT_SECRET=$(head -c 32 /dev/urandom | base64 -w0)"
        } >"$SECRETS_FILE"
    fi
    # shellcheck disable=SC1090
    source "$SECRETS_FILE"
    export PUBLIC_WEBHOOK_BASE="${PUBLIC_WEBHOOK_BASE:-http://127.0.0.1:${INGEST_PORT:-8080}}"
    export PUBLIC_POPUP_BASE="${PUBLIC_POPUP_BASE:-http://127.0.0.1:${NOTIFIER_PORT:-8090}}"
    # Locally the reconciler and crmctl talk to the fake UIS; quick passes for the demo.
    export UIS_DATA_API_URL="${UIS_DATA_API_URL:-http://127.0.0.1:${FAKE_UIS_PORT:-9106}/v2.0}"
    export UIS_CALL_API_URL="${UIS_CALL_API_URL:-http://127.0.0.1:${FAKE_UIS_PORT:-9106}/v4.0}"
    export RECONCILE_INTERVAL_S="${RECONCILE_INTERVAL_S:-5}"
    export RECONCILE_SETTLE_S="${RECONCILE_SETTLE_S:-5}"
    # Only the demo tenant: system tests on the same stack run their own reconcilers for theirs.
    export RECONCILE_TENANTS="${RECONCILE_TENANTS-demo}"
}

svc_binary() {
    case $1 in
    crm-writer) echo "$BUILD_DIR/crm-writer/crm-writer" ;;
    fake-uis) echo "$STACK_REPO_DIR/deploy/local/fake-uis" ;;
    *) echo "$BUILD_DIR/$1/$1" ;;
    esac
}

svc_ops_port() {
    case $1 in
    ingest) echo "${INGEST_OPS_PORT:-9101}" ;;
    router) echo "${ROUTER_OPS_PORT:-9102}" ;;
    crm-writer) echo "${WRITER_OPS_PORT:-9103}" ;;
    notifier) echo "${NOTIFIER_OPS_PORT:-9104}" ;;
    reconciler) echo "${RECONCILER_OPS_PORT:-9105}" ;;
    fake-uis) echo "${FAKE_UIS_PORT:-9106}" ;;
    esac
}

svc_pid() {
    local f="$STACK_RUN_DIR/$1.pid" pid
    [[ -f $f ]] || return 1
    pid="$(cat "$f")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

svc_start() { # name
    local name=$1 bin port pid i kafka_env
    bin="$(svc_binary "$name")"
    port="$(svc_ops_port "$name")"
    if pid="$(svc_pid "$name")"; then
        stack_log "$name already running (pid $pid)"
        return 0
    fi
    [[ -x $bin ]] || { stack_err "$name is not built ($bin): run cmake --build $BUILD_DIR"; return 1; }
    stack_require_free_port "$port" "$name ops" || return 1
    mkdir -p "$STACK_LOG_DIR" "$STACK_RUN_DIR"
    kafka_env="$(ksec_env_args "$name")" || return 1
    # shellcheck disable=SC2086 # env arguments (Kafka user), one per word
    OPS_PORT="$port" INSTANCE_ID="$name-local-1" HTTP_PORT="$(svc_http_port "$name")" \
        nohup env $kafka_env "$bin" >>"$STACK_LOG_DIR/$name.log" 2>&1 &
    echo $! >"$STACK_RUN_DIR/$name.pid"
    for ((i = 0; i < 150; i++)); do
        if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
            stack_log "$name ready (pid $!, ops :$port)"
            return 0
        fi
        if ! kill -0 "$!" 2>/dev/null; then
            stack_err "$name exited at start; last lines of $STACK_LOG_DIR/$name.log:"
            tail -5 "$STACK_LOG_DIR/$name.log" >&2
            return 1
        fi
        sleep 0.2
    done
    stack_err "$name not ready after 30s (see deploy/local/logs $name)"
    return 1
}

svc_http_port() {
    case $1 in
    ingest) echo "${INGEST_PORT:-8080}" ;;
    notifier) echo "${NOTIFIER_PORT:-8090}" ;;
    *) echo "" ;;
    esac
}

svc_stop() { # name
    local name=$1 pid i
    if ! pid="$(svc_pid "$name")"; then
        rm -f "$STACK_RUN_DIR/$name.pid"
        return 0
    fi
    stack_log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$STACK_RUN_DIR/$name.pid"
}

svc_status() {
    local name pid
    for name in "${SERVICES[@]}"; do
        if pid="$(svc_pid "$name")"; then
            printf '%-10s running  pid %-8s ops 127.0.0.1:%s\n' "$name" "$pid" "$(svc_ops_port "$name")"
        else
            printf '%-10s stopped\n' "$name"
        fi
    done
}
