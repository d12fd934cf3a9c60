"""The tables of bench/run.py: workloads, units, targets, and the pure
functions that turn measured rows into ratios and table cells (unit-tested
in tests/unit/test_bench_tables.py, as nothing here touches a server)."""
from __future__ import annotations

import statistics

WORKLOADS = ("put4k", "get4k", "head", "delete", "put256m", "get256m", "mpu_up", "mpu_down",
             "list10k", "list100k")

LABELS = {
    "put4k": "PUT 4 KiB, c=32", "get4k": "GET 4 KiB, c=32", "head": "HEAD, c=32",
    "delete": "DELETE, c=32", "put256m": "PUT 256 MiB", "get256m": "GET 256 MiB",
    "mpu_up": "MPU 1 GiB up (8 MiB parts, 4 at once)", "mpu_down": "MPU 1 GiB down (one GET)",
    "list10k": "list 10,000 keys (1000/page)", "list100k": "list 100,000 keys (1000/page)",
}
UNITS = {"put4k": "ops/s", "get4k": "ops/s", "head": "ops/s", "delete": "ops/s",
         "put256m": "MB/s", "get256m": "MB/s", "mpu_up": "MB/s", "mpu_down": "MB/s",
         "list10k": "s", "list100k": "s"}
#: issue 8's targets (file backend, one process) and upstream CloudServer's figures
TARGETS = {"put4k": 1100, "get4k": 2950, "head": 5600, "delete": 2300, "put256m": 400,
           "get256m": 590, "mpu_up": 410, "list10k": 0.25}
UPSTREAM = {"put4k": 553, "get4k": 1482, "head": 2789, "delete": 1142, "put256m": 246,
            "get256m": 295, "mpu_up": 256, "list10k": 0.50}
RSS_TARGET_MB = 150
#: issue 21's targets: ours-file ÷ upstream CloudServer measured in the same run
VS_UPSTREAM_TARGETS = {"put4k": 2.0, "get4k": 2.0, "head": 2.0, "delete": 2.0,
                       "put256m": 2.0, "get256m": 2.0, "mpu_up": 1.6}


def round_ratio(rows: list[dict], ref_rows: list[dict], lower_is_better: bool = False):
    """(median, per-round list) of ``rows``' value ÷ ``ref_rows``' value in
    the same round; for a duration (lower is better) ref ÷ value, so that a
    ratio above 1 always means faster than the reference."""
    ref = {r["round"]: r["value"] for r in ref_rows}
    ratios = []
    for r in sorted(rows, key=lambda r: r["round"]):
        other = ref.get(r["round"])
        if other and r["value"]:
            ratios.append(other / r["value"] if lower_is_better else r["value"] / other)
    return (statistics.median(ratios) if ratios else None), ratios


def fmt_vs_upstream(w: str, s: dict) -> str:
    """ours-file ÷ upstream, its per-round values and issue 21's target."""
    if s.get("vs_upstream") is None:
        return "—"
    rounds = "/".join(f"{r:.2f}" for r in s["vs_upstream_rounds"])
    text = f"**{s['vs_upstream']:.2f}×** ({rounds})"
    target = VS_UPSTREAM_TARGETS.get(w)
    if target:
        text += f"; ≥ {target:g} " + ("✔" if s["vs_upstream"] >= target else "✘")
    return text


def cpu_bound(s: dict, w: str, big: int, mpu: int) -> str:
    """What one core would do if the server's CPU per operation were the only
    limit: the figure to compare with the targets on a machine whose other
    users take part of the CPU (see the "other load" column)."""
    cpu = s["cpu_ms_per_op"]
    if not cpu:
        return "—"
    if UNITS[w] == "ops/s":
        return f"{1000 / cpu:,.0f}/s"
    if UNITS[w] == "MB/s":
        size = mpu if w.startswith("mpu") else big
        return f"{size / 1e6 / (cpu / 1000):,.0f} MB/s"
    return "—"


def short(what: str | None) -> str:
    return {"ceiling": "ceil", "disk write+fsync": "disk", "loopback TCP": "lo",
            "ceiling GET (pages/s)": "ceil"}.get(what or "", what or "")


def meets(w: str, value: float) -> bool:
    return value <= TARGETS[w] if UNITS[w] == "s" else value >= TARGETS[w]


def fmt_target(w: str) -> str:
    if w not in TARGETS:
        return "—"
    return ("≤ " if UNITS[w] == "s" else "≥ ") + fmt_num(TARGETS[w], w)


def fmt_num(v, w: str) -> str:
    if v is None:
        return "—"
    if UNITS[w] == "s":
        return f"{v:.2f} s"
    return f"{v:,.0f}" + ("" if UNITS[w] == "ops/s" else " MB/s")
