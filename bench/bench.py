#!/usr/bin/env python3
"""mediaxd benchmarks (issue 7). Run through bench/run.sh; see bench/README.md.

Every benchmark starts its own throwaway PostgreSQL (initdb + pg_ctl in a temp dir), the fake
OAuth 2.0 platform (tests/fakes, --bulk) and mediaxd, measures, stops everything and writes its
section of bench/RESULTS.md (not with --smoke, which checks the scripts and counts only).
The harness (processes, timing, reporting) is harness.py; each benchmark is a file of scenarios/.
Python standard library only.
"""
import argparse
import json
import sys

from harness import BUILD, BenchError, Env, log, machine_info, write_results
from scenarios.catchup import bench_catchup
from scenarios.partitions import bench_partitions
from scenarios.punctuality import bench_punctuality
from scenarios.reads import bench_reads
from scenarios.scale import bench_scale
from scenarios.sql import bench_sql


def main():
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=["scale", "catchup", "reads", "punctuality", "sql", "partitions", "all"])
    p.add_argument("--smoke", action="store_true", help="tiny and quick: checks the scripts, no RESULTS.md")
    p.add_argument("--runs", type=int, help="repetitions (median reported); default 3, 1 with --smoke")
    p.add_argument("--grants", type=int)
    p.add_argument("--apps", type=int)
    p.add_argument("--seconds", type=int, help="wrk / pgbench duration per run")
    p.add_argument("--idle-seconds", type=int, help="scale: idle CPU window per run (default 60)")
    p.add_argument("--duration", type=int, help="punctuality: seconds measured (default 120; 600 = the full 10 min)")
    p.add_argument("--timeout", type=int, help="catchup: give up a run after this many seconds (default 300)")
    p.add_argument("--clients", type=int, help="sql: pgbench clients (default 8)")
    p.add_argument("--fsync-off", action="store_true", help="PostgreSQL with fsync = off (default: fsync = on)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="mediaxd setting instead of its default (TOML value), e.g. --set refresh.max_concurrent=128")
    p.add_argument("--tag", default="", help="suffix of the RESULTS.md section name (e.g. a tuned variant)")
    p.add_argument("--no-refresh", action="store_true",
                   help="reads: the quiet phase only (no grant due during the runs), as --phase quiet")
    p.add_argument("--phase", choices=["both", "quiet", "refreshing"], default="both",
                   help="reads: with no refresh running (quiet), while refreshes run (refreshing), or both (default)")
    p.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = p.parse_args()
    if args.no_refresh:
        args.phase = "quiet"
    if args.runs is None:
        args.runs = 1 if args.smoke else 3
    info = machine_info()
    log(f"{info['nproc']} cores, {info['model']}, commit {info['commit']}, build {BUILD}")
    sections, all_ok = {}, True

    def record(name, result):
        nonlocal all_ok
        md, ok, figures = result
        if args.tag:
            name = f"{name}-{args.tag}"
            flags = ["--set " + x for x in args.set] + (["--no-refresh"] if args.no_refresh else []) + (
                [f"--phase {args.phase}"] if args.phase != "both" and not args.no_refresh else [])
            md = md.replace("\n", f" — **variant `{args.tag}`: {' '.join(flags) or 'defaults'}**\n", 1)
        sections[name] = md
        all_ok = all_ok and ok
        log(f"{name}: {'ok' if ok else 'COUNTS WRONG'} {json.dumps(figures)}")
        if not (args.smoke or args.no_results):
            write_results({name: md}, info, "bench/run.sh " + " ".join(sys.argv[1:]))

    try:
        which = args.benchmark
        if which in ("scale", "sql", "all"):
            env = Env(args) if which == "all" else None
            try:
                if which in ("scale", "all"):
                    record("scale", bench_scale(args, env))
                if which in ("sql", "all"):
                    record("sql", bench_sql(args, env))
            finally:
                if env:
                    env.close()
        if which in ("reads", "all"):
            record("reads", bench_reads(args))
        if which in ("catchup", "all"):
            record("catchup", bench_catchup(args))
        if which in ("punctuality", "all"):
            record("punctuality", bench_punctuality(args))
        if which in ("partitions", "all"):
            record("partitions", bench_partitions(args))
    except BenchError as e:
        log(f"error: {e}")
        return 1
    if args.smoke:
        for md in sections.values():
            print(md)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
