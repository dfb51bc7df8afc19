"""Scenario 6: several instances on one database share the partitions (bench/run.sh partitions).

1,000,000 grants (as scale). Same run: one instance alone (the baseline: RSS, tokens in memory),
then three instances started one after another, then three started together: once the partitions
are settled (a share each), each instance's RSS and tokens in memory, and the ratio of the
largest RSS to the lone instance's. Then kill -9 of one of the three: how long until the
survivors own all 256 partitions again (pg_locks, polled every 20 ms), and their RSS after
loading its share."""
import os
import re
import signal
import threading
import time

from harness import Daemon, Env, LoadMeter, generate, log, median, proc_rss_mb

PARTITION_LOCK_CLASS = 28025  # store/partition_locks.hpp


def owned_by_others(pg, dead_sessions):
    rows = pg.psql("mediax", "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted"
                   f" AND classid::int8 = {PARTITION_LOCK_CLASS}").split()
    return sum(1 for r in rows if r.strip() and int(r) not in dead_sessions)


def sessions_of(pg, daemon):
    m = re.findall(r"\(instance [^)]*:([0-9a-f]+)\)", open(daemon.log_path).read())
    if not m:
        return set()
    out = pg.psql("mediax", f"SELECT pid FROM pg_stat_activity WHERE application_name = 'mediaxd/{m[-1]}'")
    return {int(x) for x in out.split() if x.strip()}


def metric(daemon, name):
    m = re.search(rf"^{name} (\S+)$", daemon.metrics(), re.M)
    return float(m.group(1)) if m else float("nan")


