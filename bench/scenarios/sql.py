"""Scenario: token reads in plain SQL through the view and the table (bench/run.sh sql)."""

from harness import BenchError, Env, LoadMeter, fmt, generate, log, median


SQL_VIEW = "\\set id random(1, {n})\nSELECT access_token, token_type, expires_at FROM mediax.access_tokens WHERE grant_id = :id;\n"
SQL_TABLE = "\\set id random(1, {n})\nSELECT access_token, token_type, expires_at FROM mediax.tokens WHERE grant_id = :id;\n"


def bench_sql(args, env=None):
    grants = args.grants or (2000 if args.smoke else 1_000_000)
    apps = args.apps or (20 if args.smoke else 10_000)
    clients = args.clients or 8
    seconds = args.seconds or (2 if args.smoke else 15)
    own = env is None
    env = env or Env(args)
    try:
        if int(env.pg.scalar("SELECT count(*) FROM mediax.grants")) < grants:
            generate(env.pg, env.daemon, apps, grants, "http://127.0.0.1:9/token", 3600, 7200, 300, 3600)
        n = int(env.pg.scalar("SELECT count(*) FROM mediax.access_tokens"))
        if n < grants:
            raise BenchError(f"mediax.access_tokens shows {n} tokens, expected {grants}")
        plan = env.pg.scalar("EXPLAIN SELECT access_token FROM mediax.access_tokens WHERE grant_id = 42")
        load = LoadMeter().start()
        view, table = [], []
        for i in range(args.runs):
            view.append(env.pg.pgbench(SQL_VIEW.format(n=grants), clients, seconds))
            table.append(env.pg.pgbench(SQL_TABLE.format(n=grants), clients, seconds))
            log(f"sql run {i + 1}: view {view[-1]:.0f} tps, table {table[-1]:.0f} tps")
        load.stop()
        md = [f"### 5. Database readers\n",
              f"`bench/run.sh sql` — `pgbench -n -M prepared -c {clients} -j 2 -T {seconds} -f` with one random grant per "
              f"transaction over {grants:,} grants; baseline in the same run: the same SELECT on the bare `mediax.tokens` "
              f"table (no joins, no status/expiry filter). {load.text()}.\n",
              "```sql", SQL_VIEW.format(n=grants).strip(), "```\n",
              "| query | median tps | runs | target |", "|---|---|---|---|",
              f"| view `mediax.access_tokens` | {fmt(median(view), 0)} | {', '.join(fmt(x, 0) for x in view)} | ≥ 10,000 |",
              f"| table `mediax.tokens` (baseline) | {fmt(median(table), 0)} | {', '.join(fmt(x, 0) for x in table)} | |",
              f"| ratio view ÷ table | {median(view) / median(table):.2f} | | |",
              "\nPlan of the view query:\n", "```", plan, "```"]
        return "\n".join(md) + "\n", True, {"tps": median(view)}
    finally:
        if own:
            env.close()
