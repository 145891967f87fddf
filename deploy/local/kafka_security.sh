# shellcheck shell=bash
# The secured local broker. KAFKA_SECURITY selects it (deploy/local/up, start, down):
#   plaintext (default)  as before
#   mtls                 one SSL listener that wants a client certificate: every service and
#                        crmctl log in with its own (CN=ingest, ...), made from a local CA
#   sasl_ssl             one SASL_SSL listener with SCRAM-SHA-512 users, one per service
# Either way the authorizer refuses whatever no ACL allows, and each user may use only its own
# topics and groups (kafka_admin.py users). Debian 12's librdkafka 2.0.2 cannot log in with
# SCRAM to a Kafka 4 broker (its nonce bug, confluentinc/librdkafka#4895, fixed in 2.6.1), so
# the services built here use mtls; sasl_ssl serves newer clients (the Python tools). The
# controller listener takes only the broker's own certificate. Sourced by lib.sh.

export KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
KSEC_DIR="$KAFKA_HOME/tls"
# Passwords and client certificates of the Kafka users: made once, mode 600.
export KAFKA_USERS_DIR="$STACK_DIR/kafka-users"
export KAFKA_CA_FILE="$KSEC_DIR/ca.crt"
KSEC_USERS=(ingest router crm-writer notifier crmctl)

ksec_on() { [[ $KAFKA_SECURITY != plaintext ]]; }

# A secured broker keeps its own data (its storage holds the users and ACLs).
# shellcheck disable=SC2034 # KAFKA_DATA: lib.sh uses it
case $KAFKA_SECURITY in
plaintext) ;;
mtls | sasl_ssl) KAFKA_DATA="$KAFKA_HOME/data-$KAFKA_SECURITY" ;;
*)
    printf '[stack] error: KAFKA_SECURITY=%s: plaintext, mtls or sasl_ssl\n' "$KAFKA_SECURITY" >&2
    exit 2
    ;;
esac