def settle(daemons, timeout=60):
    """Waits until the instances own all 256 partitions in fair shares; returns the seconds it took."""
    share = -(-256 // len(daemons))
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        owned = [metric(d, "mediax_partitions_owned") for d in daemons]
        if sum(owned) == 256 and all(share - len(daemons) <= o <= share for o in owned):
            return time.monotonic() - t0
        time.sleep(0.2)
    raise RuntimeError(f"partitions not settled after {timeout} s")


def footprint(daemons):
    time.sleep(3)  # the given-up partitions' memory trimmed, the metrics collector run
    # RssAnon beside RSS: RSS also counts the shared libraries' pages (~16 MB), the same in every
    # instance whatever it holds, and shared between instances on one machine.
    return [(proc_rss_mb(d.pid), metric(d, "mediax_tokens_in_memory"), metric(d, "mediax_partitions_owned"),
             proc_rss_mb(d.pid, "RssAnon")) for d in daemons]


def bench_partitions(args, env=None):
    grants = args.grants or (2000 if args.smoke else 1_000_000)
    apps = args.apps or (20 if args.smoke else 10_000)
    runs = args.runs
    own = env is None
    env = env or Env(args)
    extra = []
    try:
        load = LoadMeter().start()
        gen_s = generate(env.pg, env.daemon, apps, grants, "http://127.0.0.1:9/token", 3600, 7200, 300, 3600)
        env.pg.scalar("CHECKPOINT")
        log(f"partitions: generated {apps} apps, {grants} grants in {gen_s:.1f} s")
        three = [env.daemon] + [Daemon(os.path.join(env.workdir, f"i{i}"), env.pg, settings=args.set,
                                       key_file=env.daemon.key_file) for i in (1, 2)]
        extra = three[1:]
        alone, seq, together, takeover, after_kill = [], [], [], [], []
        for run in range(runs):
            d = env.daemon
            d.start()
            settle([d])
            alone.append(footprint([d])[0])
            log(f"partitions run {run + 1}: alone RSS {alone[-1][0]:.0f} MB (anonymous {alone[-1][3]:.0f}), "
                f"{alone[-1][1]:.0f} tokens")
            for x in three[1:]:
                x.start()
            s = settle(three)
            seq.append(footprint(three))
            log(f"partitions run {run + 1}: one after another, settled {s:.1f} s after the third was READY: "
                + ", ".join(f"{r:.0f} MB ({a:.0f})/{t:.0f} tokens/{p:.0f} partitions" for r, t, p, a in seq[-1]))
            for x in three:
                x.stop()
            starters = []  # together: no instance waits for another's READY
            for x in three:
                th = threading.Thread(target=x.start)
                th.start()
                starters.append(th)
            for th in starters:
                th.join()
            settle(three)
            together.append(footprint(three))
            log(f"partitions run {run + 1}: together: "
                + ", ".join(f"{r:.0f} MB ({a:.0f})/{t:.0f} tokens/{p:.0f} partitions" for r, t, p, a in together[-1]))
            # kill -9 of the last one: until the two others own every partition again.
            victim = three[2]
            dead = sessions_of(env.pg, victim)
            t0 = time.monotonic()
            os.kill(victim.pid, signal.SIGKILL)
            victim.proc.wait()
            victim.proc = None
            while owned_by_others(env.pg, dead) < 256 and time.monotonic() - t0 < 60:
                time.sleep(0.02)
            takeover.append(time.monotonic() - t0)
            settle(three[:2])
            after_kill.append(footprint(three[:2]))
            log(f"partitions run {run + 1}: kill -9: all partitions owned again after {takeover[-1]:.2f} s; "
                + ", ".join(f"{r:.0f} MB/{t:.0f} tokens" for r, t, _, _ in after_kill[-1]))
            for x in three[:2]:
                x.stop()
        load.stop()

        def worst(fp, field=0):
            return max(x[field] for x in fp)

        base = median([a[0] for a in alone])
        base_anon = median([a[3] for a in alone])
        ratio_seq = median([worst(f) / a[0] for f, a in zip(seq, alone)])
        ratio_tog = median([worst(f) / a[0] for f, a in zip(together, alone)])
        anon_seq = median([worst(f, 3) / a[3] for f, a in zip(seq, alone)])
        anon_tog = median([worst(f, 3) / a[3] for f, a in zip(together, alone)])
        ok = all(abs(sum(x[1] for x in f) - grants) <= grants * 0.001 for f in seq + together)

        def row(fps):
            return "; ".join(", ".join(f"{r:.0f} ({a:.0f}) MB/{t / 1000:.0f}k/{p:.0f}p" for r, t, p, a in f)
                             for f in fps)

        md = [f"### 6. Several instances: partitions\n",
              f"`bench/run.sh partitions` — {apps:,} apps, {grants:,} grants with cached tokens (nothing due). Same run: "
              f"one instance alone (baseline), then three started one after another (each waits for the previous "
              f"one's READY; the first loads everything and gives two thirds away), then three started together; "
              f"RSS and RssAnon (/proc/PID/status) and `mediax_tokens_in_memory` 3 s after the partitions settled in fair "
              f"shares; then `kill -9` of one: until the two others own all 256 partitions (pg_locks polled every "
              f"20 ms). {runs} runs. {load.text()}.\n",
              "| measure | median | runs (RSS (anonymous)/tokens/partitions per instance) | target |",
              "|---|---|---|---|",
              f"| one instance alone: RSS (anonymous) | {base:.0f} MB ({base_anon:.0f}) | {row([[a] for a in alone])} "
              f"| baseline |",
              f"| three, one after another: largest RSS ÷ alone (anonymous) | **{ratio_seq:.2f}** ({anon_seq:.2f}) "
              f"| {row(seq)} | ≤ 0.4 |",
              f"| three, together: largest RSS ÷ alone (anonymous) | **{ratio_tog:.2f}** ({anon_tog:.2f}) "
              f"| {row(together)} | ≤ 0.4 |",
              f"| kill -9 → all partitions owned again | **{median(takeover):.2f} s** | "
              f"{', '.join(f'{x:.2f}' for x in takeover)} | ≤ 2 s |",
              f"| two survivors after the kill | | {row(after_kill)} | |"]
        if not ok:
            md.append("\n**The instances' tokens in memory did not add up to the grants.**")
        return "\n".join(md) + "\n", ok, {"alone_mb": base, "ratio_seq": ratio_seq, "ratio_together": ratio_tog,
                                          "anon_ratio_seq": anon_seq, "anon_ratio_together": anon_tog,
                                          "takeover_s": median(takeover)}
    finally:
        for x in extra:
            x.stop()
        if own:
            env.close()
