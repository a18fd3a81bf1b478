#!/usr/bin/env python3
"""Benchmarks of the release build of cvpn-terminator against the Client VPN emulator.

Scenarios: cold start under a Lambda Runtime API served here (beside the AWS CLI doing the same
termination), incident latency across four endpoints with latency injected per call, sweeps of
10,000 and 50,000 connections against token-bucket throttling, package sizes, and the client connect
handler's cold start and warm decision beside a Python/boto3 handler (bench/connect.py), and the
IdP's signed tokens: verifying them cold and warm, and a SET to the last session ended (bench/idp_signals.py). Prints one JSON
object per scenario, then a table. Run through bench/run.sh, which builds what it needs.

The function runs as its own process. Peak RSS is measured where it cannot include this harness:
`ru_maxrss` of a child forked from a large Python process keeps the parent's pre-exec high-water
mark, so processes that exit are run under GNU time (`%M`, its child forked from a small process),
and the Runtime API's function process is read from /proc (`VmHWM`, reset at exec) before it is
stopped."""
import argparse
import io
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile

import connect
import idp_signals
import organization
from harness import (ENDPOINTS, TICK, Emulator, Moto, RuntimeApi, base_env, connection, four_endpoints, latency,
                     measured, peak_rss, summary)

def cold_start(args, emulator):
    """One user with two sessions on one endpoint among 100 others; end them by username."""
    endpoint = [{"clientVpnEndpointId": ENDPOINTS[0], "connections":
                 [connection(i, f"user{i}", "2026-11-22T08:00:00Z") for i in range(100)]
                 + [connection(1000 + i, "mallory", "2026-11-22T08:00:00Z") for i in range(2)]}]
    env = {**base_env(emulator), "CVPN_ENDPOINT_IDS": ENDPOINTS[0]}
    api = RuntimeApi()
    fn_times, fn_rss, cli_times, cli_rss = [], [], [], []
    for _ in range(args.runs):
        emulator.reset(endpoint)
        seconds, rss, response = api.invoke(args.function, env, {"ClientVpnEndpointId": ENDPOINTS[0], "Username": "mallory"})
        assert len(response["terminated"]) == 2, response
        fn_times.append(seconds)
        fn_rss.append(rss)
        emulator.reset(endpoint)
        seconds, rss, code, out = measured(["aws", "ec2", "terminate-client-vpn-connections", "--client-vpn-endpoint-id",
                                            ENDPOINTS[0], "--username", "mallory", "--output", "json"], env)
        assert code == 0 and len(json.loads(out)["ConnectionStatuses"]) == 2, out
        cli_times.append(seconds)
        cli_rss.append(rss)
    ms = lambda values: summary([v * 1000 for v in values])
    return {"scenario": "cold_start", "runs": args.runs,
            "function_ms": ms(fn_times), "function_peak_rss_mib": summary(fn_rss),
            "aws_cli_ms": ms(cli_times), "aws_cli_peak_rss_mib": summary(cli_rss),
            "speedup": round(statistics.median(cli_times) / statistics.median(fn_times), 1)}


def incident(args, emulator):
    """A GuardDuty finding whose user has a session on each of four endpoints of 1,000 connections."""
    endpoints = four_endpoints("mallory@example.com")
    event = json.load(open(os.path.join(args.root, "events", "guardduty-iam-assumed-role.json")))
    event["detail"]["resource"]["accessKeyDetails"]["principalId"] = "AROAEXAMPLEEXAMPLE0001:mallory@example.com"
    results = {}
    for label, scoped in [("configured_endpoints", True), ("discovered_endpoints", False)]:
        # The sample's principal is of 111122223333; the bench has no STS to learn the own account.
        env = {**base_env(emulator), "CVPN_IDENTITY_ACCOUNTS": "111122223333"}
        if scoped:
            env["CVPN_ENDPOINT_IDS"] = ",".join(ENDPOINTS)
        walls = {}
        for ms in (0, args.latency_ms):
            runs = []
            for _ in range(args.runs):
                emulator.reset(endpoints, latency(ms))
                seconds, _, code, out = measured([args.function, "invoke", "--event", "-"], env, json.dumps(event))
                assert code == 0 and len(json.loads(out)["terminated"]) == 4, out
                runs.append(seconds)
            walls[ms] = runs
        calls = sum(s["calls"] for s in emulator.stats().values())
        added = statistics.median(walls[args.latency_ms]) - statistics.median(walls[0])
        results[label] = {"wall_ms": summary([w * 1000 for w in walls[args.latency_ms]]),
                          "wall_without_latency_ms": summary([w * 1000 for w in walls[0]]),
                          "api_calls": calls,
                          "sequential_round_trips": round(added / (args.latency_ms / 1000), 1)}
    return {"scenario": "incident_latency", "runs": args.runs, "latency_ms_per_call": args.latency_ms, **results}


