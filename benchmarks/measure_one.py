"""Run one command; print its wall time and peak RSS (KiB) as JSON. Used by run.py."""

import json
import resource
import subprocess
import sys
import time

cmd = sys.argv[sys.argv.index("--") + 1 :]
start = time.perf_counter()
proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
wall = time.perf_counter() - start
if proc.returncode != 0:
    sys.stderr.write(proc.stderr.decode(errors="replace"))
    sys.exit(proc.returncode)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rss_kib": peak}))
