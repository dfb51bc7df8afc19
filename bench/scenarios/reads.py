"""Scenario 3: token reads over HTTP with wrk (bench/run.sh reads).

Both of mediaxd's listeners (admin.listen and admin.token_listen) and the fixed-string cpp-httplib
server (mediax-bench-fixed, the HTTP library's own limit) take the same wrk load one after the other
in every run, so each run gives same-run ratios. Two phases, each on its own daemon and database:
"quiet" (every grant due in 1-2 h: no refresh competes for the cores; the phase of the p99 target)
and "refreshing" (grants due all through the runs, the fake platform at 20 ms). --no-refresh runs
the quiet phase only, --phase picks one.

MEDIAX_BENCH_PERF_READS=DIR adds one unmeasured run per phase that profiles each server under load
(MEDIAX_BENCH_PERF_MODE=sched, the default: `perf sched record -a`, who waited for a core and how
long; =cpu: `perf record --call-graph dwarf` of the server's process, where its time goes; =system:
`perf record -a`, every process on every core), files DIR/reads-PHASE-SERVER.data.
"""
import os
import re
import resource
import subprocess
import threading
import time

from harness import BenchError, Env, Fake, LoadMeter, OthersMeter, binary, cpu_times, default_setting, fmt, generate, log, median, \
    proc_cpu_seconds, stop_process

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

CONNECTIONS = 64
# cpp-httplib holds a thread per kept-alive connection: the baseline gets one per wrk connection, as
# mediaxd's cpp-httplib admin API had (admin.threads = 64) when the issue measured it.
FIXED_THREADS = 64
TARGET_RATIO = 1.5  # each mediaxd listener ÷ the fixed-string server, same run (issue 20)
TARGET_P99_MS = 5.0  # with no refresh running (issue 20); issue 7 asked it while refreshes run
SERVERS = ["admin", "token", "fixed"]
LABEL = {"admin": "mediaxd, admin listener (`admin.listen`)",
         "token": "mediaxd, token listener (`admin.token_listen`)",
         "fixed": f"`mediax-bench-fixed`: fixed-string cpp-httplib, {FIXED_THREADS} threads (baseline)"}


