"""A flow that sleeps beside a process it started (``cancel`` tests): once the run is
cancelled, neither may live on. The process carries a marker on its command line so
the test can look for it; both end by themselves after ``seconds``."""

from __future__ import annotations

import subprocess
import sys
import time

from shipway import flow

_CHILD = "import sys, time; time.sleep(float(sys.argv[2]))"


@flow
def holds_child(marker: str, seconds: float = 60.0) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, marker, str(seconds)])
    print(f"started child {child.pid}", flush=True)
    time.sleep(seconds)
    child.wait()
