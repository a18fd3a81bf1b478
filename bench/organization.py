"""An emulated organization: accounts x five Regions (1, 100 and 2,500 places), 24 endpoints of 50
connections spread over them, a person with a session on four of them, and every call (AssumeRole
included) answered 50 ms late. Measured, for each size: an incident's time to its exit and to the
last session ended (its log line) before any sweep (every place listed) and after one (the inventory), the sweep of every
place, and peak RSS. The targets are given as CVPN_TARGETS (an organization's kept list makes the
same targets); the inventory is kept in moto's DynamoDB."""
import datetime
import json
import statistics
import tempfile
import time

from harness import base_env, connection, http, measured

REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"]
# A short role name: 2,500 targets must fit in one environment string (128 KiB), the very limit
# CVPN_ORGANIZATION_REGIONS exists for.
ROLE = "t"
PERSON = "mallory@example.com"
ENDPOINTS = 24


def places(size):
    """`size` places as (account, Region), five Regions an account."""
    return [(f"{100000000000 + i // len(REGIONS)}", REGIONS[i % len(REGIONS)]) for i in range(size)]


def state(where):
    """The emulated organization of the places `where`: every account with the target role,
    endpoints in an even spread of places, the person's sessions on four of them."""
    size = len(where)
    chosen = sorted({where[(i * 7919) % size] for i in range(ENDPOINTS)})
    accounts = {}
    for account, _ in where:
        accounts.setdefault(account, {"accountId": account, "roles": [{"roleName": ROLE}], "regions": {}})
    for n, (account, region) in enumerate(chosen):
        conns = [connection(n * 1000 + i, f"user{n}-{i}", "2026-11-22T08:00:00Z") for i in range(49)]
        if n % max(1, len(chosen) // 4) == 0:
            conns.append(connection(n * 1000 + 999, PERSON, "2026-11-22T08:00:00Z"))
        endpoint = {"clientVpnEndpointId": f"cvpn-endpoint-{n + 1:017x}", "connections": conns}
        accounts[account]["regions"].setdefault(region, {"endpoints": []})["endpoints"].append(endpoint)
    person = sum(1 for a in accounts.values() for r in a["regions"].values() for e in r["endpoints"]
                 for c in e["connections"] if c["username"] == PERSON)
    return {"endpoints": [], "accounts": list(accounts.values())}, person


def faults(ms):
    return {"seed": 1, "actions": {a: {"latencyMs": ms} for a in
            ["AssumeRole", "GetCallerIdentity", "DescribeClientVpnEndpoints", "DescribeClientVpnConnections",
             "TerminateClientVpnConnections"]}}


def env_of(emulator, moto, **settings):
    """The function's environment in every organization scenario: STS at the emulator, the table at
    moto, sweeps that end nothing, and `settings`."""
    return {**base_env(emulator), "AWS_ENDPOINT_URL_STS": emulator.url, "AWS_ENDPOINT_URL_DYNAMODB": moto.url,
            "CVPN_IDENTITY_ACCOUNTS": "111122223333", "CVPN_QUARANTINE_MINUTES": "0",
            "CVPN_MAX_SESSION_MINUTES": "100000", "CVPN_MAX_ATTEMPTS": "3", **settings}


def reset(emulator, world, latency_ms):
    """The emulator with `world`, every call `latency_ms` late, its counts at zero."""
    http("PUT", emulator.url + "/_emulator/state", world)
    http("PUT", emulator.url + "/_emulator/faults", faults(latency_ms))
    http("DELETE", emulator.url + "/_emulator/stats")


def tick(event_id):
    """A scheduled tick: a sweep of every place."""
    return {"version": "0", "id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": "2026-11-22T09:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {}}


def scenario(args, emulator, moto, size):
    world, person = state(places(size))
    targets = ",".join(f"arn:aws:iam::{a}:role/{ROLE}@{r}" for a, r in places(size))
    finding = json.load(open(f"{args.root}/events/guardduty-iam-assumed-role.json"))
    finding["detail"]["resource"]["accessKeyDetails"]["principalId"] = f"AROAEXAMPLEEXAMPLE0001:{PERSON}"
    env = env_of(emulator, moto, CVPN_TARGETS=targets)
    runs = {}
    for label in ("before_inventory", "sweep", "with_inventory"):
        runs[label] = {"wall_s": [], "ended_s": [], "rss": [], "calls": []}
    for run in range(args.org_runs):
        table = f"org-{size}-{run}"
        moto.create_table(table)
        for label in ("before_inventory", "sweep", "with_inventory"):
            reset(emulator, world, args.latency_ms)
            if label == "sweep":
                event = tick(f"tick-{size}-{run}")
            else:
                event = {**finding, "id": f"{label}-{size}-{run}"}
            # Each ended session has its log line (at info) when its Terminate answers: the last
            # one's time is the incident's time to the last session ended.
            with tempfile.NamedTemporaryFile("r") as log:
                spawned = time.time()
                seconds, peak, code, out = measured([args.function, "invoke", "--event", "-"],
                                                    {**env, "CVPN_STATE_TABLE": table, "RUST_LOG": "info"},
                                                    json.dumps(event), log.name)
                ended_at = [at(line) - spawned for line in map(json.loads, filter(str.strip, log))
                            if line.get("event") == "connection_status"]
            r = json.loads(out) if out else {}
            ended = len(r.get("terminated", []))
            assert code == 0 and (label == "sweep" or ended == person), (label, code, ended, out[:400])
            stats = http("GET", emulator.url + "/_emulator/stats")
            runs[label]["wall_s"].append(seconds)
            if label != "sweep":
                runs[label]["ended_s"].append(max(ended_at))
            runs[label]["rss"].append(peak)
            runs[label]["calls"].append(sum(s["calls"] for s in stats.values()))
    result = {"scenario": f"organization_{size}", "places": size, "endpoints": ENDPOINTS, "sessions_of_the_person": person,
              "latency_ms_per_call": args.latency_ms, "runs": args.org_runs}
    for label, m in runs.items():
        wall = statistics.median(m["wall_s"])
        ended = statistics.median(m["ended_s"]) if m["ended_s"] else None
        result[label] = {"wall_s": round(wall, 3), "round_trips": round_trips(wall, args.latency_ms),
                         **({"last_ended_s": round(ended, 3), "round_trips_to_last_ended": round_trips(ended, args.latency_ms)}
                            if ended is not None else {}),
                         "api_calls": int(statistics.median(m["calls"])),
                         "peak_rss_mib": round(max(m["rss"]), 1)}
    return result


def organization_of(moto, accounts):
    """moto's Organizations with `accounts` accounts (the management account among them): their IDs."""
    import boto3
    org = boto3.client("organizations", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    try:
        org.create_organization(FeatureSet="ALL")
    except org.exceptions.AlreadyInOrganizationException:
        pass
    listed = lambda: [a["Id"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    have = len(listed())
    for n in range(have, accounts):
        org.create_account(AccountName=f"bench-{n}", Email=f"bench-{n}@example.com")
    return sorted(listed())


def limit(args, emulator, moto, accounts):
    """Where one invocation stops holding a sweep: the organization read from moto's Organizations
    (too many places for CVPN_TARGETS), `accounts` accounts x five Regions, every EC2 and STS call
    --latency-ms late; one sweep of every place, its time, calls and peak RSS, and how many places
    would fit in Lambda's 15 minutes at that pace."""
    ids = organization_of(moto, accounts)
    where = [(a, r) for a in ids for r in REGIONS]
    world, _ = state(where)
    table = f"org-limit-{len(ids)}"
    moto.create_table(table)
    reset(emulator, world, args.latency_ms)
    env = env_of(emulator, moto, AWS_ENDPOINT_URL_ORGANIZATIONS=moto.url, CVPN_ORGANIZATION_REGIONS=",".join(REGIONS),
                 CVPN_TARGET_ROLE_NAME=ROLE, CVPN_STATE_TABLE=table)
    seconds, peak, code, out = measured([args.function, "invoke", "--event", "-"], env,
                                        json.dumps(tick(f"limit-{len(ids)}")))
    r = json.loads(out) if out else {}
    assert code == 0 and not r.get("errors"), (code, out[:600])
    stats = http("GET", emulator.url + "/_emulator/stats")
    per_place = seconds / len(where)
    return {"scenario": f"organization_limit_{len(where)}", "accounts": len(ids), "places": len(where),
            "latency_ms_per_call": args.latency_ms, "sweep_s": round(seconds, 2),
            "api_calls": sum(s["calls"] for s in stats.values()), "peak_rss_mib": round(peak, 1),
            "ms_per_place": round(per_place * 1000, 2),
            "places_in_15_minutes": int((900 - 5) / per_place)}


def round_trips(seconds, latency_ms):
    """Sequential calls that `seconds` would hold at `latency_ms` a call (none without latency)."""
    return round(seconds / (latency_ms / 1000), 1) if latency_ms else None


def at(line):
    """A log line's time, in seconds since the epoch."""
    return datetime.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def limit_row(r):
    return (f"organization of {r['places']:>5} places from Organizations at {r['latency_ms_per_call']} ms/call: sweep "
            f"{r['sweep_s']} s ({r['api_calls']} calls, {r['ms_per_place']} ms a place), peak {r['peak_rss_mib']} MiB; "
            f"at this pace 15 minutes hold {r['places_in_15_minutes']:,} places")


def row(r):
    parts = [f"{label} {r[label]['wall_s']} s ({r[label]['api_calls']} calls"
             + (f", last session ended at {r[label]['last_ended_s']} s" if "last_ended_s" in r[label] else "") + ")"
             for label in ("before_inventory", "sweep", "with_inventory")]
    return (f"organization of {r['places']:>5} places at {r['latency_ms_per_call']} ms/call: " + ", ".join(parts)
            + f"; peak {max(r[k]['peak_rss_mib'] for k in ('before_inventory', 'sweep', 'with_inventory'))} MiB")
