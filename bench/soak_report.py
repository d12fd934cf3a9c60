"""The soak's figures: the flatness check, the plot and the Markdown table.

Kept apart from ``soak.py`` so the check can be re-run on a saved
PREFIX.json (``python bench/soak_report.py PREFIX.json``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per minute (0 with < 3 points)."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60


def flatness(samples: list[dict], warmup: float) -> dict:
    """Slopes after ``warmup`` s; flat when the growth they project over the
    measured span stays under max(10 MB, 5% of the mean) RSS and 10 fds."""
    after = [s for s in samples if s["t"] >= warmup]
    span_min = (after[-1]["t"] - after[0]["t"]) / 60 if len(after) > 1 else 0.0
    result = {"samples_after_warmup": len(after), "span_min": span_min}
    for name in ("rss_mb", "fds", "threads"):
        result[f"{name.split('_')[0]}_slope{'_mb' if name == 'rss_mb' else ''}_min"] = \
            slope_per_min([(s["t"], s[name]) for s in after])
    for name in ("rss_anon_mb", "ldb_mapped_mb"):  # the parts (soak runs since 2026-12-02 b)
        if after and all(name in s for s in after):
            result[f"{name[:-3]}_slope_mb_min"] = slope_per_min([(s["t"], s[name]) for s in after])
    mean_rss = sum(s["rss_mb"] for s in after) / len(after) if after else 0.0
    result["rss_growth_mb"] = result["rss_slope_mb_min"] * span_min
    result["fds_growth"] = result["fds_slope_min"] * span_min
    result["rss_flat"] = len(after) >= 3 and result["rss_growth_mb"] < max(10.0,
                                                                           0.05 * mean_rss)
    result["fds_flat"] = len(after) >= 3 and result["fds_growth"] < 10
    return result


def plot(path: Path, samples: list[dict], warmup: float, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), sharex=True)
    for ax, (key, label) in zip(axes, [("rss_mb", "RSS (MB)"), ("fds", "open fds"),
                                       ("threads", "threads"), ("ops_s", "requests/s")]):
        ax.plot(minutes, [s[key] for s in samples], marker=".", linewidth=1, label=label)
        if key == "rss_mb":
            for part, name in (("rss_anon_mb", "anonymous"), ("ldb_mapped_mb", "LevelDB mapped")):
                if all(part in s for s in samples):
                    ax.plot(minutes, [s[part] for s in samples], linewidth=1, label=name)
            ax.legend(loc="lower right", fontsize="small")
        ax.axvline(warmup / 60, color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if key != "ops_s":
            ax.set_ylim(bottom=0)
    axes[0].set_title(title)
    axes[-1].set_xlabel("minutes (dashed: end of warm-up)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def markdown(samples: list[dict], stats, verdict: dict, meta: dict, png: str) -> str:
    total = sum(stats.ops.values())
    errors = sum(stats.errors.values())
    elapsed = samples[-1]["t"] if samples else 0
    lines = [f"# Soak — {meta['started'][:10]}", "",
             f"`.venv/bin/python bench/soak.py {meta['argv']}` (started {meta['started']} "
             f"UTC): {meta['minutes']:g} min, {meta['connections']} connections, one "
             "all-in-one twistd (file backend, fsync on) on the shared 2-core machine, "
             f"live objects capped at {meta['disk_cap_gib']:g} GiB.", "",
             f"Verdict: **{'PASS' if meta['ok'] else 'FAIL'}** — {total:,} requests "
             f"({total / max(elapsed, 1):.0f}/s), {stats.bytes / 1e9:.1f} GB moved, "
             f"{errors} errors, {meta['tracebacks']} tracebacks in the server log, server "
             f"{'alive' if meta['alive'] else 'DEAD'} at the end.", "",
             f"Flatness after the {meta['warmup_s']:.0f} s warm-up "
             f"({verdict['samples_after_warmup']} samples over {verdict['span_min']:.1f} min, "
             "least-squares slope): RSS "
             f"{verdict['rss_slope_mb_min']:+.3f} MB/min ({verdict['rss_growth_mb']:+.1f} MB "
             f"over the span: {'flat' if verdict['rss_flat'] else 'GROWING'}), fds "
             f"{verdict['fds_slope_min']:+.3f}/min ({verdict['fds_growth']:+.1f}: "
             f"{'flat' if verdict['fds_flat'] else 'GROWING'}), threads "
             f"{verdict['threads_slope_min']:+.3f}/min" + "".join(
                 f", {label} {verdict[key]:+.3f} MB/min" for key, label in
                 (("rss_anon_slope_mb_min", "anonymous"),
                  ("ldb_mapped_slope_mb_min", "LevelDB tables mapped")) if key in verdict)
             + ".", "", f"![soak]({png})", "",
             "| operation | requests | errors | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    for op in sorted(stats.ops):
        lat = stats.latency[op]
        errs = sum(v for k, v in stats.errors.items() if k.startswith(op + ":"))
        lines.append(f"| {op} | {stats.ops[op]:,} | {errs} | {_percentile(lat, .5) * 1000:.1f}"
                     f" | {_percentile(lat, .99) * 1000:.1f} |")
    if stats.errors:
        lines += ["", "Errors:", ""] + [f"- {k}: {v} (e.g. `{stats.examples[k]}`)"
                                        for k, v in stats.errors.items()]
    step = max(1, len(samples) // 40)
    parts = [("rss_anon_mb", "anon MB", ".1f"), ("ldb_mapped_mb", ".ldb mapped MB", ".1f"),
             ("ldb_files", ".ldb files", "d"), ("ldb_mb", ".ldb MB", ".0f")]
    parts = [p for p in parts if samples and all(p[0] in s for s in samples)]
    lines += ["", "| t (s) | RSS MB | " + "".join(f"{label} | " for _, label, _ in parts)
              + "fds | threads | requests | req/s | errors |",
              "|---" * (7 + len(parts)) + "|"]
    for s in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        lines.append(f"| {s['t']:.0f} | {s['rss_mb']:.1f} | "
                     + "".join(f"{s[key]:{fmt}} | " for key, _, fmt in parts)
                     + f"{s['fds']} | {s['threads']} | {s['ops']:,} | {s['ops_s']:.0f} | "
                     f"{s['errors']} |")
    return "\n".join(lines) + "\n"


def write_outputs(prefix: Path, samples: list[dict], stats, verdict: dict, meta: dict) -> None:
    prefix = Path(prefix)
    png = prefix.with_suffix(".png")
    try:
        plot(png, samples, meta["warmup_s"], f"soak {meta['started']} UTC, "
             f"{meta['connections']} connections")
    except ImportError:  # the test extra has no matplotlib; bench/setup.sh installs it
        print("matplotlib is not installed: no plot (bench/setup.sh installs it)")
    prefix.with_suffix(".json").write_text(json.dumps(
        {"meta": meta, "verdict": verdict, "samples": samples,
         "ops": dict(stats.ops), "errors": dict(stats.errors)}, indent=1))
    prefix.with_suffix(".md").write_text(markdown(samples, stats, verdict, meta, png.name))


if __name__ == "__main__":
    saved = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(flatness(saved["samples"], saved["meta"]["warmup_s"]), indent=1))
