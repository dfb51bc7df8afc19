"""Scenario 2: catch-up after an outage, every grant due at once, against the database's own limit
(pgbench replaying the daemon's refresh statements) (bench/run.sh catchup)."""
import subprocess
import time

from harness import (Env, Fake, LoadMeter, TokenReader, binary, generate, log, median, metric_sum, proc_cpu_seconds,
                     setting, tree_cpu_seconds)


def refresh_script(grants, apps, batch=1):
    """The database work of scheduled refreshes, as pgbench script: PgStore's own statements
    (daemon/store/refresh_sql.hpp, printed by mediax-bench-sql) for a random grant, or with batch > 1
    for that many grants with consecutive ids in each statement (as the daemon batches them)."""
    statements = subprocess.run([binary("mediax-bench-sql"), "--batch", str(batch)], check=True, capture_output=True,
                                text=True).stdout
    return (f"\\set napps {apps}\n\\set id random(1, {grants - batch + 1})\n\\set app ((:id - 1) % {apps}) + 1\n"
            + statements)


def bench_catchup(args):
    grants = args.grants or (200 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 1000)
    timeout = args.timeout or (60 if args.smoke else 300)
    pg_seconds = args.seconds or (2 if args.smoke else 15)
    env = Env(args)
    try:
        env.fake = Fake(env.workdir, latency_ms=20)
        concurrency = int(setting(args, "refresh.max_concurrent"))
        # pgbench's one-row-per-refresh comparison: a session per client, within max_connections
        # (harness.py) — refreshes in flight are fibers and may be many more.
        pg_clients = min(concurrency, 200)
        pool = int(setting(args, "database.pool_size"))
        per_endpoint = setting(args, "refresh.max_in_flight_per_endpoint")
        # 0: all workers but one while the endpoint answers (schedule/circuit_breaker.hpp).
        per_endpoint = max(1, concurrency - 1) if per_endpoint == "0" else per_endpoint
        load = LoadMeter().start()
        rows = []
        ok = True
        for run in range(args.runs):
            if run > 0:
                env.pg.scalar("TRUNCATE mediax.tokens, mediax.grants, mediax.events")
            # Every grant due now (the last minute), tokens still valid 2-3 minutes: an outage just ended.
            generate(env.pg, env.daemon, apps, grants, env.fake.token_url, -60, 0, 120, 3600, no_apps=run > 0)
            env.pg.scalar("CHECKPOINT")
            mark = env.pg.scalar("SELECT now()")
            before = env.fake.stats()["refreshes"]
            pg_cpu0, fake_cpu0 = tree_cpu_seconds(env.pg.postmaster_pid()), proc_cpu_seconds(env.fake.proc.pid)
            ready_s = env.daemon.start()
            t0 = env.daemon.ready_at
            reader = TokenReader(env.daemon.port, env.daemon.api_key, grants)
            reader.start()
            done, samples = 0, []
            while time.monotonic() - t0 < timeout:
                done = int(env.pg.scalar(f"SELECT count(*) FROM mediax.tokens WHERE grant_id IS NOT NULL AND refreshed_at > '{mark}'"))
                samples.append((time.monotonic() - t0, done))
                if done >= grants:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - t0
            # CPU per refresh of each process, from the daemon's start to the last refresh (the
            # token reader's HTTP reads included in the daemon's share).
            cpu = {"mediaxd": proc_cpu_seconds(env.daemon.pid),
                   "postgres": tree_cpu_seconds(env.pg.postmaster_pid()) - pg_cpu0,
                   "fake": proc_cpu_seconds(env.fake.proc.pid) - fake_cpu0}
            cpu_ms = {k: 1000 * v / max(1, done) for k, v in cpu.items()}
            reader.stopping = True
            reader.join()
            expired_rows = int(env.pg.scalar("SELECT count(*) FROM mediax.tokens WHERE expires_at < now()"))
            calls = env.fake.stats()["refreshes"] - before
            mtext = env.daemon.metrics()
            deferred = metric_sum(mtext, "mediax_refreshes_deferred_total")
            # Mean size of the daemon's batched statements (store/batcher.hpp).
            batch = {}
            for st in ("lease", "complete", "event"):
                lbl = f'{{statement="{st}"}}'
                n = metric_sum(mtext, "mediax_store_batches_total" + lbl)
                batch[st] = metric_sum(mtext, "mediax_store_batched_requests_total" + lbl) / n if n else float("nan")
            env.daemon.stop()
            # Steady rate between 10 % and 90 % done (start-up and the tail excluded).
            t10 = next((t for t, n in samples if n >= 0.1 * grants), None)
            t90 = next((t for t, n in samples if n >= 0.9 * grants), None)
            n10 = next((n for t, n in samples if n >= 0.1 * grants), 0)
            n90 = next((n for t, n in samples if n >= 0.9 * grants), 0)
            steady = (n90 - n10) / (t90 - t10) if t10 is not None and t90 is not None and t90 > t10 else float("nan")
            rate = done / elapsed
            # The smoke runs a fixed number of transactions: 2 s of 128 clients on a loaded machine
            # (a build beside it) could finish none, and pgbench then prints no tps.
            per_client = 2 if args.smoke else None
            script = refresh_script(grants, apps)
            pg_c = env.pg.pgbench(script, pg_clients, pg_seconds, transactions=per_client)
            pg_pool = env.pg.pgbench(script, pool, pg_seconds, transactions=per_client)
            # The same statements at the daemon's mean lease batch in this run, from 2 clients (two
            # batches of a kind run at once: store/batcher.hpp's max_flushers): refreshes/s.
            nb = max(1, round(batch["lease"])) if batch["lease"] == batch["lease"] else 1
            pg_batch = nb * env.pg.pgbench(refresh_script(grants, apps, nb), 2, pg_seconds, transactions=per_client)
            rows.append({"done": done, "elapsed": elapsed, "ready": ready_s, "rate": rate, "steady": steady,
                         "pg_c": pg_c, "pg_pool": pg_pool, "reads": reader.reads, "bad": reader.bad,
                         "expired": reader.expired, "refused": reader.refused, "expired_rows": expired_rows, "calls": calls,
                         "deferred": int(deferred), "cpu_ms": cpu_ms, "batch": batch, "nb": nb,
                         "pg_batch": pg_batch})
            log(f"catchup run {run + 1}: {done}/{grants} refreshed in {elapsed:.1f} s after READY ({rate:.0f}/s, steady "
                f"{steady:.0f}/s); pgbench same work {pg_c:.0f}/s at -c {pg_clients}, {pg_pool:.0f}/s at -c {pool}; "
                f"reads {reader.reads} bad {reader.bad} expired {reader.expired} refused (token_expired) {reader.refused}; expired rows {expired_rows}; "
                f"deferred (endpoint busy / circuit) {int(deferred)}; CPU ms per refresh "
                + ", ".join(f"{k} {v:.3f}" for k, v in cpu_ms.items())
                + "; mean batch " + ", ".join(f"{k} {v:.1f}" for k, v in batch.items())
                + f"; pgbench at batch {nb} -c 2: {pg_batch:.0f} refreshes/s")
            if done < grants or reader.bad or reader.expired or calls < grants:
                ok = False
        load.stop()
        md = [f"### 2. Catch-up after an outage\n",
              f"`bench/run.sh catchup` — {grants:,} grants of {apps:,} apps all due at once (due during the last minute, "
              f"tokens still valid 60–120 s), fake platform `mediax-bench-platform --latency-ms 20` (event-driven), mediaxd with the default settings "
              f"(refresh.max_concurrent = {concurrency}, refresh.max_in_flight_per_endpoint → {per_endpoint}, "
              f"database.pool_size = {pool}). Time from READY until every grant's "
              f"token row has been rewritten (polled every 0.5 s in SQL); a reader thread meanwhile reads random tokens over "
              f"HTTP. Database limit in the same run: `pgbench -f` running the database work of one refresh (the "
              f"daemon's own batch statements for a batch of one: the lease with the app and token reads, the result, "
              f"the event: three transactions, daemon/store/refresh_sql.hpp via mediax-bench-sql) at -c {pg_clients} "
              f"(the refresh concurrency) and -c {pool} (the daemon's "
              f"connections). {load.text()}.\n",
              f"| run | refreshed | seconds | refreshes/s | steady 10–90 % | pgbench -c {pg_clients} | pgbench -c {pool} | "
              f"ratio (vs -c {pg_clients}) | reads / failed / expired served / refused as expired |",
              "|---|---|---|---|---|---|---|---|---|"]
        for i, r in enumerate(rows):
            md.append(f"| {i + 1} | {r['done']:,} | {r['elapsed']:.1f} | {r['rate']:.0f} | {r['steady']:.0f} | {r['pg_c']:.0f} | "
                      f"{r['pg_pool']:.0f} | {r['rate'] / r['pg_c']:.2f} | {r['reads']} / {r['bad']} / {r['expired']} / {r['refused']} |")
        md.append(f"| **median** | | **{median([r['elapsed'] for r in rows]):.1f}** | **{median([r['rate'] for r in rows]):.0f}** | "
                  f"{median([r['steady'] for r in rows]):.0f} | {median([r['pg_c'] for r in rows]):.0f} | "
                  f"{median([r['pg_pool'] for r in rows]):.0f} | **{median([r['rate'] / r['pg_c'] for r in rows]):.2f}** | |")
        md.append(f"\nTargets: all refreshed ≤ 30 s; no expired token read; ratio ≥ 0.5. Expired token rows at the end: "
                  f"{', '.join(str(r['expired_rows']) for r in rows)}. Refreshes deferred by the daemon's per-endpoint guard "
                  f"(`mediax_refreshes_deferred_total`): {', '.join(str(r['deferred']) for r in rows)}. A run that stops "
                  f"before every grant is refreshed hit the {timeout} s limit.")
        md += ["\nWhere the CPU goes (CPU ms per refresh, from the daemon's start to the last refresh; PostgreSQL: the "
               "postmaster and every backend; the budget is 2 cores ÷ 3,333 refreshes/s = 0.6 ms in all), the daemon's "
               "mean batch sizes (`mediax_store_batched_requests_total` ÷ `mediax_store_batches_total`), and `pgbench` "
               "replaying the same statements at the daemon's mean lease batch from 2 clients (refreshes/s):\n",
               "| run | mediaxd | PostgreSQL | fake | all | batch lease / complete / event | pgbench at that batch |",
               "|---|---|---|---|---|---|---|"]
        for i, r in enumerate(rows):
            c, b = r["cpu_ms"], r["batch"]
            md.append(f"| {i + 1} | {c['mediaxd']:.3f} | {c['postgres']:.3f} | {c['fake']:.3f} | {sum(c.values()):.3f} | "
                      f"{b['lease']:.1f} / {b['complete']:.1f} / {b['event']:.1f} | {r['pg_batch']:.0f} (batch {r['nb']}) |")
        md.append(f"| **median** | {median([r['cpu_ms']['mediaxd'] for r in rows]):.3f} | "
                  f"{median([r['cpu_ms']['postgres'] for r in rows]):.3f} | {median([r['cpu_ms']['fake'] for r in rows]):.3f} | "
                  f"{median([sum(r['cpu_ms'].values()) for r in rows]):.3f} | "
                  f"{median([r['batch']['lease'] for r in rows]):.1f} / {median([r['batch']['complete'] for r in rows]):.1f} / "
                  f"{median([r['batch']['event'] for r in rows]):.1f} | {median([r['pg_batch'] for r in rows]):.0f} |")
        return "\n".join(md) + "\n", ok, {"elapsed": median([r["elapsed"] for r in rows]),
                                          "rate": median([r["rate"] for r in rows]),
                                          "ratio": median([r["rate"] / r["pg_c"] for r in rows])}
    finally:
        env.close()
