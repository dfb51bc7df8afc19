"""Scenario 1: idle cost and start-up time at scale (bench/run.sh scale)."""
import os
import re
import subprocess
import time

from harness import Env, LoadMeter, generate, log, median, proc_cpu_seconds, proc_rss_mb


def bench_scale(args, env=None):
    grants = args.grants or (2000 if args.smoke else 1_000_000)
    apps = args.apps or (20 if args.smoke else 10_000)
    runs = args.runs
    idle_s = args.idle_seconds or (3 if args.smoke else 60)
    own = env is None
    env = env or Env(args)
    try:
        d = env.daemon
        load = LoadMeter().start()
        gen_s = generate(env.pg, d, apps, grants, "http://127.0.0.1:9/token", 3600, 7200, 300, 3600)
        env.pg.scalar("CHECKPOINT")
        log(f"scale: generated {apps} apps, {grants} grants with tokens in {gen_s:.1f} s")
        ready, rss, hwm, idle = [], [], [], []
        loaded_ok = True
        for i in range(runs):
            secs = d.start()
            time.sleep(2)
            m = re.findall(r"loaded (\d+) tokens and (\d+) schedule entries in (\d+) ms", open(d.log_path).read())
            if not m or int(m[-1][0]) != grants or int(m[-1][1]) != grants:
                loaded_ok = False
                log(f"scale: daemon loaded {m[-1] if m else 'nothing'}, expected {grants} tokens and entries")
            c0 = proc_cpu_seconds(d.pid)
            t0 = time.monotonic()
            perf_out = os.environ.get("MEDIAX_BENCH_PERF")  # profile the idle daemon of the first run
            if perf_out and i == 0:
                subprocess.run(["perf", "record", "-F", os.environ.get("MEDIAX_BENCH_PERF_HZ", "99"), "-g", "-p", str(d.pid), "-o", perf_out, "--", "sleep",
                                str(idle_s)], capture_output=True)
            else:
                time.sleep(idle_s)
            cpu = 100.0 * (proc_cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
            ready.append(secs)
            rss.append(proc_rss_mb(d.pid))
            hwm.append(proc_rss_mb(d.pid, "VmHWM"))
            idle.append(cpu)
            log(f"scale run {i + 1}: READY {secs:.2f} s, RSS {rss[-1]:.0f} MB (peak {hwm[-1]:.0f}), idle CPU {cpu:.2f} %")
            d.stop()
        load.stop()
        ok = loaded_ok
        md = [f"### 1. Scale and footprint\n",
              f"`bench/run.sh scale` — {apps:,} apps, {grants:,} grants each with a cached access token, due in 1–2 h "
              f"(nothing due while measuring). Generator (`mediax-bench-gen | psql`, COPY, sealed secrets): {gen_s:.1f} s. "
              f"{runs} daemon starts; idle CPU over {idle_s} s each from /proc/PID/stat. {load.text()}.\n",
              "| metric | median | runs | target |", "|---|---|---|---|",
              f"| start → READY (tokens + schedule loaded) | {median(ready):.2f} s | {', '.join(f'{x:.2f}' for x in ready)} | ≤ 5 s |",
              f"| RSS after READY | {median(rss):.0f} MB | {', '.join(f'{x:.0f}' for x in rss)} | ≤ 512 MB |",
              f"| peak RSS (VmHWM) | {median(hwm):.0f} MB | {', '.join(f'{x:.0f}' for x in hwm)} | |",
              f"| idle CPU, % of one core | {median(idle):.2f} % | {', '.join(f'{x:.2f}' for x in idle)} | ≤ 1 % |"]
        if not loaded_ok:
            md.append("\n**The daemon did not report loading every token and schedule entry.**")
        return "\n".join(md) + "\n", ok, {"ready": median(ready), "rss": median(rss), "idle": median(idle)}
    finally:
        if own:
            env.close()
