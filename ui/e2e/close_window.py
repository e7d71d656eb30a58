"""Asks the X11 window titled argv[1] to close, as a window manager does when its close button
is clicked: a WM_DELETE_WINDOW client message (xdotool's windowclose destroys the window
instead, which skips the application's own close handling). Exit status 1: no such window.
With `--exists` it only says (by its exit status) whether such a window is shown."""
import sys

from Xlib import X, display, protocol

check_only = "--exists" in sys.argv[1:]
title = [a for a in sys.argv[1:] if a != "--exists"][0]
d = display.Display()
atoms = {name: d.intern_atom(name) for name in ("WM_PROTOCOLS", "WM_DELETE_WINDOW", "_NET_WM_NAME", "UTF8_STRING")}


def name_of(w):
    prop = w.get_full_property(atoms["_NET_WM_NAME"], atoms["UTF8_STRING"])
    if prop is not None:
        return prop.value.decode("utf-8", "replace") if isinstance(prop.value, bytes) else str(prop.value)
    return w.get_wm_name()


def find(w):
    try:
        if name_of(w) == title and w.get_attributes().map_state == X.IsViewable:
            return w
        for child in w.query_tree().children:
            found = find(child)
            if found is not None:
                return found
    except Exception:  # A window that went away while being looked at.
        return None
    return None


window = find(d.screen().root)
if window is None:
    sys.exit(1)
if check_only:
    sys.exit(0)
event = protocol.event.ClientMessage(
    window=window, client_type=atoms["WM_PROTOCOLS"], data=(32, [atoms["WM_DELETE_WINDOW"], X.CurrentTime, 0, 0, 0])
)
window.send_event(event)
d.flush()
