"""Scenario: token reads over HTTP with wrk, with and without refreshes competing (bench/run.sh reads)."""
import os
import re
import subprocess
import time

from harness import BenchError, Env, Fake, LoadMeter, binary, fmt, generate, log, median, setting, stop_process


WRK_LUA = """
wrk.headers["Authorization"] = "Bearer {key}"
local n = {n}
local counter = 0
request = function()
  counter = counter + 1
  local id = ((counter * 7919) % n) + 1
  return wrk.format("GET", "/v1/grants/" .. id .. "/token")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def run_wrk(port, script, connections, seconds, threads=2):
    r = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "-s",
                        script, f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
    m = re.search(r"BENCH (.*)", r.stdout)
    if r.returncode != 0 or not m:
        raise BenchError(f"wrk failed: {r.stdout[-1000:]}{r.stderr[-1000:]}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    v["rps"] = v["requests"] / (v["duration_us"] / 1e6)
    return v


def bench_reads(args):
    grants = args.grants or (300 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 100)
    seconds = args.seconds or (2 if args.smoke else 10)
    connections = 64
    threads = int(setting(args, "admin.threads"))
    env = Env(args)
    fixed = None
    try:
        env.fake = Fake(env.workdir, latency_ms=20)
        # Due times spread over the next minutes: refreshes run all through the measurement.
        # --no-refresh: every grant due in 1-2 h instead, the same reads with no refresh competing for
        # the cores (what the refresh load adds to the tail).
        spread = 20 if args.smoke else 900
        due_from, due_to = (3600, 7200) if args.no_refresh else (1, 1 + spread)
        generate(env.pg, env.daemon, apps, grants, env.fake.token_url, due_from, due_to, 300, 3600)
        env.daemon.start()
        status, body = env.daemon.get("/v1/grants/1/token")
        if status != 200 or "access_token" not in body:
            raise BenchError(f"GET /v1/grants/1/token answered {status}")
        script = os.path.join(env.workdir, "reads.lua")
        with open(script, "w") as f:
            f.write(WRK_LUA.format(key=env.daemon.api_key, n=grants))
        fixed_proc = subprocess.Popen([binary("mediax-bench-fixed"), "--threads", str(threads), "--nodelay", "1"], stdout=subprocess.PIPE, text=True)
        fixed = fixed_proc
        fixed_port = int(re.match(r"LISTENING (\d+)", fixed_proc.stdout.readline()).group(1))
        if env.daemon.token_port is None:
            raise BenchError("reads needs admin.token_listen (do not --set it empty)")
        time.sleep(1 if args.smoke else 3)
        load = LoadMeter().start()
        # Three servers, alternating in each run: mediaxd's token listener (admin.token_listen, the
        # figure for the target), mediaxd's admin API (cpp-httplib) and the fixed-string baseline.
        servers = [("token", env.daemon.token_port), ("admin", env.daemon.port), ("fixed", fixed_port)]
        runs = {name: [] for name, _ in servers}
        refreshes = []
        ok = True
        for i in range(args.runs):
            before = env.fake.stats()["refreshes"]
            for name, port in servers:
                runs[name].append(run_wrk(port, script, connections, seconds))
            refreshes.append(env.fake.stats()["refreshes"] - before)
            log(f"reads run {i + 1}: " + "; ".join(
                f"{name} {runs[name][-1]['rps']:.0f} req/s p99 {runs[name][-1]['p99_us'] / 1000:.2f} ms "
                f"(non-2xx {runs[name][-1]['non2xx']}, socket errors {runs[name][-1]['socket_errors']})"
                for name, _ in servers) + f"; {refreshes[-1]} refreshes meanwhile")
            # Socket errors (wrk's 5 s timeouts: connections waiting for a server thread) are load,
            # reported but not a wrong count; a refused or failed token read is.
            for name, _ in servers:
                if runs[name][-1]["requests"] <= 0 or (name != "fixed" and runs[name][-1]["non2xx"] != 0):
                    ok = False
        load.stop()
        if args.no_refresh and sum(refreshes) != 0:
            log(f"reads --no-refresh: {sum(refreshes)} refreshes ran during the measurement")
            ok = False
        if not args.no_refresh and sum(refreshes) <= 0:
            log("reads: no refresh ran during the measurement")
            ok = False
        rps = {name: median([r["rps"] for r in runs[name]]) for name, _ in servers}
        p99 = {name: median([r["p99_us"] / 1000 for r in runs[name]]) for name, _ in servers}
        p50 = {name: median([r["p50_us"] / 1000 for r in runs[name]]) for name, _ in servers}
        p99_runs = {name: ", ".join(f"{r['p99_us'] / 1000:.2f}" for r in runs[name]) for name, _ in servers}
        token_threads = setting(args, "admin.token_threads")
        label = {"token": f"mediaxd, token listener (`admin.token_listen`, Asio, {token_threads} threads)",
                 "admin": f"mediaxd, admin API (`admin.listen`, cpp-httplib, {threads} threads)",
                 "fixed": "fixed-string cpp-httplib (baseline)"}
        md = [f"### 3. Token reads\n",
              f"`bench/run.sh reads` — `wrk -t 2 -c {connections} -d {seconds}s` on `GET /v1/grants/{{id}}/token` with an admin "
              f"API key, cycling over {grants:,} grants (bench/bench.py writes the Lua script), " +
              ("with `--no-refresh`: every grant due in 1-2 h, no refresh during the runs (0 counted at the fake platform). "
               if args.no_refresh else
               f"while the daemon refreshes (grants due all through the run, fake platform at 20 ms): "
               f"{', '.join(str(x) for x in refreshes)} refreshes during the {args.runs} runs. ") +
              f"Each run measures, one after the other, mediaxd's token listener "
              f"(`admin.token_listen`), mediaxd's admin API on the same daemon, and `mediax-bench-fixed` "
              f"(cpp-httplib with the admin API's server settings: {threads} threads like admin.threads, keep-alive, "
              f"TCP_NODELAY; a fixed ~150-byte JSON answer), same wrk settings. "
              f"wrk runs on the same 2 cores. {load.text()}.\n",
              "| server | median req/s | p50 ms | p99 ms | runs (req/s) | runs (p99 ms) | target |", "|---|---|---|---|---|---|---|"]
        for name, _ in servers:
            md.append(f"| {label[name]} | {fmt(rps[name], 0)} | {p50[name]:.2f} | {p99[name]:.2f} | "
                      f"{', '.join(fmt(r['rps'], 0) for r in runs[name])} | "
                      f"{p99_runs[name]} | "
                      f"{'≥ 20,000 req/s, p99 ≤ 5 ms' if name == 'token' else ''} |")
        md += [f"| ratio token listener ÷ fixed | {rps['token'] / rps['fixed']:.2f} | | | | | |",
               f"| ratio admin API ÷ fixed | {rps['admin'] / rps['fixed']:.2f} | | | | | |",
               f"\nNon-2xx answers: token listener {sum(r['non2xx'] for r in runs['token'])}, admin API "
               f"{sum(r['non2xx'] for r in runs['admin'])}; socket errors (wrk's 5 s timeout: a connection waited that long "
               f"for a free server thread): " + ", ".join(f"{name} {sum(r['socket_errors'] for r in runs[name])}" for name, _ in servers) + "."]
        return "\n".join(md) + "\n", ok, {"rps": rps["token"], "p99": p99["token"], "admin_rps": rps["admin"],
                                           "fixed_rps": rps["fixed"]}
    finally:
        if fixed is not None:
            stop_process(fixed)
        env.close()