def terminate_bucket(args, idle):
    """Terminate's bucket and refill: as given, else EC2's documented shape (50 tokens refilled at
    5/s, ten seconds of refill) scaled so that ending `idle` connections takes about a minute."""
    if args.terminate_refill is None:
        scale = max(1, round(idle / 300))
        return args.terminate_bucket or 50 * scale, 5.0 * scale
    return args.terminate_bucket or 50, args.terminate_refill


def sweep(args, emulator, moto, size):
    """`size` connections over four endpoints, 30% idle for two hours, the rest connected minutes ago."""
    per = size // len(ENDPOINTS)
    endpoints = [{"clientVpnEndpointId": ep, "connections": [
        connection(e * per + i, f"user{e * per + i}", "2026-11-22T07:00:00Z" if (e * per + i) % 10 < 3 else "2026-11-22T08:50:00Z")
        for i in range(per)]} for e, ep in enumerate(ENDPOINTS)]
    idle = sum(1 for e in endpoints for c in e["connections"] if c["connectionEstablishedTime"].startswith("2026-11-22T07"))
    bucket, refill = terminate_bucket(args, idle)
    throttle = {"TerminateClientVpnConnections": {"throttle": {"bucket": bucket, "refillPerSecond": refill}},
                "DescribeClientVpnConnections": {"throttle": {"bucket": 100, "refillPerSecond": 20}},
                "DescribeClientVpnEndpoints": {"throttle": {"bucket": 100, "refillPerSecond": 20}}}
    table = f"bench-{size}"
    moto.create_table(table)
    env = {**base_env(emulator), "AWS_ENDPOINT_URL_DYNAMODB": moto.url, "CVPN_STATE_TABLE": table,
           "CVPN_IDLE_BYTES": "10000", "CVPN_MAX_SWEEP_TERMINATIONS": "1000000",
           "CVPN_CONCURRENCY": str(args.concurrency), "CVPN_MAX_ATTEMPTS": "20"}
    # Each run its own event: the same ID would be answered from the table as a duplicate.
    tick = lambda run: json.dumps({"version": "0", "id": f"bench-{size}-{run}", "detail-type": "Scheduled Event",
                                   "source": "aws.events", "account": "111122223333", "time": TICK,
                                   "region": "eu-west-1", "resources": [], "detail": {}})
    # Listing and state alone: the same sweep with nothing idle yet.
    emulator.reset(endpoints, {"seed": 1, "actions": throttle})
    describe_s, _, code, out = measured([args.function, "invoke", "--event", "-"], {**env, "CVPN_IDLE_MINUTES": "100000"}, tick("listing"))
    assert code == 0 and not json.loads(out)["terminated"], out[:500]
    walls, rss, calls, throttled, failed, answers = [], [], [], [], [], []
    log = tempfile.NamedTemporaryFile("r", suffix=".log")
    for run in range(args.sweep_runs):
        emulator.reset(endpoints, {"seed": 1, "actions": throttle})
        # The last run logs each ended session (one line each, at info), for the chart.
        last = run == args.sweep_runs - 1
        spawned = time.time()
        seconds, peak, code, out = measured([args.function, "invoke", "--event", "-"],
                                            {**env, "CVPN_IDLE_MINUTES": "60", **({"RUST_LOG": "info"} if last else {})},
                                            tick(run), log.name if last else None)
        r = json.loads(out) if out else {}
        stats = emulator.stats()
        # The answer lists at most CVPN_RESPONSE_MAX_ITEMS per list; its counts have them all.
        n = r.get("counts", {})
        assert n.get("terminated", 0) + n.get("deferred", 0) + n.get("failed", 0) == idle, (code, out[:500])
        assert emulator.ended() == n["terminated"]
        walls.append(seconds)
        rss.append(peak)
        calls.append(sum(s["calls"] for s in stats.values()))
        throttled.append(sum(s["throttled"] for s in stats.values()))
        failed.append(n["failed"])
        answers.append(len(out.encode()))
    bound = max(0, idle - bucket) / refill + describe_s
    ended_at = sorted(
        datetime.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp() - spawned
        for line in map(json.loads, filter(str.strip, open(log.name))) if line.get("event") == "connection_status")
    chart = os.path.join(args.root, "bench", f"sweep-{size}-{refill:g}.svg")
    with open(chart, "w") as f:
        f.write(svg(ended_at, idle, describe_s, bucket, refill, walls[-1], bound, size))
    return {"scenario": f"sweep_{size}", "runs": args.sweep_runs, "connections": size, "idle": idle,
            "terminate_bucket": bucket, "terminate_refill_per_s": refill,
            "wall_s": summary(walls), "describe_and_state_s": round(describe_s, 3), "lower_bound_s": round(bound, 3),
            "ratio_to_bound": round(statistics.median(walls) / bound, 3),
            "api_calls": int(statistics.median(calls)), "throttled_calls": int(statistics.median(throttled)),
            "failures": max(failed), "peak_rss_mib": summary(rss), "response_bytes": max(answers)}