def run_wrk(port, script, connections, seconds, threads=2, server_pid=None):
    """wrk's figures, and with server_pid the CPU the server and wrk used per request (µs): on a shared
    machine, what each answer costs even when others take cores away."""
    cpu0 = proc_cpu_seconds(server_pid) if server_pid else 0.0
    wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "-s",
                        script, f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
    m = re.search(r"BENCH (.*)", r.stdout)
    if r.returncode != 0 or not m:
        raise BenchError(f"wrk failed: {r.stdout[-1000:]}{r.stderr[-1000:]}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    v["rps"] = v["requests"] / (v["duration_us"] / 1e6)
    wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = max(1, v["requests"])
    v["wrk_us"] = 1e6 * (wrk1.ru_utime + wrk1.ru_stime - wrk0.ru_utime - wrk0.ru_stime) / n
    v["server_us"] = 1e6 * (proc_cpu_seconds(server_pid) - cpu0) / n if server_pid else float("nan")
    return v


def machine_busy(seconds=2.0):
    """CPU busy % of the whole machine over a short window: others' work before a phase starts."""
    t0 = cpu_times()
    time.sleep(seconds)
    t1 = cpu_times()
    total = t1[0] - t0[0]
    return 100.0 * (total - (t1[1] - t0[1])) / total if total else 0.0


def admin_settings(args):
    """mediaxd's [admin] settings about threads and connections in this run (defaults or --set), as text."""
    cfg = subprocess.run([binary("mediaxd"), "--print-default-config"], capture_output=True, text=True).stdout
    section = re.search(r"^\[admin\]\n(.*?)(?=^\[|\Z)", cfg, re.S | re.M)
    keys = re.findall(r"^#?(\w*(?:thread|connection)\w*) = ", section.group(1) if section else "", re.M)
    sets = dict(x.split("=", 1) for x in args.set)
    return ", ".join(f"`admin.{k} = {sets.get('admin.' + k) or default_setting(k)}`" for k in keys) or "none"


def profiled(pid, out, seconds, mode):
    """Starts perf on the server under load (a thread); returns it to join after wrk."""
    if mode == "system":  # every CPU, every process: who used the cores under this load
        argv = ["perf", "record", "-F", "999", "-a", "-o", out, "--", "sleep", str(seconds)]
    elif mode == "cpu":
        argv = ["perf", "record", "-F", "999", "--call-graph", "dwarf", "-p", str(pid), "-o", out, "--", "sleep", str(seconds)]
    else:
        argv = ["perf", "sched", "record", "-a", "-o", out, "--", "sleep", str(seconds)]

    def run():
        time.sleep(1)  # into the steady load
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"perf failed: {r.stderr.strip()[-500:]}")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def thread_cpu(pid):
    """{tid: (name, CPU seconds)} of a process's threads, from /proc."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[int(tid)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        except (OSError, IndexError, ValueError):
            pass
    return out


def busiest_threads(before, after, seconds, n=6):
    """The threads that used the most CPU between two thread_cpu() snapshots, as text (tid, % of a core):
    which perf sched rows are the event loops."""
    use = sorted(((after[t][1] - before.get(t, (None, 0.0))[1], t, after[t][0]) for t in after), reverse=True)
    return ", ".join(f"{name}/{tid} {100.0 * cpu / seconds:.0f}%" for cpu, tid, name in use[:n])


def phase(args, refreshing):
    name = "refreshing" if refreshing else "quiet"
    grants = args.grants or (300 if args.smoke else 100_000)
    apps = args.apps or (10 if args.smoke else 100)
    seconds = args.seconds or (1 if args.smoke else 10)
    load_before = os.getloadavg()[0]
    busy_before = machine_busy()
    env = Env(args)
    fixed = None
    try:
        env.fake = Fake(env.workdir, latency_ms=20)
        # refreshing: due times spread over the next minutes, refreshes all through the runs; quiet:
        # every grant due in 1-2 h, the same reads with nothing competing for the cores.
        spread = 20 if args.smoke else 900
        due_from, due_to = (1, 1 + spread) if refreshing else (3600, 7200)
        generate(env.pg, env.daemon, apps, grants, env.fake.token_url, due_from, due_to, 300, 3600)
        env.daemon.start()
        if env.daemon.token_port is None:
            raise BenchError("reads needs admin.token_listen (do not --set it empty)")
        script = os.path.join(env.workdir, "reads.lua")
        with open(script, "w") as f:
            f.write(WRK_LUA.format(key=env.daemon.api_key, n=grants))
        fixed = subprocess.Popen([binary("mediax-bench-fixed"), "--threads", str(FIXED_THREADS), "--nodelay", "1"],
                                 stdout=subprocess.PIPE, text=True)
        ports = {"admin": env.daemon.port, "token": env.daemon.token_port,
                 "fixed": int(re.match(r"LISTENING (\d+)", fixed.stdout.readline()).group(1))}
        pids = {"admin": env.daemon.pid, "token": env.daemon.pid, "fixed": fixed.pid}
        for server in ("admin", "token"):
            status, body = env.daemon.get("/v1/grants/1/token", port=ports[server])
            if status != 200 or "access_token" not in body:
                raise BenchError(f"{server} listener: GET /v1/grants/1/token answered {status}")
        time.sleep(1 if args.smoke else 3)
        load = LoadMeter().start()
        others = OthersMeter([r for r in [env.pg.postmaster_pid()] if r]).start()
        runs = {s: [] for s in SERVERS}
        refreshes = []
        ok = True
        for i in range(args.runs):
            before = env.fake.stats()["refreshes"]
            # Each run starts with the next server: none always goes first (after the idle pause) or last.
            order = SERVERS[i % len(SERVERS):] + SERVERS[:i % len(SERVERS)]
            for s in order:
                runs[s].append(run_wrk(ports[s], script, CONNECTIONS, seconds, server_pid=pids[s]))
            refreshes.append(env.fake.stats()["refreshes"] - before)
            log(f"reads {name} run {i + 1}: " + "; ".join(
                f"{s} {runs[s][-1]['rps']:.0f} req/s p50 {runs[s][-1]['p50_us'] / 1000:.2f} p99 "
                f"{runs[s][-1]['p99_us'] / 1000:.2f} ms, CPU/req server {runs[s][-1]['server_us']:.1f} wrk "
                f"{runs[s][-1]['wrk_us']:.1f} us (non-2xx {runs[s][-1]['non2xx']}, socket errors "
                f"{runs[s][-1]['socket_errors']})" for s in order) + f"; {refreshes[-1]} refreshes meanwhile")
            # Socket errors (wrk's 5 s timeouts) are load, reported but not a wrong count; a refused or
            # failed token read is.
            for s in SERVERS:
                if runs[s][-1]["requests"] <= 0 or (s != "fixed" and runs[s][-1]["non2xx"] != 0):
                    ok = False
        load.stop()
        others.stop()
        if not refreshing and sum(refreshes) != 0:
            log(f"reads quiet: {sum(refreshes)} refreshes ran during the measurement")
            ok = False
        if refreshing and min(refreshes) <= 0:
            log("reads refreshing: a run without any refresh")
            ok = False
        perf_dir = os.environ.get("MEDIAX_BENCH_PERF_READS")
        if perf_dir:
            mode = os.environ.get("MEDIAX_BENCH_PERF_MODE", "sched")
            os.makedirs(perf_dir, exist_ok=True)
            for s in SERVERS:
                out = os.path.join(perf_dir, f"reads-{name}-{s}.data")
                t = profiled(pids[s], out, max(1, min(4, seconds - 2)), mode)
                threads0, t0 = thread_cpu(pids[s]), time.monotonic()
                r = run_wrk(ports[s], script, CONNECTIONS, seconds)
                threads = busiest_threads(threads0, thread_cpu(pids[s]), time.monotonic() - t0)
                t.join()
                log(f"reads {name} profiled ({mode}, {out}): {s} {r['rps']:.0f} req/s p99 {r['p99_us'] / 1000:.2f} ms; "
                    f"busiest threads of pid {pids[s]}: {threads}")
        return summarize(args, name, refreshing, grants, seconds, runs, refreshes, load, others, load_before,
                         busy_before), ok
    finally:
        if fixed is not None:
            stop_process(fixed)
        env.close()


def summarize(args, name, refreshing, grants, seconds, runs, refreshes, load, others, load_before, busy_before):
    rps = {s: median([r["rps"] for r in runs[s]]) for s in SERVERS}
    p50 = {s: median([r["p50_us"] / 1000 for r in runs[s]]) for s in SERVERS}
    p99 = {s: median([r["p99_us"] / 1000 for r in runs[s]]) for s in SERVERS}
    ratios = {s: [a["rps"] / b["rps"] for a, b in zip(runs[s], runs["fixed"])] for s in ("admin", "token")}
    ratio = {s: median(ratios[s]) for s in ratios}
    server_us = {s: median([r["server_us"] for r in runs[s]]) for s in SERVERS}
    wrk_us = {s: median([r["wrk_us"] for r in runs[s]]) for s in SERVERS}
    # The ratio two cores of the benchmark's own would give: each request costs the server's CPU plus wrk's.
    cpu_ratio = {s: (server_us["fixed"] + wrk_us["fixed"]) / (server_us[s] + wrk_us[s]) for s in ("admin", "token")}
    return {"name": name, "refreshing": refreshing, "grants": grants, "seconds": seconds, "runs": runs,
            "refreshes": refreshes, "rps": rps, "p50": p50, "p99": p99, "ratios": ratios, "ratio": ratio,
            "server_us": server_us, "wrk_us": wrk_us, "cpu_ratio": cpu_ratio,
            "load": f"{load.text()}; {others.text()}", "before": f"load average {load_before:.2f}, CPU busy {busy_before:.0f}% over 2 s",
            "settings": admin_settings(args)}


def verdict(ok):
    return "**met**" if ok else "**missed**"


def phase_md(p):
    runs, n = p["runs"], len(p["refreshes"])
    if p["refreshing"]:
        what = (f"Measured while refreshes run (grants due all through the runs, fake platform `mediax-bench-platform` at 20 ms): "
                f"{', '.join(str(x) for x in p['refreshes'])} refreshes during the {n} runs")
    else:
        what = "Measured with no refresh running (every grant due in 1-2 h; 0 refreshes counted at the fake platform)"
    md = [f"#### {'With refreshes' if p['refreshing'] else 'No refresh running'}\n",
          f"{what}. Before the phase started (others' work on the machine): {p['before']}; during the runs: "
          f"{p['load']}. mediaxd's settings: {p['settings']}.\n",
          "| server | median req/s | p50 ms | p99 ms | runs (req/s) | runs (p99 ms) | CPU µs/request: server, wrk |",
          "|---|---|---|---|---|---|---|"]
    for s in SERVERS:
        md.append(f"| {LABEL[s]} | {fmt(p['rps'][s], 0)} | {p['p50'][s]:.2f} | {p['p99'][s]:.2f} | "
                  f"{', '.join(fmt(r['rps'], 0) for r in runs[s])} | "
                  f"{', '.join('%.2f' % (r['p99_us'] / 1000) for r in runs[s])} | "
                  f"{p['server_us'][s]:.1f}, {p['wrk_us'][s]:.1f} |")
    md += ["", "| ratio ÷ fixed | same-run req/s, median | runs | target | from CPU per request |", "|---|---|---|---|---|"]
    for s in ("admin", "token"):
        target = f"≥ {TARGET_RATIO}: {verdict(p['ratio'][s] >= TARGET_RATIO)}" if not p["refreshing"] else ""
        md.append(f"| {LABEL[s]} | **{p['ratio'][s]:.2f}** | {', '.join(f'{x:.2f}' for x in p['ratios'][s])} | {target} | "
                  f"{p['cpu_ratio'][s]:.2f} |")
    md.append("\nCPU per request: the server process's and wrk's CPU time over a run ÷ its requests (mediaxd's "
              "includes its other threads: refresh workers while refreshes run). \"From CPU per request\": "
              "(fixed server + wrk) ÷ (listener + wrk), the ratio two cores of the benchmark's own would give if "
              "every server used them fully; it moves much less than req/s when other work takes cores away.")
    if not p["refreshing"]:
        md.append("\np99 ≤ 5 ms with no refresh running: " + "; ".join(
            f"{s} listener {p['p99'][s]:.2f} ms {verdict(p['p99'][s] <= TARGET_P99_MS)}" for s in ("admin", "token")) + ".")
    md.append(f"\nNon-2xx answers: admin {sum(r['non2xx'] for r in runs['admin'])}, token "
              f"{sum(r['non2xx'] for r in runs['token'])}; socket errors (wrk's 5 s timeout): " +
              ", ".join(f"{s} {sum(r['socket_errors'] for r in runs[s])}" for s in SERVERS) + ".\n")
    return "\n".join(md)


def bench_reads(args):
    which = {"both": [False, True], "quiet": [False], "refreshing": [True]}[args.phase]
    phases, ok = [], True
    for refreshing in which:
        p, phase_ok = phase(args, refreshing)
        phases.append(p)
        ok = ok and phase_ok
    first = phases[0]
    md = [f"### 3. Token reads\n",
          f"`bench/run.sh reads` — `wrk -t 2 -c {CONNECTIONS} -d {first['seconds']}s` on `GET /v1/grants/{{id}}/token` "
          f"with an admin API key, cycling over {first['grants']:,} grants (bench/scenarios/reads.py writes the Lua "
          f"script). In each of {args.runs} runs the same wrk load goes, one after the other (each run starting with the "
          f"next), to mediaxd's admin listener (`admin.listen`), its token listener (`admin.token_listen`, same daemon) "
          f"and `mediax-bench-fixed` (cpp-httplib, {FIXED_THREADS} threads: one per kept-alive connection, keep-alive, "
          f"TCP_NODELAY, a fixed ~150-byte JSON answer). Medians of the runs; ratios are each run's listener ÷ that "
          f"run's fixed-string server, their median. Each phase has its own PostgreSQL and daemon; wrk runs on the "
          f"same {os.cpu_count()} cores.\n"]
    md += [phase_md(p) for p in phases]
    figures = {p["name"]: {"admin_rps": round(p["rps"]["admin"]), "token_rps": round(p["rps"]["token"]),
                           "fixed_rps": round(p["rps"]["fixed"]), "admin_ratio": round(p["ratio"]["admin"], 2),
                           "token_ratio": round(p["ratio"]["token"], 2), "admin_p99": p["p99"]["admin"],
                           "token_p99": p["p99"]["token"], "fixed_p99": p["p99"]["fixed"]} for p in phases}
    return "\n".join(md), ok, figures
