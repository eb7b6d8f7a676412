#!/usr/bin/env python3
"""How soon a first start says something, and how long until it is ready.

Runs `concierge chat` and `concierge serve` on the demo shop, each with an empty vector cache
(a first start: the shop's texts are embedded) and then with the cache that run filled (a later
start), and times every line they write to stderr from the moment the process is started. Prints
a Markdown table: the time to the first line (the target: under 1 s), to the first progress line
of the embedding, and to ready.

    python3 bench/first_start.py            # both commands, cold and warm
    python3 bench/first_start.py --runs 3   # each measurement three times

Uses the release binary ($CONCIERGE_BIN, as scripts/env.sh sets it). Standard library only.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary():
    cache = os.environ.get("CONCIERGE_CACHE", os.path.expanduser("~/.cache/concierge"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(cache, "target"))
    path = os.environ.get("CONCIERGE_BIN", os.path.join(target, "release", "concierge"))
    if not os.access(path, os.X_OK):
        sys.exit(f"no binary at {path}: run scripts/setup (or cargo build --release)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_lines(proc, started, lines, done):
    for raw in proc.stderr:
        lines.append((time.monotonic() - started, raw.decode("utf-8", "replace").rstrip()))
    done.set()


def first(lines, *needles):
    for t, line in lines:
        if any(n in line for n in needles):
            return t
    return None


# The embedding's own lines ("embedding 2,674 texts…", serve's "embedding started" and
# "embedding: 40 %", "… texts embedded already"), not "loading the sentence-embedding model".
EMBEDDING = re.compile(r"(^|\s)embedding (\d|started)|embedding: |embedded already")


def first_embedding(lines):
    for t, line in lines:
        if EMBEDDING.search(line):
            return t
    return None


def run_chat(exe, cache):
    env = dict(os.environ, CONCIERGE_CACHE=cache)
    env.pop("CONCIERGE_CONFIG", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [exe, "chat"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    lines, done = [], threading.Event()
    threading.Thread(target=timed_lines, args=(proc, started, lines, done), daemon=True).start()
    # An empty line ends the chat once it is ready.
    proc.communicate(b"\n", timeout=1800)
    done.wait(10)
    return lines, first(lines, "ready: ")


def run_serve(exe, cache):
    env = dict(os.environ, CONCIERGE_CACHE=cache, CONCIERGE_LOG="info")
    env.pop("CONCIERGE_CONFIG", None)
    data = tempfile.mkdtemp(prefix="first-start-data-")
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [exe, "serve", "--listen", f"127.0.0.1:{port}", "--data", data], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    lines, done = [], threading.Event()
    threading.Thread(target=timed_lines, args=(proc, started, lines, done), daemon=True).start()
    ready = None
    deadline = started + 1800
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    ready = time.monotonic() - started
                    break
        except OSError:
            pass
        time.sleep(0.05)
    proc.terminate()
    proc.wait(60)
    done.wait(10)
    return lines, ready


def fmt(t):
    return "–" if t is None else f"{t:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    exe = binary()
    print("| command | vector cache | first line | embedding progress | ready |")
    print("|---|---|---:|---:|---:|")
    worst_first = 0.0
    for name, run in (("chat", run_chat), ("serve", run_serve)):
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="first-start-cache-") as cache:
                for state in ("empty (first start)", "filled (later start)"):
                    lines, ready = run(exe, cache)
                    if not lines:
                        sys.exit(f"{name} wrote nothing on stderr")
                    first_line = lines[0][0]
                    worst_first = max(worst_first, first_line)
                    progress = first_embedding(lines)
                    print(f"| `{name}` | {state} | {fmt(first_line)} | {fmt(progress)} | {fmt(ready)} |")
    with open("/proc/loadavg") as f:
        print(f"\nload average after the runs: {' '.join(f.read().split()[:3])}")
    print(f"slowest first line: {worst_first:.2f} s (target: under 1 s)")
    return 0 if worst_first < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
