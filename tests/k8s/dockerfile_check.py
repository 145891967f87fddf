#!/usr/bin/env python3
"""Proves deploy/docker/Dockerfile without a Docker engine, by running its own steps.

1. Reads the Dockerfile: stages, ARGs, RUN/COPY lines; checks the static rules (pinned Debian
   bookworm base, FROM scratch runtime stages with a numeric non-root USER, exec-form
   ENTRYPOINT, no RUN where there is no shell, no HEALTHCHECK).
2. Lays out the build context as Docker would, honouring .dockerignore, and runs the build
   stage's RUN command (the cmake configure + build) in it.
3. Runs the rootfs stage's collector commands on the binaries built, as the Dockerfile does,
   into one directory per image.
4. Maps every library of each image to its Debian package (dpkg) and checks that the runtime
   package list covers them all (apt's dependency closure plus the base's required packages)
   and that no listed package is superfluous.
5. Runs each image's entrypoint chrooted into its file set as the numeric user: --help, and the
   service itself answering /healthz, then SIGTERM and a clean exit.

Usage: dockerfile_check.py [--repo DIR] [--dockerfile FILE] [--keep]
Prints one line per check and "N passed, M failed"; exits 1 when any check failed.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SERVICES = {  # image → (entrypoint binary, other binaries, env that starts it with no Kafka or PostgreSQL)
    "ingest": ("ingest", [], {"WEBHOOK_KEYS": "k1:c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ==",
                              "DRAIN_MS": "500"}),
    "router": ("router", [], {"PG_DSN": "host=127.0.0.1 port=1 dbname=none connect_timeout=1"}),
    "crm-writer": ("crm-writer", ["crmctl"],
                   {"PG_DSN": "host=127.0.0.1 port=1 dbname=none connect_timeout=1"}),
    "notifier": ("notifier", [], {"POPUP_JWT_SECRET": "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ==",
                                  "DRAIN_MS": "500"}),
    "reconciler": ("reconciler", [],
                   {"PG_DSN": "host=127.0.0.1 port=1 dbname=none connect_timeout=1"}),
}

results = []
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok      " if ok else "FAILED  ") + name + ("" if ok or not detail else ": " + detail))
    sys.stdout.flush()
    return ok


# ---------------------------------------------------------------- Dockerfile parsing


def parse_dockerfile(path):
    """Returns (global_args, stages): stages is a list of {name, base, instrs[(op, rest)]}."""
    text = open(path, encoding="utf-8").read()
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue  # a comment inside a continued instruction
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    if cur:
        lines.append(cur)
    global_args, stages = {}, []
    for line in lines:
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            stages.append({"name": m.group(2), "base": m.group(1), "instrs": []})
        elif not stages:
            if op == "ARG":
                k, _, v = rest.partition("=")
                global_args[k] = shlex.split(v)[0] if v else ""
        else:
            stages[-1]["instrs"].append((op, rest))
    return global_args, stages


def stage(stages, name):
    for s in stages:
        if s["name"] == name:
            return s
    return None


def expand(s, args):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), s)


# ---------------------------------------------------------------- .dockerignore


def dockerignore_rules(path):
    rules = []
    if not os.path.exists(path):
        return rules
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = os.path.normpath(line[1:] if neg else line).lstrip("/")
        rx = ""
        i = 0
        while i < len(pat):
            if pat.startswith("**/", i):
                rx += "(?:.*/)?"
                i += 3
            elif pat.startswith("**", i):
                rx += ".*"
                i += 2
            elif pat[i] == "*":
                rx += "[^/]*"
                i += 1
            elif pat[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(pat[i])
                i += 1
        rules.append((neg, pat, re.compile(rx + "$")))
    return rules


def ignored(rel, rules):
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    out = False
    for neg, _, rx in rules:
        if any(rx.match(p) for p in prefixes):
            out = not neg
    return out


def copy_context(repo, dest, rules):
    n = 0
    for root, dirs, files in os.walk(repo):
        rel_root = os.path.relpath(root, repo)
        rel_root = "" if rel_root == "." else rel_root + "/"
        keep = []
        for d in dirs:
            rel = rel_root + d
            reincluded = any(neg and (p == rel or p.startswith(rel + "/")) for neg, p, _ in rules)
            if d == ".git" or (ignored(rel, rules) and not reincluded):
                continue
            keep.append(d)
        dirs[:] = keep
        for f in files:
            rel = rel_root + f
            if ignored(rel, rules):
                continue
            os.makedirs(os.path.join(dest, rel_root), exist_ok=True)
            shutil.copy2(os.path.join(root, f), os.path.join(dest, rel), follow_symlinks=False)
            n += 1
    return n


# ---------------------------------------------------------------- Debian packages


def apt_closure(pkgs):
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs,
                         capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        if line.startswith(" "):
            m = re.match(r"\s*\|?(?:Pre)?Depends: <?([^>\s]+)>?", line)
            if m:
                names.add(m.group(1).split(":")[0])
        else:
            names.add(line.strip().strip("<>").split(":")[0])
    return names


def base_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {p for p, ess, prio in (l.split("\t") for l in out.splitlines())
            if ess == "yes" or prio == "required"}


def needed_sonames(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


# ---------------------------------------------------------------- running the images


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_service(rootfs, user, entry, env):
    """Starts ENTRY chrooted into ROOTFS as USER, waits for /healthz, sends SIGTERM."""
    port = free_port()
    env = dict(env, KAFKA_BROKERS="127.0.0.1:1", OPS_ADDR="127.0.0.1", OPS_PORT=str(port),
               HTTP_ADDR="127.0.0.1", HTTP_PORT=str(free_port()), LOG_LEVEL="warn",
               INSTANCE_ID="check-0", PATH="/usr/local/bin")
    p = subprocess.Popen([CHROOT, "--userspec=" + user, rootfs] + entry, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    status, deadline = None, time.time() + 10
    try:
        while time.time() < deadline and p.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.2)
        if p.poll() is not None:
            return False, "exited early: " + p.stdout.read()[-400:]
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            return False, "did not stop within 15 s of SIGTERM"
        if status != 200:
            return False, f"/healthz gave {status}: " + p.stdout.read()[-400:]
        return rc == 0, f"exit status {rc} after SIGTERM: " + p.stdout.read()[-400:]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--repo", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--dockerfile", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--static", action="store_true", help="only the checks that read the Dockerfile")
    ap.add_argument("--no-run", action="store_true", help="do not start the images' entrypoints")
    ap.add_argument("--install-missing", action="store_true",
                    help="apt-get install the Dockerfile's build and runtime packages that are missing")
    ap.add_argument("--workdir", help="use (and keep) this directory instead of a temporary one")
    ap.add_argument("--reuse-build", action="store_true",
                    help="with --workdir: keep the context and binaries of an earlier run")
    a = ap.parse_args()
    repo = a.repo
    dockerfile = a.dockerfile or os.path.join(repo, "deploy", "docker", "Dockerfile")

    gargs, stages = parse_dockerfile(dockerfile)
    names = [s["name"] for s in stages]
    # --- static rules
    base = gargs.get("DEBIAN_BASE", "")
    check("base image is a pinned Debian bookworm (dated tag or digest)",
          re.match(r"^(docker\.io/)?(library/)?debian:bookworm-\d{8}(-slim)?(@sha256:[0-9a-f]{64})?$"
                   r"|^(docker\.io/)?(library/)?debian@sha256:[0-9a-f]{64}$", base) is not None, base)
    check("every stage is built FROM the pinned base or scratch",
          all(s["base"] in ("${DEBIAN_BASE}", "scratch") for s in stages),
          str([s["base"] for s in stages]))
    check("no HEALTHCHECK (Kubernetes probes do it)",
          not any(op == "HEALTHCHECK" for s in stages for op, _ in s["instrs"]))
    for svc, (binary, extra, _) in SERVICES.items():
        st = stage(stages, svc)
        if not check(f"image {svc}: a target of that name", st is not None, str(names)):
            continue
        ops = [op for op, _ in st["instrs"]]
        user = [r for op, r in st["instrs"] if op == "USER"]
        entry = [r for op, r in st["instrs"] if op == "ENTRYPOINT"]
        copies = [r for op, r in st["instrs"] if op == "COPY"]
        check(f"image {svc}: FROM scratch, no RUN (there is no shell)",
              st["base"] == "scratch" and "RUN" not in ops and "SHELL" not in ops)
        check(f"image {svc}: numeric non-root USER",
              len(user) == 1 and re.match(r"^[1-9]\d*(:[1-9]\d*)?$", user[0]) is not None, str(user))
        ok = False
        if len(entry) == 1:
            try:
                ok = json.loads(entry[0]) == [f"/usr/local/bin/{binary}"]
            except ValueError:
                pass
        check(f"image {svc}: exec-form ENTRYPOINT /usr/local/bin/{binary}", ok, str(entry))
        check(f"image {svc}: its file set comes from rootfs /rootfs/{svc}/",
              copies == [f"--from=rootfs /rootfs/{svc}/ /"], str(copies))

    build, rootfs = stage(stages, "build"), stage(stages, "rootfs")
    if not check("build and rootfs stages present", build is not None and rootfs is not None, str(names)):
        return summary()

    # Every package the Dockerfile installs exists in this Debian release.
    runtime_pkgs = shlex.split(gargs.get("RUNTIME_PACKAGES", ""))
    build_pkgs = []
    for op, r in build["instrs"]:
        if op == "RUN" and "apt-get install" in r:
            tail = r.split("apt-get install", 1)[1].split("&&")[0]
            build_pkgs += [w for w in shlex.split(tail) if not w.startswith("-")]
    if a.install_missing and not a.static:
        missing = [p for p in build_pkgs + runtime_pkgs
                   if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
        if missing:
            print("installing the Dockerfile's packages: " + " ".join(missing))
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            p = subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env)
            p = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                               capture_output=True, text=True, env=env)
            check("the Dockerfile's packages install here", p.returncode == 0, p.stderr[-800:])
    if a.static:
        return summary()
    for label, pkgs in (("build", build_pkgs), ("runtime", runtime_pkgs)):
        shown = subprocess.run(["apt-cache", "show", "--no-all-versions"] + pkgs, capture_output=True, text=True).stdout
        known = set(re.findall(r"^Package: (\S+)", shown, re.M))
        missing = [p for p in pkgs if p not in known]
        check(f"{label} packages exist in this Debian release ({len(pkgs)})", pkgs and not missing, str(missing))
    if a.workdir:
        tmp = a.workdir
        a.keep = True
        if not a.reuse_build:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(os.path.join(tmp, "rootfs"), ignore_errors=True)
        os.makedirs(tmp, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="dockerfile-check-")
    try:
        # --- the build context and the build stage's commands
        ctx = os.path.join(tmp, "src")
        workdir = next((r for op, r in build["instrs"] if op == "WORKDIR"), "/")
        cmds = [r for op, r in build["instrs"] if op == "RUN" and "apt-get" not in r]
        reuse = a.reuse_build and os.path.isdir(os.path.join(ctx, "build"))
        if not reuse:
            os.makedirs(ctx)
            n = copy_context(repo, ctx, dockerignore_rules(os.path.join(repo, ".dockerignore")))
            check(f"build context honours .dockerignore ({n} files, no build or VCS dirs)",
                  n > 0 and not os.path.exists(os.path.join(ctx, "build"))
                  and not os.path.exists(os.path.join(ctx, ".git")))
        else:
            cmds = []  # the binaries of the earlier run
        t0 = time.time()
        ok, detail = True, ""
        for c in cmds:
            p = subprocess.run(["bash", "-o", "pipefail", "-ec", c], cwd=ctx, capture_output=True, text=True)
            if p.returncode:
                ok, detail = False, f"{c}: " + (p.stdout + p.stderr)[-1500:]
                break
        if not reuse and not check(f"build stage commands succeed in the context ({time.time() - t0:.0f} s)",
                                   ok, detail):
            return summary()

        # --- the rootfs stage: COPY --from=build into /staging, then the collector runs.
        staging = {}
        for op, r in rootfs["instrs"]:
            if op == "COPY" and r.startswith("--from=build "):
                parts = r.split()[1:]
                for src in parts[:-1]:
                    host = os.path.join(ctx, os.path.relpath(src, workdir))
                    staging[os.path.join(parts[-1], os.path.basename(src))] = host
        rargs = dict(gargs)
        images, pkgs_of = {}, {}
        for op, r in rootfs["instrs"]:
            if op != "RUN" or "collect-rootfs.sh" not in r:
                continue
            for c in r.split("&&"):
                words = shlex.split(expand(c, rargs))
                env = dict(os.environ)
                while words and re.match(r"^\w+=", words[0]):
                    k, _, v = words.pop(0).partition("=")
                    env[k] = v
                if not words or not words[0].endswith("collect-rootfs.sh"):
                    continue
                dest = words[1]
                svc = os.path.basename(dest.rstrip("/"))
                bins = [staging.get(w) for w in words[2:]]
                if not check(f"collector inputs of {svc} come from the build stage", all(bins), str(words[2:])):
                    continue
                out_dir = os.path.join(tmp, "rootfs", svc)
                collector = os.path.join(ctx, "deploy/docker/collect-rootfs.sh")
                if reuse:  # the collector under test, not the earlier run's copy
                    collector = os.path.join(repo, "deploy/docker/collect-rootfs.sh")
                p = subprocess.run([collector, out_dir] + bins,
                                   env=env, capture_output=True, text=True)
                if check(f"collector lays out the {svc} image", p.returncode == 0, p.stderr[-800:]):
                    images[svc] = (out_dir, bins)
                    pkgs_of[svc] = dict(l.split("\t")[::-1] for l in p.stdout.splitlines() if "\t" in l)

        # --- packages: covered, and none superfluous
        allowed = apt_closure(runtime_pkgs) | base_packages()
        used_direct = set()
        for svc, (out_dir, bins) in images.items():
            libs = pkgs_of[svc]
            outside = sorted({f"{lib} ({pkg})" for lib, pkg in libs.items() if pkg not in allowed})
            check(f"image {svc}: every library ({len(libs)}) comes from the runtime packages or the base",
                  not outside, ", ".join(outside))
            by_name = {os.path.basename(lib): pkg for lib, pkg in libs.items()}
            for b in bins:
                for so in needed_sonames(b):
                    used_direct.add(by_name.get(so, "?"))
        unneeded = [p for p in runtime_pkgs if p != "ca-certificates" and p not in used_direct]
        check("every runtime package holds a library a binary links directly", not unneeded, str(unneeded))

        # --- the images run, as their numeric user, with nothing but their file set
        if a.no_run:
            return summary()
        if os.geteuid() != 0:
            check("running the images needs root (chroot)", False, "run as root")
            return summary()
        for svc, (out_dir, bins) in images.items():
            st = stage(stages, svc)
            user = next(r for op, r in st["instrs"] if op == "USER")
            stray = [os.path.join(d, f) for d in ("bin", "sbin", "usr/bin", "usr/sbin")
                     for f in (os.listdir(os.path.join(out_dir, d)) if os.path.isdir(os.path.join(out_dir, d))
                               and not os.path.islink(os.path.join(out_dir, d)) else [])]
            check(f"image {svc}: no shell or tools besides the service", not stray, str(stray))
            for b in bins:
                name = os.path.basename(b)
                p = subprocess.run([CHROOT, "--userspec=" + user, out_dir, f"/usr/local/bin/{name}", "--help"],
                                   capture_output=True, text=True, env={"PATH": "/usr/local/bin"})
                check(f"image {svc}: {name} --help runs as {user}",
                      p.returncode == 0 and "Environment" in p.stdout, (p.stdout + p.stderr)[-400:])
            entry = json.loads(next(r for op, r in st["instrs"] if op == "ENTRYPOINT"))
            ok, detail = run_service(out_dir, user, entry, SERVICES[svc][2])
            check(f"image {svc}: the service answers /healthz and exits 0 on SIGTERM", ok, detail)
    finally:
        if a.keep:
            pass
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def summary():
    passed = sum(1 for r in results if r)
    failed = len(results) - passed
    print(f"dockerfile: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
