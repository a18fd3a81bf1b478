"""An emulated organization: accounts x five Regions (1, 100 and 2,500 places), 24 endpoints of 50
connections spread over them, a person with a session on four of them, and every call (AssumeRole
included) answered 50 ms late. Measured, for each size: an incident's time to the last session
ended before any sweep (every place listed) and after one (the inventory), the sweep of every
place, and peak RSS. The targets are given as CVPN_TARGETS (an organization's kept list makes the
same targets); the inventory is kept in moto's DynamoDB."""
import json
import statistics

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


def state(size):
    """The emulated organization: every account with the target role, endpoints in an even spread
    of places, the person's sessions on four of them."""
    where = places(size)
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


def scenario(args, emulator, moto, size):
    world, person = state(size)
    targets = ",".join(f"arn:aws:iam::{a}:role/{ROLE}@{r}" for a, r in places(size))
    finding = json.load(open(f"{args.root}/events/guardduty-iam-assumed-role.json"))
    finding["detail"]["resource"]["accessKeyDetails"]["principalId"] = f"AROAEXAMPLEEXAMPLE0001:{PERSON}"
    env = {**base_env(emulator), "AWS_ENDPOINT_URL_STS": emulator.url, "AWS_ENDPOINT_URL_DYNAMODB": moto.url,
           "CVPN_TARGETS": targets, "CVPN_IDENTITY_ACCOUNTS": "111122223333", "CVPN_QUARANTINE_MINUTES": "0",
           "CVPN_MAX_SESSION_MINUTES": "100000", "CVPN_MAX_ATTEMPTS": "3"}
    runs = {}
    for label in ("before_inventory", "sweep", "with_inventory"):
        runs[label] = {"wall_s": [], "rss": [], "calls": []}
    for run in range(args.org_runs):
        table = f"org-{size}-{run}"
        moto.create_table(table)
        for label in ("before_inventory", "sweep", "with_inventory"):
            http("PUT", emulator.url + "/_emulator/state", world)
            http("PUT", emulator.url + "/_emulator/faults", faults(args.latency_ms))
            http("DELETE", emulator.url + "/_emulator/stats")
            if label == "sweep":
                event = {"version": "0", "id": f"tick-{size}-{run}", "detail-type": "Scheduled Event",
                         "source": "aws.events", "account": "111122223333", "time": "2026-11-22T09:00:00Z",
                         "region": "eu-west-1", "resources": [], "detail": {}}
            else:
                event = {**finding, "id": f"{label}-{size}-{run}"}
            seconds, peak, code, out = measured([args.function, "invoke", "--event", "-"],
                                                {**env, "CVPN_STATE_TABLE": table}, json.dumps(event))
            r = json.loads(out) if out else {}
            ended = len(r.get("terminated", []))
            assert code == 0 and (label == "sweep" or ended == person), (label, code, ended, out[:400])
            stats = http("GET", emulator.url + "/_emulator/stats")
            runs[label]["wall_s"].append(seconds)
            runs[label]["rss"].append(peak)
            runs[label]["calls"].append(sum(s["calls"] for s in stats.values()))
    result = {"scenario": f"organization_{size}", "places": size, "endpoints": ENDPOINTS, "sessions_of_the_person": person,
              "latency_ms_per_call": args.latency_ms, "runs": args.org_runs}
    for label, m in runs.items():
        wall = statistics.median(m["wall_s"])
        result[label] = {"wall_s": round(wall, 3),
                         "round_trips": round(wall / (args.latency_ms / 1000), 1),
                         "api_calls": int(statistics.median(m["calls"])),
                         "peak_rss_mib": round(max(m["rss"]), 1)}
    return result


def row(r):
    parts = [f"{label} {r[label]['wall_s']} s ({r[label]['api_calls']} calls)" for label in ("before_inventory", "sweep", "with_inventory")]
    return (f"organization of {r['places']:>5} places at {r['latency_ms_per_call']} ms/call: " + ", ".join(parts)
            + f"; peak {max(r[k]['peak_rss_mib'] for k in ('before_inventory', 'sweep', 'with_inventory'))} MiB")
