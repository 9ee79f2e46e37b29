#!/usr/bin/python3
"""Drives the interfaces API of a snapd-compatible daemon through snapd-glib (gir1.2-snapd-2),
for the interfaces end-to-end tests. It extends glib_client.py (whose helpers it reuses) with:

Usage: glib_interfaces.py SOCKET OP...

    connections                 get_connections2_sync(NONE)        GET /v2/connections
    connections-all             get_connections2_sync(SELECT_ALL)  GET /v2/connections?select=all
    interfaces                  get_interfaces2_sync(INCLUDE_PLUGS|INCLUDE_SLOTS)
                                                                   GET /v2/interfaces?plugs=true&slots=true&select=all
    legacy                      get_interfaces_sync                GET /v2/interfaces
    connect:PS:P:SS:S           connect_interface_sync             POST /v2/interfaces, then polling
    disconnect:PS:P:SS:S        disconnect_interface_sync          the same with "disconnect"

(PS:P is the plug's snap and name, SS:S the slot's; either part of the slot may be empty) and
any OP of glib_client.py. It prints one JSON document on stdout: {"ops": [{"op", "ok",
"result" | "error"}]}; a failing OP does not stop the others.

Only Debian's /usr/bin/python3 has the GObject bindings (python3-gi).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import glib_client  # noqa: E402
from glib_client import GLib, Snapd  # noqa: E402


def names(result):
    """An attribute-name list; the bindings may return it with its length."""
    if isinstance(result, tuple):
        result = result[0]
    return sorted(result or [])


def conn_dict(c):
    plug, slot = c.get_plug(), c.get_slot()
    return {
        "interface": c.get_interface(),
        "plug": [plug.get_snap(), plug.get_plug()],
        "slot": [slot.get_snap(), slot.get_slot()],
        "manual": c.get_manual(),
        "gadget": c.get_gadget(),
        "plug-attrs": names(c.get_plug_attribute_names()),
        "slot-attrs": names(c.get_slot_attribute_names()),
    }


def plug_dict(p):
    return {
        "snap": p.get_snap(),
        "name": p.get_name(),
        "interface": p.get_interface(),
        "label": p.get_label(),
        "connected-slots": [[s.get_snap(), s.get_slot()] for s in (p.get_connected_slots() or [])],
    }


def slot_dict(s):
    return {
        "snap": s.get_snap(),
        "name": s.get_name(),
        "interface": s.get_interface(),
        "label": s.get_label(),
        "connected-plugs": [[p.get_snap(), p.get_plug()] for p in (s.get_connected_plugs() or [])],
    }


def ends(spec):
    """PS:P:SS:S → the four names (empty strings stay empty)."""
    parts = spec.split(":")
    if len(parts) != 4:
        raise ValueError("want PLUGSNAP:PLUG:SLOTSNAP:SLOT, got " + spec)
    return parts


def run(client, op):
    if op in ("connections", "connections-all"):
        flags = Snapd.GetConnectionsFlags.SELECT_ALL if op == "connections-all" else Snapd.GetConnectionsFlags.NONE
        _ok, established, undesired, plugs, slots = client.get_connections2_sync(flags, None, None, None)
        return {
            "established": [conn_dict(c) for c in established],
            "undesired": [conn_dict(c) for c in undesired],
            "plugs": [plug_dict(p) for p in plugs],
            "slots": [slot_dict(s) for s in slots],
        }
    if op == "interfaces":
        flags = Snapd.GetInterfacesFlags.INCLUDE_PLUGS | Snapd.GetInterfacesFlags.INCLUDE_SLOTS
        return [
            {
                "name": i.get_name(),
                "summary": i.get_summary(),
                "plugs": [plug_dict(p) for p in i.get_plugs()],
                "slots": [slot_dict(s) for s in i.get_slots()],
            }
            for i in client.get_interfaces2_sync(flags, None, None)
        ]
    if op == "legacy":
        _ok, plugs, slots = client.get_interfaces_sync(None)
        return {"plugs": [plug_dict(p) for p in plugs], "slots": [slot_dict(s) for s in slots]}
    for action in ("connect", "disconnect"):
        if op.startswith(action + ":"):
            plug_snap, plug, slot_snap, slot = ends(op[len(action) + 1 :])
            progress = glib_client.Progress()
            call = client.connect_interface_sync if action == "connect" else client.disconnect_interface_sync
            ok = call(plug_snap, plug, slot_snap, slot, progress, None, None)
            return {"ok": ok, "progress": progress.seen}
    return glib_client.run(client, op)


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
