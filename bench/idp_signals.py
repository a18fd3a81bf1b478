"""The IdP's signed word over the Function URL: (1) what verifying a Security Event Token costs,
cold (spawn -> answer, the key set fetched from loopback) and warm (event handed out -> answer, the
keys cached), for a token refused after its signature is checked (the verification alone) and one
accepted (verification and its jti written to moto's DynamoDB); (2) from the IdP's event to the
last session ended: a pushed account-disabled SET for a user with a session on each of four
endpoints of 1,000 connections, EC2 answering after a set latency, as bench/run.py's incident."""
import json
import os
import statistics
import subprocess
import sys
import time

from connect import WarmRuntimeApi
from harness import four_endpoints, latency, peak_rss, summary

TABLE = "bench-signals"
ISSUER, AUDIENCE = "https://example.okta.com", "https://vpn-signals.example.com/"
SAMPLE = "events/signal-ssf-account-disabled.json"
CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"


def start_jwks(root):
    p = subprocess.Popen([sys.executable, os.path.join(root, "scripts/signals.py"), "jwks"], stdout=subprocess.PIPE, text=True)
    return p, p.stdout.readline().strip()


def verification(args, env, signals, sample):
    refused = lambda: signals.resign(sample, lambda c: c.update(aud=["https://other.example/"]))
    accepted = lambda: signals.resign(sample, lambda c: c.update(events={CLAIMS_CHANGE: {}}))
    cold, warm_refused, warm_accepted, rss = [], [], [], []
    for _ in range(args.runs):
        # Signed before the clock starts: the IdP's cost, not the function's.
        first = refused()
        later = [(refused(), 400, warm_refused) if i % 2 else (accepted(), 202, warm_accepted) for i in range(args.warm)]
        api = WarmRuntimeApi()
        start = time.perf_counter()
        p = subprocess.Popen([args.function], env={**env, "AWS_LAMBDA_RUNTIME_API": api.address},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            at, answer = api.answer(0, first)
            assert answer["statusCode"] == 400, answer
            cold.append((at - start) * 1000)
            for i, (event, status, into) in enumerate(later, 1):
                sent = time.perf_counter()
                at, answer = api.answer(i, event)
                assert answer["statusCode"] == status, answer
                into.append((at - sent) * 1000)
            rss.append(peak_rss(p.pid))
        finally:
            p.kill()
            p.wait()
            api.server.shutdown()
    return {"cold_refused_ms": summary(cold), "warm_refused_ms": summary(warm_refused),
            "warm_accepted_ms": summary(warm_accepted), "peak_rss_mib": summary(rss)}


def to_last_session(args, emulator, env, signals, sample):
    endpoints = four_endpoints("mallory")
    walls = {}
    for ms in (0, args.latency_ms):
        runs = []
        for _ in range(args.runs):
            emulator.reset(endpoints, latency(ms))
            event = signals.resign(sample, lambda c: c.update(sub_id={"format": "opaque", "id": "mallory"}))
            start = time.perf_counter()
            p = subprocess.run([args.function, "invoke", "--event", "-"], env=env, input=json.dumps(event),
                               capture_output=True, text=True)
            runs.append(time.perf_counter() - start)
            assert p.returncode == 0 and json.loads(p.stdout)["statusCode"] == 202, p.stdout + p.stderr
            assert emulator.ended() == 4, emulator.ended()
        walls[ms] = runs
    calls = sum(s["calls"] for s in emulator.stats().values())
    added = statistics.median(walls[args.latency_ms]) - statistics.median(walls[0])
    return {"wall_ms": summary([w * 1000 for w in walls[args.latency_ms]]),
            "wall_without_latency_ms": summary([w * 1000 for w in walls[0]]),
            "api_calls": calls, "sequential_round_trips": round(added / (args.latency_ms / 1000), 1)}


def scenario(args, emulator, moto, base_env, endpoint_ids):
    sys.path.insert(0, os.path.join(args.root, "scripts"))
    import signals

    moto.create_table(TABLE)
    jwks, url = start_jwks(args.root)
    sample = json.load(open(os.path.join(args.root, SAMPLE)))
    env = {**base_env, "AWS_ENDPOINT_URL_DYNAMODB": moto.url, "CVPN_STATE_TABLE": TABLE,
           "CVPN_SIGNAL_JWKS_URL": url, "CVPN_SIGNAL_ISSUER": ISSUER, "CVPN_SIGNAL_AUDIENCE": AUDIENCE,
           "CVPN_ENDPOINT_IDS": ",".join(endpoint_ids),
           "AWS_LAMBDA_FUNCTION_NAME": "cvpn-signals", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}
    try:
        return {"scenario": "signals", "runs": args.runs, "warm_requests_per_run": args.warm,
                "latency_ms_per_call": args.latency_ms,
                "verify": verification(args, env, signals, sample),
                "to_last_session": to_last_session(args, emulator, env, signals, sample)}
    finally:
        jwks.kill()
        jwks.wait()


def row(r):
    v, t = r["verify"], r["to_last_session"]
    return (f"signals  SET verify: cold {v['cold_refused_ms']['median']} ms (spawn, key fetch, verify), warm "
            f"{v['warm_refused_ms']['median']} ms refused / {v['warm_accepted_ms']['median']} ms accepted (jti written) | "
            f"SET -> last of 4 sessions ended {t['wall_ms']['median']} ms at {r['latency_ms_per_call']} ms/call, "
            f"{t['sequential_round_trips']} sequential round trips, {t['api_calls']} calls")
