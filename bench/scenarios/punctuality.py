"""Scenario: how close to their due time refreshes run over a long window (bench/run.sh punctuality)."""
import time

from harness import Env, Fake, LoadMeter, TokenReader, generate, histogram, histogram_delta, histogram_table, log


def bench_punctuality(args):
    grants = args.grants or (300 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 1000)
    duration = args.duration or (30 if args.smoke else 120)
    lifetime = 60
    env = Env(args)
    try:
        env.fake = Fake(env.workdir, latency_ms=20, expires_in=lifetime)
        # Tokens issued during the last minute: due (by the default policy, half the lifetime left
        # for so short a token) spread over the next 30 s.
        generate(env.pg, env.daemon, apps, grants, env.fake.token_url, 0, 30, 30, lifetime)
        env.daemon.start()
        lag0 = histogram(env.daemon.metrics(), "mediax_scheduler_lag_seconds")
        left0 = histogram(env.daemon.metrics(), "mediax_refresh_validity_left_seconds")
        before = env.fake.stats()["refreshes"]
        reader = TokenReader(env.daemon.port, env.daemon.api_key, grants)
        reader.start()
        load = LoadMeter().start()
        t0 = time.monotonic()
        expired_max, min_left = 0, float("inf")
        while time.monotonic() - t0 < duration:
            row = env.pg.scalar("SELECT count(*) FILTER (WHERE expires_at < now()), "
                                "COALESCE(EXTRACT(EPOCH FROM min(expires_at) - now()), 0) FROM mediax.tokens")
            n, left = row.split("|")
            expired_max = max(expired_max, int(n))
            min_left = min(min_left, float(left))
            time.sleep(2)
        load.stop()
        reader.stopping = True
        reader.join()
        m = env.daemon.metrics()
        lag = histogram_delta(histogram(m, "mediax_scheduler_lag_seconds"), lag0)
        left = histogram_delta(histogram(m, "mediax_refresh_validity_left_seconds"), left0)
        calls = env.fake.stats()["refreshes"] - before
        expected = grants * duration / (lifetime / 2)
        ok = expired_max == 0 and reader.bad == 0 and reader.expired == 0 and calls > 0
        log(f"punctuality: {calls} refreshes in {duration} s ({calls / duration:.0f}/s, about {expected / duration:.0f}/s needed); "
            f"expired rows (max seen) {expired_max}; min validity left {min_left:.1f} s; reads {reader.reads} bad {reader.bad}")
        md = [f"### 4. Punctuality\n",
              f"`bench/run.sh punctuality{' --duration ' + str(duration) if duration != 120 else ''}` — {grants:,} grants whose tokens "
              f"live {lifetime} s (fake platform `mediax-bench-platform --expires-in {lifetime} --latency-ms 20`), default settings (a {lifetime} s token "
              f"is refreshed with half its life left, minus up to 7 s jitter: about {expected / duration:,.0f} refreshes/s needed), "
              f"measured over {duration} s (`--duration 600` for the full 10 minutes). {load.text()}.\n",
              f"- refreshes done: {calls:,} ({calls / duration:,.0f}/s)",
              f"- token rows expired (max over samples every 2 s): **{expired_max}**; smallest validity left seen in the table: {min_left:.1f} s",
              f"- HTTP reads during the run: {reader.reads:,}; failed {reader.bad}; expired token served {reader.expired}; "
              f"refused as expired (503 token_expired) {reader.refused}",
              "\nSeconds of validity left when a refresh started (`mediax_refresh_validity_left_seconds`):\n",
              histogram_table(left) if left[2] > 0 else "(metric not available in this build)",
              "\nScheduler lag (`mediax_scheduler_lag_seconds`: how late the timer wheel fired after the due time it waited for):\n",
              histogram_table(lag) if lag[2] > 0 else "(no observations)"]
        return "\n".join(md) + "\n", ok, {"expired": expired_max, "calls_per_s": calls / duration}
    finally:
        env.close()