# The password file of a Kafka user (or of the key stores), made on first use.
ksec_password_file() { # user
    local f="$KAFKA_USERS_DIR/$1.password"
    if [[ ! -s $f ]]; then
        mkdir -p "$KAFKA_USERS_DIR"
        chmod 700 "$KAFKA_USERS_DIR"
        (umask 077 && head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_' >"$f")
    fi
    echo "$f"
}

# A local CA and the broker's key store (PKCS12), signed for 127.0.0.1 and localhost; once.
ksec_tls() {
    local pass
    [[ -s $KSEC_DIR/broker.p12 && -s $KAFKA_CA_FILE ]] && return 0
    command -v keytool >/dev/null || {
        stack_err "keytool not found (it comes with the JDK: deploy/local/install-deps)"
        return 1
    }
    mkdir -p "$KSEC_DIR"
    chmod 700 "$KSEC_DIR"
    pass="$(cat "$(ksec_password_file keystore)")"
    (
        cd "$KSEC_DIR"
        rm -f ca.p12 broker.p12 broker.csr broker.crt ca.crt
        keytool -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 \
            -dname "CN=uis-crm local CA" -ext bc:c -keystore ca.p12 -storetype PKCS12 \
            -storepass "$pass" -keypass "$pass"
        keytool -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$pass" -file ca.crt
        keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
            -dname "CN=kafka-broker" -keystore broker.p12 -storetype PKCS12 \
            -storepass "$pass" -keypass "$pass"
        keytool -certreq -alias broker -keystore broker.p12 -storepass "$pass" -file broker.csr
        keytool -gencert -alias ca -keystore ca.p12 -storepass "$pass" -infile broker.csr \
            -outfile broker.crt -rfc -validity 3650 \
            -ext "SAN=ip:127.0.0.1,dns:localhost" -ext "EKU=serverAuth,clientAuth"
        keytool -importcert -noprompt -alias ca -file ca.crt -keystore broker.p12 \
            -storepass "$pass"
        keytool -importcert -alias broker -file broker.crt -keystore broker.p12 \
            -storepass "$pass"
        rm -f broker.csr
    ) >"$STACK_LOG_DIR/kafka-tls.log" 2>&1 || {
        cat "$STACK_LOG_DIR/kafka-tls.log" >&2
        stack_err "could not make the local certificates"
        return 1
    }
    chmod 600 "$KSEC_DIR"/*.p12
    stack_log "made a local CA and the broker's certificate in $KSEC_DIR"
}

# A user's client certificate and key (PEM) signed by the local CA, CN=user; once.
ksec_user_cert() { # user
    local u=$1 pass
    [[ -s $KAFKA_USERS_DIR/$u.crt && -s $KAFKA_USERS_DIR/$u.key ]] && return 0
    pass="$(cat "$(ksec_password_file keystore)")"
    (
        umask 077
        cd "$KAFKA_USERS_DIR"
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$u" -keyout "$u.key" -out "$u.csr"
        keytool -gencert -alias ca -keystore "$KSEC_DIR/ca.p12" -storepass "$pass" \
            -infile "$u.csr" -outfile "$u.crt" -rfc -validity 3650 -ext "EKU=clientAuth"
        rm -f "$u.csr"
    ) >>"$STACK_LOG_DIR/kafka-tls.log" 2>&1 || {
        stack_err "could not make the certificate of Kafka user $u (see $STACK_LOG_DIR/kafka-tls.log)"
        return 1
    }
}

# Lines appended to server.properties (later keys win over the plaintext ones above them).
ksec_broker_config() {
    local pass
    pass="$(cat "$(ksec_password_file keystore)")"
    cat <<CONF
# KAFKA_SECURITY=$KAFKA_SECURITY (deploy/local/kafka_security.sh)
listeners=BROKER://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=BROKER://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=BROKER
ssl.keystore.type=PKCS12
ssl.keystore.location=$KSEC_DIR/broker.p12
ssl.keystore.password=$pass
ssl.key.password=$pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$KSEC_DIR/broker.p12
ssl.truststore.password=$pass
listener.name.controller.ssl.client.auth=required
# A certificate's CN is the user: CN=ingest is User:ingest, as the SCRAM user would be.
ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:kafka-broker
CONF
    if [[ $KAFKA_SECURITY == mtls ]]; then
        cat <<CONF
listener.security.protocol.map=BROKER:SSL,CONTROLLER:SSL
listener.name.broker.ssl.client.auth=required
CONF
    else
        cat <<CONF
listener.security.protocol.map=BROKER:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$(ksec_password_file admin)")";
CONF
    fi
}

# Arguments of the storage format: with SCRAM the admin exists before the broker first starts.
ksec_format_args() {
    KSEC_FORMAT_ARGS=()
    [[ $KAFKA_SECURITY == sasl_ssl ]] || return 0
    # shellcheck disable=SC2034 # lib.sh uses it
    KSEC_FORMAT_ARGS=(--add-scram
        "SCRAM-SHA-512=[name=admin,password=$(cat "$(ksec_password_file admin)")]")
}

# The Kafka security variables of user (common/kafka_security.h), NAME=value per line.
ksec_user_env() { # user
    local u=$1
    case $KAFKA_SECURITY in
    mtls)
        ksec_user_cert "$u" || return 1
        printf '%s\n' KAFKA_SECURITY_PROTOCOL=ssl "KAFKA_SSL_CA_FILE=$KAFKA_CA_FILE" \
            "KAFKA_SSL_CERT_FILE=$KAFKA_USERS_DIR/$u.crt" "KAFKA_SSL_KEY_FILE=$KAFKA_USERS_DIR/$u.key"
        ;;
    sasl_ssl)
        printf '%s\n' KAFKA_SECURITY_PROTOCOL=sasl_ssl KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \
            "KAFKA_SASL_USERNAME=$u" "KAFKA_SASL_PASSWORD_FILE=$(ksec_password_file "$u")" \
            "KAFKA_SSL_CA_FILE=$KAFKA_CA_FILE"
        ;;
    esac
}

# Arguments of env(1) that make a command run as Kafka user `user`: every variable of the
# other mode cleared (nothing inherited from the caller, say another user's name, remains),
# then the user's. Nothing for plaintext.
ksec_env_args() { # user
    local vars
    ksec_on || return 0
    vars="$(ksec_user_env "$1")" || return 1
    printf '%s\n' -u KAFKA_SASL_USERNAME -u KAFKA_SASL_PASSWORD -u KAFKA_SASL_PASSWORD_FILE \
        -u KAFKA_SASL_MECHANISM -u KAFKA_SSL_CERT_FILE -u KAFKA_SSL_KEY_FILE "$vars"
}

# Run a command as Kafka user `user`; env execs it, so a background one keeps its pid ($!).
ksec_run() { # user command...
    local user=$1 args
    shift
    args="$(ksec_env_args "$user")" || return 1
    # shellcheck disable=SC2046 # one argument per line, paths without blanks
    env $(printf '%s\n' "$args") "$@"
}

# Export a user's settings into this shell (deploy/local/start's crmctl).
ksec_export() { # user
    local line
    ksec_on || return 0
    while IFS= read -r line; do
        # shellcheck disable=SC2163
        export "$line"
    done < <(ksec_user_env "$1")
}

# The service users (passwords or certificates made here) with their ACLs.
ksec_users() {
    local u
    ksec_on || return 0
    for u in "${KSEC_USERS[@]}"; do
        if [[ $KAFKA_SECURITY == mtls ]]; then ksec_user_cert "$u"; else ksec_password_file "$u" >/dev/null; fi
    done
    ksec_run admin python3 "$STACK_LOCAL_DIR/kafka_admin.py" users
}