def svg(ended_at, idle, describe_s, bucket, refill, wall, bound, size):
    """Terminations over time against the bound: the bucket's burst at the end of the listing,
    then its refill."""
    w, h, left, bottom = 640, 360, 60, 40
    span = max(wall, bound) * 1.05
    x = lambda t: left + (w - left - 20) * t / span
    y = lambda n: h - bottom - (h - bottom - 30) * n / idle
    step = max(1, len(ended_at) // 400)
    done = " ".join(f"{x(t):.1f},{y(i + 1):.1f}" for i, t in enumerate(ended_at) if i % step == 0 or i == len(ended_at) - 1)
    ideal = [(0, 0), (describe_s, 0), (describe_s, min(idle, bucket)), (bound, idle)]
    limit = " ".join(f"{x(t):.1f},{y(n):.1f}" for t, n in ideal)
    ticks = "".join(f'<text x="{x(t):.0f}" y="{h - bottom + 16}" font-size="11" text-anchor="middle">{t:g} s</text>'
                    for t in [round(span * k / 5, 1) for k in range(6)])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
            f'<rect width="{w}" height="{h}" fill="white"/>'
            f'<text x="{left}" y="18" font-size="13">sweep of {size:,} connections, {idle:,} ended; Terminate bucket {bucket:g}, '
            f'refill {refill:g}/s: {wall:.1f} s against {bound:.1f} s ({wall / bound:.2f}x)</text>'
            f'<line x1="{left}" y1="{h - bottom}" x2="{w - 20}" y2="{h - bottom}" stroke="black"/>'
            f'<line x1="{left}" y1="{h - bottom}" x2="{left}" y2="30" stroke="black"/>{ticks}'
            f'<text x="{left - 6}" y="{y(idle) + 4:.0f}" font-size="11" text-anchor="end">{idle:,}</text>'
            f'<text x="{left - 6}" y="{h - bottom}" font-size="11" text-anchor="end">0</text>'
            f'<polyline points="{limit}" fill="none" stroke="#999" stroke-dasharray="5,4"/>'
            f'<polyline points="{done}" fill="none" stroke="#1f6feb" stroke-width="2"/>'
            f'<text x="{w - 30}" y="{h - bottom - 10}" font-size="11" text-anchor="end" fill="#1f6feb">ended</text>'
            f'<text x="{w - 30}" y="{h - bottom - 24}" font-size="11" text-anchor="end" fill="#777">bound (bucket, then refill)</text></svg>\n')


def sizes(args):
    out = {"scenario": "size"}
    for arch, path in [("arm64", args.arm64), ("x86_64", args.function)]:
        data = open(path, "rb").read()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED, 9)
        out[arch] = {"bootstrap_bytes": len(data), "zip_bytes": len(buffer.getvalue())}
    return out


