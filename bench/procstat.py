"""What a server process costs: CPU ticks and peak resident memory from /proc.

CPU is utime + stime of ``/proc/<pid>/stat`` (all threads of the process,
so the I/O thread pool counts too), read before and after a workload.  The
peak RSS is ``VmHWM`` of ``/proc/<pid>/status``; writing ``5`` to
``/proc/<pid>/clear_refs`` resets it (Linux >= 4.0, same user or root), so
each workload gets its own peak instead of the process's lifetime one.
"""
from __future__ import annotations

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by the processes ``pids``."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            # the command name (field 2) may hold spaces: split after its ')'
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pids) -> bool:
    """Reset VmHWM to the current RSS; False when the kernel refuses."""
    ok = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


def peak_rss_mb(pids) -> float:
    """Sum of the processes' VmHWM, in MB (10^6 bytes)."""
    return sum(_status_kib(pid, "VmHWM") for pid in pids) * 1024 / 1e6


def rss_mb(pids) -> float:
    return sum(_status_kib(pid, "VmRSS") for pid in pids) * 1024 / 1e6


class Meter:
    """CPU and peak RSS of ``pids`` over one workload (a context manager)."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.cpu = 0.0
        self.peak_mb = 0.0

    def __enter__(self):
        reset_peak(self.pids)
        self._cpu0 = cpu_seconds(self.pids)
        return self

    def __exit__(self, *exc):
        self.cpu = cpu_seconds(self.pids) - self._cpu0
        self.peak_mb = peak_rss_mb(self.pids)
        return False
