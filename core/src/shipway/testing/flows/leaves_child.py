"""A flow that returns while a process it started still runs: the run must end with the
flow (its engine's exit), not with that process, and the process must not live on."""

from __future__ import annotations

import subprocess
import sys

from shipway import flow

# Bounded: if nothing stops it, it ends by itself. It keeps writing to the run's output,
# which it inherited, so a plugin that reads output until end-of-file never gets there;
# a closed pipe does not stop it either.
_CHILD = """\
import sys
import time

deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        print("leftover still running", flush=True)
    except OSError:  # its reader is gone: it goes on all the same, as a daemon would
        pass
    time.sleep(0.2)
"""


@flow
def leaves_child(marker: str, seconds: float = 60.0) -> None:
    # The marker, unique to one test, is on the child's command line: that is how the
    # test finds it afterwards.
    child = subprocess.Popen([sys.executable, "-c", _CHILD, marker, str(seconds)])
    print(f"started child {child.pid}", flush=True)
    print("returning", flush=True)