def table(results, machine):
    rows = [f"machine: {machine['cores']} cores, {machine['cpu']}, profile {machine['profile']}", ""]
    for r in results:
        s = r["scenario"]
        if s == "cold_start":
            rows.append(f"cold start (spawn -> response)  function {r['function_ms']['median']} ms, {r['function_peak_rss_mib']['median']:.1f} MiB | "
                        f"aws cli {r['aws_cli_ms']['median']} ms, {r['aws_cli_peak_rss_mib']['median']:.1f} MiB | {r['speedup']}x")
        elif s == "incident_latency":
            for k in ("configured_endpoints", "discovered_endpoints"):
                rows.append(f"incident, {k:<21} {r[k]['wall_ms']['median']} ms at {r['latency_ms_per_call']} ms/call, "
                            f"{r[k]['sequential_round_trips']} sequential round trips, {r[k]['api_calls']} calls")
        elif s.startswith("sweep"):
            rows.append(f"{s:<12} {r['idle']} idle: {r['wall_s']['median']} s (bound {r['lower_bound_s']} s, ratio {r['ratio_to_bound']}), "
                        f"{r['api_calls']} calls, {r['throttled_calls']} throttled, {r['failures']} failures, {r['peak_rss_mib']['median']:.1f} MiB, "
                        f"answer {r['response_bytes']:,} B")
        elif s == "connect_handler":
            rows.append(connect.row(r))
        elif s == "signals":
            rows.append(idp_signals.row(r))
        elif s.startswith("organization_limit"):
            rows.append(organization.limit_row(r))
        elif s.startswith("organization"):
            rows.append(organization.row(r))
        elif s == "size":
            for arch in ("arm64", "x86_64"):
                rows.append(f"size {arch:<7} bootstrap {r[arch]['bootstrap_bytes']:,} B, zip {r[arch]['zip_bytes']:,} B")
    return "\n".join(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--function", required=True, help="release cvpn-terminator for this machine")
    p.add_argument("--arm64", required=True, help="release cvpn-terminator for arm64 (size only)")
    p.add_argument("--emulator", required=True)
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--sweep-runs", type=int, default=3)
    p.add_argument("--sizes", default="10000,50000")
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--terminate-bucket", type=int, help="Terminate's bucket (default: 50, or scaled with the refill)")
    p.add_argument("--terminate-refill", type=float,
                   help="Terminate's refill per second (default: EC2's documented 50/5 scaled so the sweep takes about a minute)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--warm", type=int, default=200, help="warm connect decisions per run")
    p.add_argument("--floor", help="bench/floor.rs built: the connect handler's floor (what the harness and moto take)")
    p.add_argument("--org-sizes", default="1,100,2500", help="places of the emulated organization")
    p.add_argument("--org-runs", type=int, default=3)
    p.add_argument("--org-limit-accounts", default="2000,5000",
                   help="accounts of moto's Organizations for the organization_limit scenario (x five Regions)")
    p.add_argument("--scenarios", default="size,cold_start,incident,sweep,connect,signals,organization")
    args = p.parse_args()
    machine = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "profile": "release (lto, codegen-units=1, panic=abort)"}
    print(json.dumps({"scenario": "machine", **machine}), flush=True)
    emulator, moto = Emulator(args.emulator), Moto()
    results = []
    try:
        chosen = args.scenarios.split(",")
        scenarios = [("size", lambda: sizes(args)), ("cold_start", lambda: cold_start(args, emulator)),
                     ("incident", lambda: incident(args, emulator))] + \
                    [("sweep", lambda n=int(n): sweep(args, emulator, moto, n)) for n in args.sizes.split(",") if n] + \
                    [("connect", lambda: connect.scenario(args, moto, base_env(emulator), summary, peak_rss)),
                     ("signals", lambda: idp_signals.scenario(args, emulator, moto, base_env(emulator), ENDPOINTS))] + \
                    [("organization", lambda n=int(n): organization.scenario(args, emulator, moto, n))
                     for n in args.org_sizes.split(",") if n] + \
                    [("organization_limit", lambda n=int(n): organization.limit(args, emulator, moto, n))
                     for n in args.org_limit_accounts.split(",") if n]
        for name, run in scenarios:
            if name not in chosen:
                continue
            results.append(run())
            print(json.dumps(results[-1]), flush=True)
    finally:
        emulator.close()
        moto.close()
    print()
    print(table(results, machine))


if __name__ == "__main__":
    sys.exit(main())
