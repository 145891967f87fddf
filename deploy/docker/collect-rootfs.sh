#!/bin/bash
# collect-rootfs.sh DEST BINARY...
#
# Lays out in DEST the whole file set of a FROM-scratch image that runs BINARY...: the binaries in
# /usr/local/bin, every shared library that ldd resolves for them and the dynamic loader (at the
# paths the loader searches, merged /usr as on Debian), the copyright file of each Debian package
# a library comes from, the CA bundle (TLS to Kafka or PostgreSQL), passwd/group naming the
# numeric app user (libpq and Kerberos look the user up) and an empty /tmp. Nothing else: no
# shell, no package manager.
#
# Prints one line "package<TAB>file" per library so that a check can map the closure to Debian
# packages. Fails when a library is not found or belongs to no Debian package. With ZONEINFO set
# (e.g. /usr/share/zoneinfo), the zone database is copied too, for a program that reads time
# zones (the reconciler: UIS writes report times in the account's zone). The Dockerfile runs
# it in a stage holding only the runtime packages; tests/k8s/dockerfile_check.sh runs the same
# script outside Docker.
set -euo pipefail

app_uid=${APP_UID:-10001}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

die() {
    echo "collect-rootfs: $*" >&2
    exit 1
}

(($# >= 2)) || die "usage: collect-rootfs.sh DEST BINARY..."
dest=$1
shift

# Which Debian package owns each library: one dpkg-query for all. dpkg records a library under
# the path its package ships (/lib/... or /usr/lib/...), which with merged /usr may differ from
# the path ldd prints, so every spelling is asked for.
declare -A owner_of=()
find_owners() {
    local p c cands=() pkg path
    for p in "$@"; do
        for c in "$p" "$(readlink -f "$p")" "${p#/usr}" "/usr$p"; do
            cands+=("$c")
        done
    done
    while IFS= read -r line; do
        [[ $line == diversion* ]] && continue
        pkg=${line%%: *}
        path=${line#*: }
        owner_of[$path]=${pkg%%:*}
    done < <(dpkg-query -S "${cands[@]}" 2>/dev/null)
}

owner() {
    local p c
    for p in "$@"; do
        for c in "$p" "${p#/usr}" "/usr$p"; do
            if [[ -n ${owner_of[$c]:-} ]]; then
                echo "${owner_of[$c]}"
                return 0
            fi
        done
    done
    return 1
}

# copy_lib PATH: the file behind PATH at its real location, plus a link where PATH's name
# differs (soname → versioned file, /lib64 loader → /usr/lib/<triplet>).
copy_lib() {
    local path=$1 real dir link pkg
    real=$(readlink -f "$path")
    dir=$(readlink -f "$(dirname "$path")")
    link="$dir/$(basename "$path")"
    mkdir -p "$dest$(dirname "$real")" "$dest$dir"
    cp -p "$real" "$dest$real"
    if [[ $link != "$real" ]]; then
        ln -sfr "$dest$real" "$dest$link"
    fi
    pkg=$(owner "$path" "$real" "$link") || die "$path belongs to no Debian package"
    if [[ -f /usr/share/doc/$pkg/copyright ]]; then
        install -D -m 0644 "/usr/share/doc/$pkg/copyright" "$dest/usr/share/doc/$pkg/copyright"
    fi
    printf '%s\t%s\n' "$pkg" "$path"
}

mkdir -p "$dest/usr/local/bin" "$dest/etc/ssl/certs" "$dest/tmp"
chmod 1777 "$dest/tmp"
# Merged /usr: /lib and /lib64 are links into /usr, as in the Debian base.
for d in /lib /lib64; do
    if [[ -L $d ]]; then
        ln -sfn "$(readlink "$d")" "$dest$d"
    fi
done

declare -A seen=()
libs=()
for bin in "$@"; do
    [[ -x $bin ]] || die "$bin is not an executable"
    install -m 0755 "$bin" "$dest/usr/local/bin/$(basename "$bin")"
    out=$(ldd "$bin") || die "ldd $bin failed"
    if grep -q 'not found' <<<"$out"; then
        die "$bin: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
    fi
    while read -r first arrow path _; do
        case $first in
        linux-vdso.so.*) continue ;;
        /*) lib=$first ;; # the loader: printed without "=>"
        *)
            [[ $arrow == "=>" ]] || die "$bin: cannot read ldd line: $first $arrow $path"
            lib=$path
            ;;
        esac
        [[ -n ${seen[$lib]:-} ]] && continue
        seen[$lib]=1
        libs+=("$lib")
    done <<<"$out"
done
find_owners "${libs[@]}"
for lib in "${libs[@]}"; do
    copy_lib "$lib"
done

[[ -f $ca_bundle ]] || die "no CA bundle at $ca_bundle (install ca-certificates)"
install -m 0644 "$ca_bundle" "$dest/etc/ssl/certs/ca-certificates.crt"
# OpenSSL's default directory is /usr/lib/ssl; Debian points it at /etc/ssl.
mkdir -p "$dest/usr/lib/ssl"
ln -sfn /etc/ssl/certs "$dest/usr/lib/ssl/certs"
ln -sfn /etc/ssl/certs/ca-certificates.crt "$dest/usr/lib/ssl/cert.pem"

if [[ -n ${ZONEINFO:-} ]]; then
    [[ -d $ZONEINFO ]] || die "no zone database at $ZONEINFO (install tzdata)"
    mkdir -p "$dest$(dirname "$ZONEINFO")"
    cp -a "$ZONEINFO" "$dest$ZONEINFO"
    if [[ -f /usr/share/doc/tzdata/copyright ]]; then
        install -D -m 0644 /usr/share/doc/tzdata/copyright "$dest/usr/share/doc/tzdata/copyright"
    fi
fi

printf 'root:x:0:0:root:/root:/nonexistent\napp:x:%d:%d:app:/nonexistent:/nonexistent\n' \
    "$app_uid" "$app_uid" >"$dest/etc/passwd"
printf 'root:x:0:\napp:x:%d:\n' "$app_uid" >"$dest/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dest/etc/nsswitch.conf"
