#!/usr/bin/env bash
# The main job, on a throwaway root: start the daemon, then through the CLI install the demo
# snaps, list them, look at the change that installed them, run an app confined and watch what
# its sandbox refuses, disconnect and reconnect an interface, configure it (its configure hook
# refuses a bad value), watch its service, refresh it to a new version (data carried over),
# revert it, and remove everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --bins --release --quiet
bin="$PWD/target/release"
work=$(mktemp -d /tmp/snap-demo.XXXXXX)
root="$work/root"
mkdir -p "$root"
export SNAPPY_GLOBAL_ROOT="$root"

cleanup() {
    [ -n "${daemon_pid:-}" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    # Anything still mounted under the throwaway root goes before the root does.
    grep -o " $root[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "scripts/make-base.sh core22   (a real base: busybox and the host's C library)"
scripts/make-base.sh "$work/core22" core22
step snap pack core22 '&&' snap pack demo/snaps/hello
"$bin/snap" pack "$work/core22" "$work"
"$bin/snap" pack demo/snaps/hello "$work"
# Version 1.1 of the demo snap, for the refresh.
cp -a demo/snaps/hello "$work/hello-1.1"
sed -i 's/^version: "1.0"/version: "1.1"/' "$work/hello-1.1/meta/snap.yaml"
"$bin/snap" pack "$work/hello-1.1" "$work" >/dev/null

step "snapd &   (root: $root)"
"$bin/snapd" 2>"$work/snapd.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$root/run/snapd.socket" ] && break; sleep 0.05; done

step snap version
"$bin/snap" version

step snap install --dangerous core22_1_all.snap
"$bin/snap" install --dangerous "$work/core22_1_all.snap"
step snap install --dangerous hello-demo_1.0_all.snap
"$bin/snap" install --dangerous "$work/hello-demo_1.0_all.snap"

step snap list
"$bin/snap" list
step snap info hello-demo
"$bin/snap" info hello-demo
step snap changes
"$bin/snap" changes
step snap tasks 2
"$bin/snap" tasks 2

step "ls $root/snap/hello-demo/current/   (the read-only squashfs mount)"
ls -l "$root/snap/hello-demo/current/"

step "snap run hello-demo   (confined: the base is /, landlock, seccomp, no capabilities)"
"$bin/snap" run hello-demo
mkdir -p "$root/root/Documents" && echo "a document of root's" > "$root/root/Documents/hello.txt"
step "hello-demo.snoop   (through the $root/snap/bin wrapper)"
"$root/snap/bin/hello-demo.snoop" || true
step "snap connections hello-demo   (home auto-connected)"
"$bin/snap" connections hello-demo
step "snap disconnect hello-demo:home && hello-demo.snoop"
"$bin/snap" disconnect hello-demo:home
"$root/snap/bin/hello-demo.snoop" 2>&1 | tail -2 || true
step "snap connect hello-demo:home && hello-demo.snoop"
"$bin/snap" connect hello-demo:home
"$root/snap/bin/hello-demo.snoop" 2>&1 | tail -2 || true

step "snap run --debug hello-demo   (what was enforced)"
"$bin/snap" run --debug hello-demo

step "snap set hello-demo greeting='Good morning'   (checked by the snap's configure hook)"
"$bin/snap" set hello-demo greeting='Good morning'
"$bin/snap" get hello-demo greeting
"$bin/snap" run hello-demo
step "snap set hello-demo greeting='<script>'   (the configure hook refuses; nothing changes)"
"$bin/snap" set hello-demo greeting='<script>' || true
"$bin/snap" get hello-demo greeting

step "snap services && snap logs hello-demo.ticker -n 3   (a confined service, supervised)"
sleep 2
"$bin/snap" services
"$bin/snap" logs hello-demo.ticker -n 3

step "snap install --dangerous hello-demo_1.1_all.snap   (a refresh: x1 stays, its data copied)"
"$bin/snap" install --dangerous "$work/hello-demo_1.1_all.snap"
"$bin/snap" list --all
"$bin/snap" run hello-demo
echo "\$SNAP_DATA/note written by 1.0's snoop, as 1.1 sees it:"
cat "$root/var/snap/hello-demo/current/note"
step snap revert hello-demo
"$bin/snap" revert hello-demo
"$bin/snap" run hello-demo
"$bin/snap" changes
step "Debian's own snap client talks to the same daemon: SNAP_REEXEC=0 /usr/bin/snap list"
PATH="$PATH:$root/snap/bin" SNAP_REEXEC=0 /usr/bin/snap list

step snap remove hello-demo
"$bin/snap" remove hello-demo
step snap remove core22
"$bin/snap" remove core22
step snap install --dangerous hello-demo_1.0_all.snap   '(its base is gone: refused)'
"$bin/snap" install --dangerous "$work/hello-demo_1.0_all.snap" || true

step snap list
"$bin/snap" list
step "find $root/snap $root/var/snap   (nothing left behind)"
find "$root/snap" "$root/var/snap"
