#!/usr/bin/env bash
# The function under a Lambda Runtime API: `cargo lambda watch` (cargo-lambda's Runtime API emulator)
# runs it against the Client VPN emulator, and `cargo lambda invoke --data-file` sends it every
# event in events/, checking each response and, at the end, the emulator's state.
# Needs cargo-lambda on PATH (scripts/test puts it there) and a built cvpn-emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
emulator_bin=${1:?usage: runtime-loop.sh PATH/TO/cvpn-emulator}
work=$(mktemp -d)
pids=()
watch_group=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # cargo lambda watch runs the function as its own child: stop its whole process group.
  [ -z "$watch_group" ] || kill -- -"$watch_group" 2>/dev/null || true
  rm -rf "$work"
}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap cleanup EXIT

exec 3< <(exec "$emulator_bin" --listen 127.0.0.1:0 --state events/emulator-state.json)
pids+=($!)
read -r addr <&3
# The samples' "now": the sweep samples' tick is 09:15, and a sweep judges each connection at the
# time EC2 read its counters, which is the emulator's clock.
python3 - "http://$addr/_emulator/clock" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], json.dumps({"now": "2026-11-22T09:15:00Z"}).encode(),
                                 {"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
PY
# Outcome events go to the emulator, which refuses them: telling people fails, and acting must not.
# In a session (and process group) of its own, so cleanup stops it and the function it runs.
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --timeout 900 \
  --env-var "AWS_ENDPOINT_URL_EC2=http://$addr" --env-var AWS_ACCESS_KEY_ID=runtime-loop \
  --env-var AWS_SECRET_ACCESS_KEY=runtime-loop --env-var AWS_REGION=eu-west-1 \
  --env-var AWS_EC2_METADATA_DISABLED=true --env-var CVPN_MAX_SESSION_MINUTES=720 \
  --env-var "AWS_ENDPOINT_URL_EVENTBRIDGE=http://$addr" --env-var CVPN_FINDING_NOTES=false \
  --env-var CVPN_IDENTITY_ACCOUNTS=111122223333 \
  --env-var "CVPN_IDP_SOURCES=aws.partner/okta.com/example/*" \
  >"$work/watch.log" 2>&1 &
watch_group=$!
pids+=($!)
# The Runtime API listens at once; the function is compiled and picked up on the first invoke.
for _ in $(seq 1 300); do
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/watch.log"; echo "runtime-loop: cargo lambda watch exited"; exit 1; }
  sleep 0.2
done

passed=0
failed=0
for event in events/*.json; do
  name=$(basename "$event")
  [ "$name" = emulator-state.json ] && continue
  if cargo lambda invoke cvpn-terminator --invoke-address 127.0.0.1 --invoke-port "$port" \
      --data-file "$event" --output-format json >"$work/$name.out" 2>"$work/$name.err"; then
    status=0
  else
    status=$?
  fi
  if python3 - "$name" "$work/$name.out" "$status" <<'PY'
import json, sys
name, out, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
# What each sample does when run in this order against events/emulator-state.json.
expected = {
    "direct-connection-id.json": {"terminated": 1},
    "direct-dry-run.json": {"would_terminate": 1},
    "direct-username.json": {"terminated": 2},
    "guardduty-ec2-vpn-client-ip.json": {"terminated": 1},
    "guardduty-iam-assumed-role.json": {"terminated": 3},
    # No CVPN_IDENTITY_STORE_IDS here: no store's record acts (skipped, untrusted_source).
    "identity-center-disable-user.json": {},
    "okta-policy-entity-risk-action.json": {"terminated": 1},
    "okta-user-deactivated.json": {"terminated": 1},
    # frank's two sessions ended already (direct-username.json): nothing more to end.
    "okta-user-delete-completed.json": {},
    "okta-user-delete-initiated.json": {},
    "okta-user-session-clear.json": {"terminated": 1},
    "okta-user-suspended.json": {"terminated": 1},
    "scheduled-event.json": {"terminated": 1},
    "scheduler-sweep-override.json": {"would_terminate": 1},
    # dave (Okta deactivated him) and bob (Okta's risk policy) are out already.
    "securityhub-custom-action.json": {},
    "securityhub-imported.json": {},
    "securityhub-ocsf-v2.json": {"terminated": 1},
    # No CVPN_SIGNAL_* here: the Function URL's paths are not there, answered over HTTP.
    "signal-global-token-revocation.json": {"statusCode": 404},
    "signal-ssf-account-disabled.json": {"statusCode": 404},
}[name]
assert status == 0, f"cargo lambda invoke exited {status}"
r = json.load(open(out))
if "statusCode" in expected:
    assert r.get("statusCode") == expected["statusCode"], r
    sys.exit(0)
for key in ("terminated", "would_terminate", "failed", "deferred"):
    want = expected.get(key, 0)
    assert len(r[key]) == want, f"{key}: {len(r[key])} != {want} in {r}"
assert not r["errors"], r["errors"]
PY
  then
    passed=$((passed + 1)); echo "ok - $name"
  else
    failed=$((failed + 1)); echo "not ok - $name"; cat "$work/$name.err" "$work/$name.out"
  fi
done

if python3 - "http://$addr/_emulator/state" <<'PY'
import json, sys, urllib.request
state = json.load(urllib.request.urlopen(sys.argv[1]))
ended = sorted((c.get("username") or c.get("commonName")) for e in state["endpoints"] for c in e["connections"] if c["status"] != "active")
want = sorted(["alice@example.com"] * 3 + ["carol.devices.example.com", "bob", "dave", "erin", "frank", "frank", "grace", "grace", "heidi", "night-owl"])
assert ended == want, ended
PY
then
  passed=$((passed + 1)); echo "ok - emulator state: exactly the sampled users' connections ended"
else
  failed=$((failed + 1)); echo "not ok - emulator state"
fi
# The dashboard's figures: under Lambda the summary lines carry Embedded Metric Format.
if python3 - "$work/watch.log" <<'PY'
import json, sys
emf = []
for line in open(sys.argv[1], errors="replace"):
    start = line.find("{")
    try:
        l = json.loads(line[start:]) if start >= 0 else None
    except ValueError:
        continue
    if isinstance(l, dict) and l.get("event") == "summary":
        emf.append(l)
assert emf, "no summary line in the function's log"
for l in emf:
    d = l["_aws"]["CloudWatchMetrics"][0]
    assert d["Namespace"] == "CvpnTerminator" and d["Dimensions"] == [["Function"]], d
    assert isinstance(l["_aws"]["Timestamp"], int) and l["Function"], l
    assert all(isinstance(l[m["Name"]], (int, float)) for m in d["Metrics"]), l
assert all(l["SessionsEnded"] == l["terminated"] + l["unplanned"] for l in emf), emf
assert sum(l["SessionsEnded"] for l in emf) > 0, emf
PY
then
  passed=$((passed + 1)); echo "ok - every summary line carries its metrics (EMF)"
else
  failed=$((failed + 1)); echo "not ok - EMF on the summary lines"
fi
[ "$failed" = 0 ] || tail -50 "$work/watch.log"
echo "runtime-loop: $passed passed, $failed failed"
[ "$failed" = 0 ]
