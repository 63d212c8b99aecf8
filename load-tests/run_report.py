#!/usr/bin/env python3
"""load-tests/run's figures: reads edload's JSON (one file per run) and the CPU snapshots the
script took around each run, judges each scenario against issue 13's targets and writes
results.json and RESULTS.md. Also the small helpers the script calls:

  run_report.py snapshot NAME=PID[+] ...      CPU ticks of each process (+: and its children), JSON
  run_report.py step RAW LABEL                one ceiling step: "pass <deliveries/s> <p99 ms>" or "fail ..."
  run_report.py check RAW LABEL...            nothing lost, duplicated or reordered, all subscribed
  run_report.py report RAW OUT                results.json and RESULTS.md in OUT

edload's JSON keys are read through get() and the KEYS table only: if edload renames a key,
change it there.
"""
import json
import os
import platform
import sys
import time

# Logical name -> edload JSON path (load-tests/README.md, "edload", JSON keys).
KEYS = {
    "clients": "clients",
    "subscribed": "connect.subscribed",
    "connect_s": "connect.all_subscribed_s",
    "connect_complete": "connect.complete",
    "offered_per_s": "writes.offered_per_s",
    "achieved_per_s": "writes.achieved_per_s",
    "writes_sent": "writes.sent",
    "writes_ok": "writes.ok",
    "writes_refused": "writes.refused",
    "writes_failed": "writes.failed",
    "write_p50": "writes.latency.p50_ms",
    "write_p99": "writes.latency.p99_ms",
    "expected": "deliveries.expected",
    "delivered": "deliveries.delivered",
    "deliveries_per_s": "deliveries.per_s",
    "lost": "deliveries.lost",
    "duplicated": "deliveries.duplicated",
    "out_of_order": "deliveries.out_of_order",
    "skipped_by_snapshot": "deliveries.skipped_by_snapshot",
    "all_caught_up": "deliveries.all_caught_up",
    "w2s_count": "latency.write_to_screen.count",
    "w2s_p50": "latency.write_to_screen.p50_ms",
    "w2s_p90": "latency.write_to_screen.p90_ms",
    "w2s_p99": "latency.write_to_screen.p99_ms",
    "w2s_p999": "latency.write_to_screen.p999_ms",
    "w2s_max": "latency.write_to_screen.max_ms",
    "c2s_count": "latency.commit_to_screen.count",
    "c2s_p50": "latency.commit_to_screen.p50_ms",
    "c2s_p99": "latency.commit_to_screen.p99_ms",
    "c2s_max": "latency.commit_to_screen.max_ms",
    "hub_cpu_s": "hub.cpu_s",
    "hub_rss_peak_mb": "hub.rss_peak_mb",
    "write_wall_s": "write_phase.wall_s",
    "write_hub_cpu_s": "write_phase.hub_cpu_s",
    "write_api_cpu_s": "write_phase.api_cpu_s",
    "edload_cpu_s": "edload.cpu_s",
    "idle_bytes_per_conn": "idle.bytes_per_connection",
    "idle_rss_before_mb": "idle.rss_before_mb",
    "idle_rss_after_mb": "idle.rss_after_idle_mb",
    "idle_hub_cpu_s": "idle.hub_cpu_s",
    "idle_seconds": "idle.seconds",
    "storm_kill_to_listening_s": "storm.kill_to_listening_s",
    "storm_caught_up_s": "storm.listening_to_caught_up_s",
    "storm_recovered": "storm.recovered",
    "storm_snapshots": "storm.snapshots",
    "storm_caught_up": "storm.caught_up",
    "storm_timed_out": "storm.timed_out",
    "errors": "errors",
}

TARGETS = {
    "quiet_p50_ms": 5, "quiet_p99_ms": 20,
    "steady_p50_ms": 10, "steady_p99_ms": 50,
    "idle_bytes": 2048,
    "connect_s": 5, "storm_s": 5,
    "write_path_ratio": 0.7,
    "ceiling_p99_ms": 100, "floor_ratio": 0.7, "node_ratio": 3,
}


def get(r, name, default=None):
    """edload's value for a logical name (KEYS), or default when the key is absent or null."""
    if r is None:
        return default
    v = r
    for part in KEYS[name].split("."):
        if not isinstance(v, dict) or part not in v or v[part] is None:
            return default
        v = v[part]
    return v


