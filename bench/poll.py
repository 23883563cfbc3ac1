#!/usr/bin/env python3
"""bench/poll.py: the HTTP poller of bench/dev-vs-skaffold.sh.

Polls URL until it answers what is wanted: a body that contains --body, or
the status --code. Each poll opens a NEW TCP connection (so that the
tool's port-forward may reach either replica), sends one GET, reads the
answer and closes; then it sleeps --every seconds. One process for the
whole wait, instead of a new curl (and the shell's helpers) per poll,
whose forks on a loaded 2-core machine cost more than the interval and
made the measure coarse.

URL may be fwd:APP/PATH: the last "Port forwarding deployment/APP ...
-> http://127.0.0.1:PORT" line of --log, read again before each poll (a
tool may move its forward to another local port after a redeploy).

With --write FILE (and --content TEXT) or --remove FILE, the poller makes
that edit itself once it is running, and its clock starts just before
the edit; it then prints "T0 SECONDS DONE": the clock's start (seconds
since the epoch), the seconds from it to the wanted answer, to 1 ms, and
DONE: with --done-re RE, the seconds until more than --done-after lines
of --log matched RE (the tool's end line; looked for every --every
seconds by a thread beside the polls, whose request may hang, and after
the answer for up to --done-timeout seconds), else "-". The log is read
again only when its size changed: no process is started while the tool
works (a shell loop of grep every 5 ms beside it made the tool's go
build 0.4-0.8 s slower on this 2-core machine).
Without an edit it prints nothing on success.

Exit status: 0 when the wanted answer came; 1 on --timeout, printing the
last answer (first 200 characters, or the error) on stdout; 2 when the
process --pid (the tool) is gone.
"""

import argparse
import http.client
import os
import re
import sys
import threading
import time
import urllib.parse


def resolve(url, log, cache):
    """The URL to poll now: fwd:APP/PATH through the log's forward line."""
    if not url.startswith("fwd:"):
        return url
    app, _, rest = url[4:].partition("/")
    try:
        size = os.stat(log).st_size
    except OSError:
        return None
    if cache.get("size") != size:
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        pat = re.compile(r"^Port forwarding deployment/" + re.escape(app) + r" .* -> (http://127\.0\.0\.1:[0-9]+)", re.M)
        found = pat.findall(text)
        cache["size"], cache["base"] = size, found[-1] if found else None
    if cache.get("base") is None:
        return None
    return cache["base"] + "/" + rest


def count(log, pattern, cache):
    """How many lines of log match pattern, read again when it grew."""
    try:
        size = os.stat(log).st_size
    except OSError:
        return 0
    if cache.get("size") != size:
        with open(log, encoding="utf-8", errors="replace") as f:
            cache["n"] = len(pattern.findall(f.read()))
        cache["size"] = size
    return cache["n"]


def get(url, timeout):
    """One GET on a new connection: (status, body) or (None, error text)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        conn.request("GET", path, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as e:
        return None, f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--body", help="wait for a body that contains this")
    p.add_argument("--code", type=int, help="wait for this HTTP status")
    p.add_argument("--timeout", type=float, required=True, help="seconds")
    p.add_argument("--every", type=float, default=0.005, help="seconds between polls")
    p.add_argument("--request-timeout", type=float, default=5.0)
    p.add_argument("--log", help="the tool's output, for fwd: URLs")
    p.add_argument("--pid", type=int, help="fail (status 2) when this process is gone")
    p.add_argument("--write", help="write --content into this file, then poll")
    p.add_argument("--content", default="")
    p.add_argument("--remove", help="remove this file, then poll")
    p.add_argument("--done-re", help="the tool's end line in --log (a regexp)")
    p.add_argument("--done-after", type=int, default=0, help="lines of --log that matched --done-re before the edit")
    p.add_argument("--done-timeout", type=float, default=20.0, help="seconds to wait for the end line after the answer")
    a = p.parse_args()
    if (a.body is None) == (a.code is None):
        p.error("give one of --body and --code")
    done_re = re.compile(a.done_re, re.M) if a.done_re else None

    edit = a.write is not None or a.remove is not None
    t0_wall, t0 = time.time(), time.monotonic()
    if a.write is not None:
        with open(a.write, "w", encoding="utf-8") as f:
            f.write(a.content)
    elif a.remove is not None:
        os.remove(a.remove)
    end = t0 + a.timeout
    done = []  # [seconds after t0] once the end line came
    stop = threading.Event()
    if done_re is not None:
        def watch_done():
            done_cache = {}
            while not stop.is_set():
                if count(a.log, done_re, done_cache) > a.done_after:
                    done.append(time.monotonic() - t0)
                    return
                stop.wait(a.every)

        threading.Thread(target=watch_done, daemon=True).start()
    try:
        return poll(a, t0, t0_wall, end, edit, done_re, done)
    finally:
        stop.set()


def poll(a, t0, t0_wall, end, edit, done_re, done):
    """Polls until the wanted answer (and the end line, or its timeout)."""
    cache = {}
    last = ""
    served = None
    while True:
        if served is None:
            url = resolve(a.url, a.log, cache)
            if url is None:
                last = f"no forward line for {a.url} in {a.log}"
            else:
                status, body = get(url, a.request_timeout)
                if status is None:
                    last = body
                elif (a.body is not None and a.body in body) or (a.code is not None and status == a.code):
                    served = time.monotonic() - t0
                else:
                    last = body[:200] if a.body is not None else str(status)
        if served is not None and (done_re is None or done or time.monotonic() - t0 > served + a.done_timeout):
            if edit:
                print(f"{t0_wall:.6f} {served:.3f} " + (f"{done[0]:.3f}" if done else "-"))
            return 0
        if a.pid is not None:
            try:
                os.kill(a.pid, 0)
            except ProcessLookupError:
                print(f"process {a.pid} exited", file=sys.stderr)
                return 2
        if served is None and time.monotonic() > end:
            print(last[:200])
            return 1
        time.sleep(a.every)


if __name__ == "__main__":
    sys.exit(main())
