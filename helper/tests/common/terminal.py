#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal of a given size, as a session
leader with the terminal as its controlling tty (so Ctrl-C and resizes
reach it as they would from a terminal emulator), and follows steps.

    terminal.py COLS ROWS STEPS_JSON -- COMMAND...

STEPS_JSON is a list of steps, done in order:
    ["wait", REGEX]          until the output since the last wait matches
    ["append", PATH, TEXT]   append TEXT to the file PATH
    ["resize", COLS, ROWS]   resize the terminal (the command gets SIGWINCH)
    ["type", TEXT]           type TEXT on the terminal ("\\u0003" is Ctrl-C)

Then waits for the command to end (10 s at most) and prints one JSON object:
{"output": everything it wrote, "status": its exit status, "marks": the
offsets in output where each wait matched}. Exits 1 when a step times out.
"""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

TIMEOUT = 10.0


def resize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    cols, rows, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    master, slave = pty.openpty()
    resize(slave, cols, rows)

    def session():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=session, close_fds=True)
    os.close(slave)
    out = b""
    seen = 0
    marks = []

    def pump(deadline):
        nonlocal out
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                return False
            out += data
        return True

    def fail(why):
        print(json.dumps({"output": out.decode("utf-8", "replace"), "status": None,
                          "marks": marks, "error": why}))
        proc.kill()
        sys.exit(1)

    for step in steps:
        if step[0] == "wait":
            pattern = re.compile(step[1].encode())
            deadline = time.monotonic() + TIMEOUT
            while True:
                m = pattern.search(out, seen)
                if m:
                    seen = m.end()
                    marks.append(seen)
                    break
                if not pump(deadline):
                    fail("timed out waiting for " + step[1])
        elif step[0] == "append":
            with open(step[1], "a", encoding="utf-8") as f:
                f.write(step[2])
        elif step[0] == "resize":
            resize(master, step[1], step[2])
        elif step[0] == "type":
            os.write(master, step[1].encode())
        else:
            fail("unknown step " + step[0])

    deadline = time.monotonic() + TIMEOUT
    while pump(deadline):
        pass
    try:
        status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        fail("the command did not end")
    print(json.dumps({"output": out.decode("utf-8", "replace"), "status": status,
                      "marks": marks}))


main()