def load(raw, label):
    try:
        with open(os.path.join(raw, label + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def meta(raw, label):
    """What the script recorded about a run: exit status, seconds, target, parameters."""
    try:
        with open(os.path.join(raw, label + ".meta.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def delivery_problems(r):
    """Why a run's deliveries cannot be trusted: [] when every client got every event once, in order."""
    if r is None:
        return ["no JSON (edload failed)"]
    p = []
    clients = get(r, "clients", 0)
    if get(r, "subscribed", 0) < clients:
        p.append(f"{get(r, 'subscribed', 0)} of {clients} subscribed")
    for k in ("lost", "duplicated", "out_of_order"):
        if get(r, k, 0):
            p.append(f"{k} {get(r, k)}")
    if get(r, "all_caught_up") is False:
        p.append("not all caught up")
    return p


def latency_of(r):
    """(p50, p99, basis) for a ceiling step: commit-to-screen when the frames carry a
    millisecond `at` (the floor always; ed-hub once it sends one), else write-to-screen."""
    if get(r, "c2s_count", 0) > 0:
        return get(r, "c2s_p50"), get(r, "c2s_p99"), "commit-to-screen"
    if get(r, "w2s_count", 0) > 0:
        return get(r, "w2s_p50"), get(r, "w2s_p99"), "write-to-screen"
    return None, None, "none"


# ---- snapshot --------------------------------------------------------------------------------

def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]), int(fields[1])  # utime+stime, ppid
    except (OSError, IndexError, ValueError):
        return None, None


def snapshot(args):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            t, ppid = proc_ticks(entry)
            if t is not None:
                children.setdefault(ppid, []).append(t)
    out = {"t": time.time(), "procs": {}}
    for a in args:
        name, _, pid = a.partition("=")
        with_children = pid.endswith("+")
        pid = pid.rstrip("+")
        if not pid.isdigit():
            continue
        t, _ = proc_ticks(pid)
        if t is None:
            continue
        if with_children:
            t += sum(children.get(int(pid), []))
        out["procs"][name] = t
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    out["busy"] = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6]
    out["idle"] = cpu[3] + cpu[4]
    print(json.dumps(out))


def cpu_shares(raw, label):
    """Each process's share of one core over the run, and how busy the whole machine was."""
    try:
        with open(os.path.join(raw, label + ".cpu0")) as f:
            a = json.load(f)
        with open(os.path.join(raw, label + ".cpu1")) as f:
            b = json.load(f)
    except (OSError, ValueError):
        return None
    tck = os.sysconf("SC_CLK_TCK")
    wall = b["t"] - a["t"]
    if wall <= 0:
        return None
    shares = {n: (b["procs"][n] - a["procs"][n]) / tck / wall for n in b["procs"] if n in a["procs"]}
    busy = b["busy"] - a["busy"]
    total = busy + b["idle"] - a["idle"]
    return {"wall_s": wall, "cores": shares, "machine_busy": busy / total if total else None}


def bounds_line(c):
    if not c:
        return "no CPU figures"
    parts = sorted(c["cores"].items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{n} {v * 100:.0f}%" for n, v in parts if v >= 0.01)
    busy = c["machine_busy"]
    ncpu = os.cpu_count() or 1
    line = f"CPU (share of one core over {c['wall_s']:.0f} s): {text or 'all idle'}"
    if busy is not None:
        others = busy * ncpu - sum(c["cores"].values())
        line += f"; machine {busy * 100:.0f}% busy ({ncpu} cores; processes not measured here: {max(others, 0) * 100:.0f}% of a core)"
        top = parts[0] if parts else None
        if busy >= 0.9 and top and others > top[1]:
            line += (": bound by the machine's CPU, mostly taken by processes not measured here "
                     "(another load on the machine: rerun alone)")
        elif busy >= 0.9:
            line += ": bound by the machine's CPU"
            if top:
                line += f", {top[0]} the largest share"
        elif top and top[1] >= 0.9:
            line += f": {top[0]} is on a full core (single-threaded: its bound)"
        else:
            line += ": no process on a full core (latency, not CPU, bounds it)"
    return line


# ---- step / check ------------------------------------------------------------------------------

def step(raw, label):
    """A ceiling step passes when nothing was lost, the offered rate was achieved (95%) and p99 ≤ 100 ms."""
    r = load(raw, label)
    m = meta(raw, label)
    problems = delivery_problems(r)
    p50, p99, basis = latency_of(r)
    per_s = get(r, "deliveries_per_s", 0.0) or 0.0
    offered = m.get("offered_deliveries_per_s")
    if offered and per_s < 0.95 * offered:
        problems.append(f"{per_s:.0f} of {offered:.0f} deliveries/s offered")
    if m.get("offered_writes_per_s"):
        ach = get(r, "achieved_per_s", 0.0) or 0.0
        if ach < 0.95 * m["offered_writes_per_s"]:
            problems.append(f"writes {ach:.1f}/s of {m['offered_writes_per_s']}/s")
    if p99 is None:
        problems.append("no latency samples")
    elif p99 > TARGETS["ceiling_p99_ms"]:
        problems.append(f"p99 {p99:.1f} ms")
    verdict = "fail" if problems else "pass"
    print(f"{verdict} {per_s:.0f} {p99 if p99 is not None else 'nan'} {'; '.join(problems)}")


def check(raw, labels):
    """Each run completed: edload exited 0, every client got every event once, in order, every
    write was answered 2xx, and a run with writes delivered something."""
    bad = 0
    for label in labels:
        r, m = load(raw, label), meta(raw, label)
        p = delivery_problems(r)
        if m.get("exit") not in (0, None):
            p.append(f"edload exit {m.get('exit')}")
        if r is not None:
            if get(r, "writes_refused", 0) or get(r, "writes_failed", 0):
                p.append(f"writes refused {get(r, 'writes_refused', 0)}, failed {get(r, 'writes_failed', 0)}")
            if (m.get("params") or {}).get("rate", 0) > 0 and not get(r, "delivered", 0):
                p.append("nothing delivered")
        if p:
            print(f"{label}: " + "; ".join(p))
            bad = 1
    sys.exit(bad)


# ---- report --------------------------------------------------------------------------------

def fmt(v, nd=1, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def met(ok):
    return "–" if ok is None else ("**met**" if ok else "**not met**")


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_gb, 1) if mem_gb else None,
            "cpu": cpu, "kernel": platform.release()}


def run_row(label, r, m, raw):
    c = cpu_shares(raw, label)
    lat = latency_of(r)
    return {
        "label": label, "target": m.get("target"), "exit": m.get("exit"), "params": m.get("params"),
        "clients": get(r, "clients"), "subscribed": get(r, "subscribed"),
        "connect_s": get(r, "connect_s"),
        "writes_offered_per_s": get(r, "offered_per_s"), "writes_achieved_per_s": get(r, "achieved_per_s"),
        "writes_ok": get(r, "writes_ok"), "writes_refused": get(r, "writes_refused"),
        "writes_failed": get(r, "writes_failed"),
        "delivered": get(r, "delivered"), "expected": get(r, "expected"),
        "deliveries_per_s": get(r, "deliveries_per_s"),
        "lost": get(r, "lost"), "duplicated": get(r, "duplicated"), "out_of_order": get(r, "out_of_order"),
        "write_to_screen_ms": {k: get(r, "w2s_" + k) for k in ("p50", "p90", "p99", "p999", "max")},
        "commit_to_screen_ms": {k: get(r, "c2s_" + k) for k in ("p50", "p99", "max")},
        "commit_to_screen_samples": get(r, "c2s_count"),
        "write_ms": {"p50": get(r, "write_p50"), "p99": get(r, "write_p99")},
        "hub_cpu_s": get(r, "hub_cpu_s"), "hub_rss_peak_mb": get(r, "hub_rss_peak_mb"),
        "edload_cpu_s": get(r, "edload_cpu_s"),
        "idle_bytes_per_connection": get(r, "idle_bytes_per_conn"),
        "idle_hub_cpu_s": get(r, "idle_hub_cpu_s"), "idle_seconds": get(r, "idle_seconds"),
        "storm": {k: get(r, "storm_" + k) for k in ("kill_to_listening_s", "caught_up_s", "recovered",
                                                     "snapshots", "caught_up", "timed_out")},
        "errors": get(r, "errors"), "problems": delivery_problems(r), "cpu": c,
        "ceiling_latency_basis": lat[2],
    }


def ratio(a, b):
    return a / b if a and b else None


def report(raw, out):
    with open(os.path.join(raw, "run.json")) as f:
        run = json.load(f)
    res = {"machine": machine(), "commit": run.get("commit"), "date": run.get("date"),
           "mode": run.get("mode"), "duration_s": None, "scenarios": {}}
    if run.get("started"):
        res["duration_s"] = round(time.time() - run["started"])
    lines = []
    L = lines.append
    mc = res["machine"]
    L("# Load-test results (issue 13)")
    L("")
    L(f"Written by `load-tests/run{(' ' + run['args']) if run.get('args') else ''}` "
      f"({run.get('mode')} run, {res['duration_s']} s). Machine: {mc['nproc']} cores "
      f"({mc['cpu']}), {mc['ram_gb']} GB RAM, Linux {mc['kernel']}. Commit `{run.get('commit')}`, "
      f"{run.get('date')}. Everything on this one machine at once: PostgreSQL, Redis, ed-relay, "
      f"ed-api, the hub being measured and the load client (edload, one thread). Deployment: "
      f"{run.get('deployment')}.")
    L("")
    L("Latency: write-to-screen is from just before the write's HTTP request to the client's "
      "receipt; commit-to-screen is receipt − the frame's `at` (milliseconds). Hub CPU is the "
      "hub's own utime+stime over the run; the 'what bounds it' lines give each process's share "
      "of one core over the whole edload run (connect included), from /proc.")
    L("")
    sel = run.get("scenarios", [])

    def runs_for(prefix):
        out_runs = {}
        for target in ("ed-hub", "node", "floor"):
            label = f"{prefix}-{target}"
            r = load(raw, label)
            m = meta(raw, label)
            if r is not None or m:
                out_runs[target] = (label, r, m)
        return out_runs

    def table(rs, cols):
        L("| target | " + " | ".join(c[0] for c in cols) + " |")
        L("|---|" + "---|" * len(cols))
        for target, (label, r, m) in rs.items():
            cells = []
            for _, fn in cols:
                try:
                    cells.append(fn(r, m))
                except (TypeError, KeyError, ValueError):
                    cells.append("–")
            L(f"| {target} | " + " | ".join(cells) + " |")
        L("")

    def bounds(rs):
        for target, (label, r, m) in rs.items():
            L(f"- what bounds {target}: {bounds_line(cpu_shares(raw, label))}"
              + (f"; edload exit {m.get('exit')}" if m.get("exit") not in (0, None) else ""))
        L("")

    lat_cols = [
        ("clients / depts", lambda r, m: f"{get(r, 'clients')} / {m['params'].get('departments')}"),
        ("writes/s offered → done", lambda r, m: f"{fmt(get(r, 'offered_per_s'))} → {fmt(get(r, 'achieved_per_s'))}"),
        ("delivered / expected", lambda r, m: f"{get(r, 'delivered')} / {get(r, 'expected')}"),
        ("lost / dup / ooo", lambda r, m: f"{get(r, 'lost')} / {get(r, 'duplicated')} / {get(r, 'out_of_order')}"),
        ("deliveries/s", lambda r, m: fmt(get(r, 'deliveries_per_s'), 0)),
        ("write-to-screen ms p50 / p90 / p99 / p99.9 / max", lambda r, m: " / ".join(
            fmt(get(r, "w2s_" + k), 1) for k in ("p50", "p90", "p99", "p999", "max"))),
        ("commit-to-screen p50 / p99", lambda r, m: (f"{fmt(get(r, 'c2s_p50'))} / {fmt(get(r, 'c2s_p99'))}"
                                                     if get(r, "c2s_count", 0) else "– (no ms `at`)")),
        ("write ms p50 / p99", lambda r, m: f"{fmt(get(r, 'write_p50'))} / {fmt(get(r, 'write_p99'))}"),
        ("hub CPU s (write phase)", lambda r, m: f"{fmt(get(r, 'hub_cpu_s'), 2)} ({fmt(get(r, 'write_hub_cpu_s'), 2)})"),
        ("hub RSS peak MB", lambda r, m: fmt(get(r, 'hub_rss_peak_mb'))),
        ("edload CPU s", lambda r, m: fmt(get(r, 'edload_cpu_s'), 1)),
    ]

    # 1 and 2: latency scenarios.
    for num, prefix, title, p50t, p99t in ((1, "quiet", "Quiet", "quiet_p50_ms", "quiet_p99_ms"),
                                           (2, "steady", "Steady", "steady_p50_ms", "steady_p99_ms")):
        if num not in sel:
            continue
        rs = runs_for(prefix)
        hub = rs.get("ed-hub", (None, None, {}))[1]
        node = rs.get("node", (None, None, {}))[1]
        p50, p99 = get(hub, "w2s_p50"), get(hub, "w2s_p99")
        nothing_lost = hub is not None and not delivery_problems(hub)
        ok = None if hub is None else (p50 is not None and p99 is not None and p50 <= TARGETS[p50t]
                                       and p99 <= TARGETS[p99t] and nothing_lost)
        params = rs.get("ed-hub", (None, None, {}))[2].get("params", {})
        L(f"## {num}. {title}: N = {params.get('clients')}, D = {params.get('departments')}, "
          f"R = {params.get('rate')} writes/s, {params.get('seconds')} s")
        L("")
        L(f"Target: write-to-screen p50 ≤ {TARGETS[p50t]} ms, p99 ≤ {TARGETS[p99t]} ms"
          + (", nothing lost" if num == 2 else "") + f". ed-hub: p50 {fmt(p50)} ms, p99 {fmt(p99)} ms, "
          f"{'nothing lost' if nothing_lost else 'problems: ' + '; '.join(delivery_problems(hub))}: {met(ok)}.")
        L("")
        table(rs, lat_cols)
        rat = {}
        if node is not None and hub is not None:
            rat = {"node_p99_over_hub_p99": ratio(get(node, "w2s_p99"), p99),
                   "node_cpu_over_hub_cpu": ratio(get(node, "write_hub_cpu_s"), get(hub, "write_hub_cpu_s"))}
            L(f"Ratios: Node hub p99 / ed-hub p99 = {fmt(rat['node_p99_over_hub_p99'], 2)}; Node hub's CPU / "
              f"ed-hub's over the write phase = {fmt(rat['node_cpu_over_hub_cpu'], 2)}.")
            L("")
        bounds(rs)
        res["scenarios"][str(num)] = {"name": prefix, "met": ok, "ratios": rat,
                                      "runs": {t: run_row(lb, r, m, raw) for t, (lb, r, m) in rs.items()}}

    # 3 and 4: one run on a fresh hub (connect, idle, storm).
    if 3 in sel or 4 in sel:
        rs = runs_for("fresh")
        hub = rs.get("ed-hub", (None, None, {}))[1]
        node = rs.get("node", (None, None, {}))[1]
        params = rs.get("ed-hub", (None, None, {}))[2].get("params", {})
        L(f"## 3–4. Fresh hub: N = {params.get('clients')}, D = {params.get('departments')}: connect, "
          f"{params.get('idle_seconds')} s idle, then SIGKILL and restart (the storm)"
          if 4 in sel else
          f"## 3. Memory: N = {params.get('clients')}, D = {params.get('departments')}, "
          f"{params.get('idle_seconds')} s idle on a fresh hub")
        L("")
        table(rs, [
            ("subscribed", lambda r, m: f"{get(r, 'subscribed')} / {get(r, 'clients')}"),
            ("connect s", lambda r, m: fmt(get(r, 'connect_s'), 2)),
            ("RSS before → after idle MB", lambda r, m: f"{fmt(get(r, 'idle_rss_before_mb'))} → {fmt(get(r, 'idle_rss_after_mb'))}"),
            ("bytes / idle connection", lambda r, m: fmt(get(r, 'idle_bytes_per_conn'), 0)),
            ("hub CPU idle (s over idle s)", lambda r, m: f"{fmt(get(r, 'idle_hub_cpu_s'), 2)} / {fmt(get(r, 'idle_seconds'), 0)}"),
            ("storm: kill → listening s", lambda r, m: fmt(get(r, 'storm_kill_to_listening_s'), 2)),
            ("storm: listening → all caught up s", lambda r, m: fmt(get(r, 'storm_caught_up_s'), 2)),
            ("storm: recovered / snapshots / caught up", lambda r, m: f"{fmt(get(r, 'storm_recovered'))} / {fmt(get(r, 'storm_snapshots'))} / {fmt(get(r, 'storm_caught_up'))}"),
            ("lost / dup / ooo", lambda r, m: f"{get(r, 'lost')} / {get(r, 'duplicated')} / {get(r, 'out_of_order')}"),
            ("errors", lambda r, m: ", ".join(f"{k} {v}" for k, v in (get(r, 'errors') or {}).items()) or "none"),
        ])
        if 3 in sel:
            b = get(hub, "idle_bytes_per_conn")
            # Below zero the hub gave back more heap (malloc_trim) than the connections took:
            # the baseline moved, and the figure measures nothing.
            ok3 = None if b is None or b < 0 else b <= TARGETS["idle_bytes"]
            rat3 = ratio(b, get(node, "idle_bytes_per_conn"))
            L(f"**3. Memory** — target ≤ {TARGETS['idle_bytes']} bytes per idle connection "
              f"(RSS after idle − RSS before connecting, / N, on a fresh hub). ed-hub {fmt(b, 0)}: "
              f"{met(ok3) if b is None or b >= 0 else 'not measured (RSS fell: the heap trimmed after start outweighed the connections)'}. "
              f"ed-hub / Node hub = {fmt(rat3, 2)}.")
            L("")
            res["scenarios"]["3"] = {"name": "memory", "met": ok3, "ratios": {"hub_over_node_bytes": rat3}}
        if 4 in sel:
            cs, st = get(hub, "connect_s"), get(hub, "storm_caught_up_s")
            n = get(hub, "clients")
            ok4 = None if hub is None else (cs is not None and cs <= TARGETS["connect_s"] and st is not None
                                             and st <= TARGETS["storm_s"] and get(hub, "storm_caught_up") == n
                                             and not get(hub, "storm_timed_out"))
            rat4 = {"node_connect_over_hub": ratio(get(node, "connect_s"), cs),
                    "node_storm_over_hub": ratio(get(node, "storm_caught_up_s"), st)}
            L(f"**4. Connect and storm** — targets: {n} clients connected and subscribed ≤ "
              f"{TARGETS['connect_s']} s; after SIGKILL and restart all resubscribed and caught up ≤ "
              f"{TARGETS['storm_s']} s from the hub listening. ed-hub: connect {fmt(cs, 2)} s, storm "
              f"{fmt(st, 2)} s ({get(hub, 'storm_caught_up')} caught up): {met(ok4)}. Node hub / ed-hub: "
              f"connect {fmt(rat4['node_connect_over_hub'], 2)}, storm {fmt(rat4['node_storm_over_hub'], 2)} "
              f"(the Node hub answers every resubscribe with a snapshot: no resume).")
            L("")
            res["scenarios"]["4"] = {"name": "connect_storm", "met": ok4, "ratios": rat4}
        bounds(rs)
        res["scenarios"].setdefault("3" if 3 in sel else "4", {})["runs"] = {
            t: run_row(lb, r, m, raw) for t, (lb, r, m) in rs.items()}

    # 5: write path (load-tests/write_path/run.sh's one JSON line).
    if 5 in sel:
        L("## 5. Write path: API writes/s at 16 concurrent writers vs pgbench on the same statements")
        L("")
        wp = None
        try:
            with open(os.path.join(raw, "write_path.json")) as f:
                wp = json.load(f)
        except (OSError, ValueError):
            pass
        if wp is None:
            note = "not run"
            try:
                with open(os.path.join(raw, "write_path.note")) as f:
                    note = f.read().strip() or note
            except OSError:
                pass
            L(f"{note}.")
            res["scenarios"]["5"] = {"name": "write_path", "met": None, "note": note}
        else:
            r5 = wp.get("ratio")
            if r5 is None and wp.get("api_writes_per_s") and wp.get("pgbench_tps"):
                r5 = wp["api_writes_per_s"] / wp["pgbench_tps"]
            ok5 = None if r5 is None else r5 >= TARGETS["write_path_ratio"]
            L(f"Target: ≥ {TARGETS['write_path_ratio'] * 100:.0f}% of pgbench. API {fmt(wp.get('api_writes_per_s'))} "
              f"writes/s, pgbench {fmt(wp.get('pgbench_tps'))} tps: ratio {fmt(r5, 2)}: {met(ok5)}.")
            L("")
            L("```")
            L(json.dumps(wp))
            L("```")
            res["scenarios"]["5"] = {"name": "write_path", "met": ok5, "ratios": {"api_over_pgbench": r5},
                                     "figures": wp}
        L("")

    # 6: fan-out ceiling.
    if 6 in sel:
        steps = []
        try:
            with open(os.path.join(raw, "ceiling.json")) as f:
                steps = json.load(f)
        except (OSError, ValueError):
            pass
        p = run.get("ceiling", {})
        L(f"## 6. Fan-out ceiling: N = {p.get('clients')}, D = {p.get('departments')}, the rate stepped up "
          f"(doubling, then bisecting) to the highest deliveries/s with p99 ≤ {TARGETS['ceiling_p99_ms']} ms")
        L("")
        L(f"Why this N and D: {p.get('why')}")
        L("")
        L("A step passes when every client got every event once, in order, the offered rate was "
          "achieved (95%) and p99 ≤ 100 ms: commit-to-screen (receipt − the frame's millisecond `at`) "
          "when the frames carry one, else write-to-screen (which adds ed-api and PostgreSQL).")
        L("")
        L("| target | step | events/s | deliveries/s offered → done | latency p50 / p99 ms (basis) | verdict | CPU (share of a core) |")
        L("|---|---|---|---|---|---|---|")
        best = {}
        for s in steps:
            r = load(raw, s["label"])
            p50, p99, basis = latency_of(r)
            c = cpu_shares(raw, s["label"])
            cpu = ", ".join(f"{n} {v * 100:.0f}%" for n, v in sorted((c or {}).get("cores", {}).items(),
                                                                       key=lambda kv: -kv[1]) if v >= 0.05)
            L(f"| {s['target']} | {s['label'].rsplit('-', 1)[-1]} | {s['rate']} | {s['offered']:.0f} → "
              f"{fmt(get(r, 'deliveries_per_s'), 0)} | {fmt(p50)} / {fmt(p99)} ({basis}) | {s['verdict']}"
              f"{(': ' + s['why']) if s.get('why') else ''} | {cpu} |")
            if s["verdict"] == "pass":
                cur = best.get(s["target"])
                per_s = get(r, "deliveries_per_s", 0) or 0
                if cur is None or per_s > cur["per_s"]:
                    best[s["target"]] = {"per_s": per_s, "rate": s["rate"], "label": s["label"], "p99": p99,
                                         "basis": basis}
        L("")
        hub_b = best.get("ed-hub", {}).get("per_s")
        fl_b = best.get("floor", {}).get("per_s")
        nd_b = best.get("node", {}).get("per_s")
        rf, rn = ratio(hub_b, fl_b), ratio(hub_b, nd_b)
        ok6 = None if hub_b is None or (fl_b is None and nd_b is None) else (
            (rf is not None and rf >= TARGETS["floor_ratio"]) and (nd_b is None or (rn is not None and rn >= TARGETS["node_ratio"])))
        for t in ("ed-hub", "floor", "node"):
            b = best.get(t)
            L(f"- ceiling {t}: " + (f"{b['per_s']:.0f} deliveries/s at {b['rate']} events/s, p99 {fmt(b['p99'])} ms ({b['basis']})"
                                    if b else "no step passed (or not run)"))
            if b:
                L(f"  - what bounds it (its highest passing step): {bounds_line(cpu_shares(raw, b['label']))}")
        L("")
        L(f"Targets: ed-hub ≥ {TARGETS['floor_ratio']} × the floor and ≥ {TARGETS['node_ratio']} × the Node hub. "
          f"ed-hub / floor = {fmt(rf, 2)}, ed-hub / Node hub = {fmt(rn, 2)}: {met(ok6)}.")
        L("")
        res["scenarios"]["6"] = {"name": "fanout_ceiling", "met": ok6, "params": p, "best": best,
                                 "ratios": {"hub_over_floor": rf, "hub_over_node": rn}, "steps": steps}

    L("## Summary")
    L("")
    L("| scenario | met |")
    L("|---|---|")
    for k in sorted(res["scenarios"], key=int):
        L(f"| {k} {res['scenarios'][k].get('name')} | {met(res['scenarios'][k].get('met'))} |")
    L("")
    L("Profiling notes (perf, callgrind): to be added by hand after a run.")
    L("")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
        f.write("\n")
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "snapshot":
        snapshot(argv[2:])
    elif cmd == "step":
        step(argv[2], argv[3])
    elif cmd == "check":
        check(argv[2], argv[3:])
    elif cmd == "report":
        report(argv[2], argv[3])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
