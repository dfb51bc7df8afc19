#!/usr/bin/env python3
"""Who had the cores, and who waited for one: a summary of a `perf sched record -a` file (as
bench/run.sh reads writes with MEDIAX_BENCH_PERF_READS) from `perf sched timehist`.

  bench/sched_report.py FILE.data [--tids 123,456] [--longest 5]

Prints markdown: per process name (the --tids threads, e.g. mediaxd's event loops, on rows of their
own) its share of all cores over the recording, how often it was switched in, and its scheduling
delay (from wake-up to running: the time it was ready but had no core) at p50, p99,
p99.9 and max; then the --tids threads' longest delays and what ran on the cores meanwhile.
Python standard library only.
"""
import argparse
import os
import re
import subprocess
import sys

LINE = re.compile(r"^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.*?)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$")
TASK = re.compile(r"^(.*)\[(\d+)(?:/(\d+))?\]$")


def events(path):
    """(end time s, cpu, name, tid, pid, sch delay ms, run time ms) per switch-out."""
    r = subprocess.run(["perf", "sched", "timehist", "-i", path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"perf sched timehist failed: {r.stderr.strip()[-500:]}")
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t = TASK.match(m.group(3))
        if t:
            name, tid, pid = t.group(1), int(t.group(2)), int(t.group(3) or t.group(2))
        else:
            name, tid, pid = m.group(3), 0, 0  # <idle>
        yield float(m.group(1)), int(m.group(2)), name, tid, pid, float(m.group(5)), float(m.group(6))


def quantile(sorted_xs, q):
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs) - 1, int(q * len(sorted_xs)))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--tids", default="", help="threads on rows of their own (comma-separated)")
    p.add_argument("--longest", type=int, default=5, help="the named threads' longest delays explained")
    p.add_argument("--rows", type=int, default=14)
    args = p.parse_args()
    tids = {int(x) for x in args.tids.split(",") if x}
    evs = list(events(args.file))
    if not evs:
        sys.exit("no scheduling events")
    t0 = min(e[0] - e[6] / 1000 for e in evs)
    t1 = max(e[0] for e in evs)
    cpus = len({e[1] for e in evs}) or os.cpu_count()
    span = t1 - t0
    groups = {}
    for end, cpu, name, tid, pid, delay, run in evs:
        key = f"{name}/{tid}" if tid in tids else name
        g = groups.setdefault(key, {"run": 0.0, "n": 0, "delays": [], "named": tid in tids})
        g["run"] += run
        g["n"] += 1
        g["delays"].append(delay)
    print(f"`perf sched timehist` of {os.path.basename(args.file)}: {span:.2f} s on {cpus} CPUs, "
          f"{len(evs):,} switches.\n")
    print("| task | % of all cores | switched in | sched delay p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    order = sorted(groups.items(), key=lambda kv: (not kv[1]["named"], -kv[1]["run"]))
    for key, g in order[:args.rows + len(tids)]:
        d = sorted(g["delays"])
        print(f"| {key} | {100.0 * g['run'] / 1000 / (span * cpus):.1f} | {g['n']:,} | {quantile(d, 0.5):.3f} | "
              f"{quantile(d, 0.99):.3f} | {quantile(d, 0.999):.3f} | {d[-1]:.3f} |")
    if not tids:
        return
    # Run intervals per CPU, to say what held the cores while a named thread waited.
    runs = [(end - run / 1000, end, cpu, name, tid) for end, cpu, name, tid, pid, delay, run in evs]
    runs.sort()
    waits = sorted(((delay, end - run / 1000, tid) for end, cpu, name, tid, pid, delay, run in evs if tid in tids),
                   reverse=True)[:args.longest]
    print(f"\nLongest delays of threads {', '.join(str(t) for t in sorted(tids))} and what ran meanwhile "
          "(ms of the wait, by task):\n")
    for delay, started, tid in waits:
        a, b = started - delay / 1000, started
        held = {}
        for s, e, cpu, name, other in runs:
            if s >= b:
                break
            overlap = min(e, b) - max(s, a)
            if overlap > 0 and other != tid:
                key = f"{name}/{other}" if other in tids else name
                held[key] = held.get(key, 0.0) + overlap * 1000
        top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(held.items(), key=lambda kv: -kv[1])[:5])
        print(f"- {tid}: waited {delay:.2f} ms at {a - t0:.3f} s: {top}")


if __name__ == "__main__":
    main()
