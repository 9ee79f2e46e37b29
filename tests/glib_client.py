#!/usr/bin/python3
"""Drives a snapd-compatible daemon through snapd-glib (gir1.2-snapd-2), for the compat tests.

Usage: glib_client.py SOCKET OP...

Each OP is one of
    info              get_system_information_sync
    snaps             get_snaps_sync(NONE)
    snaps-all         get_snaps_sync(INCLUDE_INACTIVE)
    changes           get_changes_sync(ALL)
    change:ID         get_change_sync(ID)
    install:PATH      install_stream_sync(DANGEROUS) with a Gio stream of the file at PATH
    remove:NAME       remove_sync(NAME)

and the script prints one JSON document on stdout: {"ops": [{"op", "ok", "result" | "error"}]}.
A failing OP does not stop the others; the error carries glib's domain, code and message, which
name what the library expected of the daemon.

Only Debian's /usr/bin/python3 has the GObject bindings (python3-gi).
"""

import json
import sys

import gi

gi.require_version("Snapd", "2")
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib, Snapd  # noqa: E402


def nick(value):
    """An enum as its short name ('active', 'done'), or None."""
    if value is None:
        return None
    return getattr(value, "value_nick", str(value))


def change_dict(chg):
    return {
        "id": chg.get_id(),
        "kind": chg.get_kind(),
        "summary": chg.get_summary(),
        "status": chg.get_status(),
        "ready": chg.get_ready(),
        "error": chg.get_error(),
        "spawn-time": chg.get_spawn_time().format_iso8601() if chg.get_spawn_time() else None,
        "ready-time": chg.get_ready_time().format_iso8601() if chg.get_ready_time() else None,
        "tasks": [
            {
                "id": t.get_id(),
                "kind": t.get_kind(),
                "summary": t.get_summary(),
                "status": t.get_status(),
                "progress-done": t.get_progress_done(),
                "progress-total": t.get_progress_total(),
            }
            for t in chg.get_tasks()
        ],
    }


def snap_dict(s):
    return {
        "name": s.get_name(),
        "version": s.get_version(),
        "revision": s.get_revision(),
        "status": nick(s.get_status()),
        "type": nick(s.get_snap_type()),
        "summary": s.get_summary(),
        "description": s.get_description(),
        "confinement": nick(s.get_confinement()),
        "apps": [a.get_name() for a in s.get_apps()],
        "installed-size": s.get_installed_size(),
        "install-date": s.get_install_date().format_iso8601() if s.get_install_date() else None,
    }


class Progress:
    """Records what the progress callback saw while a change was polled."""

    def __init__(self):
        self.seen = []

    def __call__(self, client, change, _deprecated, *data):
        self.seen.append({"id": change.get_id(), "status": change.get_status(), "ready": change.get_ready()})


def run(client, op):
    if op == "info":
        i = client.get_system_information_sync(None)
        return {
            "version": i.get_version(),
            "series": i.get_series(),
            "os-id": i.get_os_id(),
            "os-version": i.get_os_version(),
            "on-classic": i.get_on_classic(),
            "kernel-version": i.get_kernel_version(),
            "confinement": nick(i.get_confinement()),
            "mount-directory": i.get_mount_directory(),
            "binaries-directory": i.get_binaries_directory(),
        }
    if op == "snaps":
        return [snap_dict(s) for s in client.get_snaps_sync(Snapd.GetSnapsFlags.NONE, None, None)]
    if op == "snaps-all":
        return [snap_dict(s) for s in client.get_snaps_sync(Snapd.GetSnapsFlags.INCLUDE_INACTIVE, None, None)]
    if op == "changes":
        return [change_dict(c) for c in client.get_changes_sync(Snapd.ChangeFilter.ALL, None, None)]
    if op.startswith("change:"):
        return change_dict(client.get_change_sync(op[len("change:"):], None))
    if op.startswith("install:"):
        progress = Progress()
        stream = Gio.File.new_for_path(op[len("install:"):]).read(None)
        ok = client.install_stream_sync(Snapd.InstallFlags.DANGEROUS, stream, progress, None, None)
        return {"ok": ok, "progress": progress.seen}
    if op.startswith("remove:"):
        progress = Progress()
        ok = client.remove2_sync(Snapd.RemoveFlags.NONE, op[len("remove:"):], progress, None, None)
        return {"ok": ok, "progress": progress.seen}
    raise ValueError("unknown op " + op)


def main():
    client = Snapd.Client.new()
    client.set_socket_path(sys.argv[1])
    out = []
    for op in sys.argv[2:]:
        try:
            out.append({"op": op, "ok": True, "result": run(client, op)})
        except GLib.Error as e:
            out.append({"op": op, "ok": False, "error": {"domain": e.domain, "code": e.code, "message": e.message}})
    json.dump({"ops": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
