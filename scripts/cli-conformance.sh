#!/usr/bin/env bash
# Conformance of the emulator binary with a client nobody here wrote: the AWS CLI (botocore).
# Usage: scripts/cli-conformance.sh PATH/TO/cvpn-emulator
set -euo pipefail
emulator_bin=${1:?usage: cli-conformance.sh PATH/TO/cvpn-emulator}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

ep=cvpn-endpoint-0123456789abcdef0
# alice: 2 connections, bob: 1, carol: 6, and 30 others so that pagination at 5 takes 8 pages.
python3 - "$work/state.json" "$ep" <<'PY'
import json, sys
path, ep = sys.argv[1:]
users = ["alice", "alice", "bob"] + ["carol"] * 6 + [f"user{i}" for i in range(30)]
conns = [{"connectionId": f"cvpn-connection-{i:017x}", "username": u, "commonName": u,
          "clientIp": f"10.100.0.{i + 2}", "status": "active",
          "connectionEstablishedTime": "2026-11-22T08:00:00Z", "ingressBytes": 1200, "egressBytes": 3400}
         for i, u in enumerate(users)]
json.dump({"endpoints": [{"clientVpnEndpointId": ep, "clientCidrBlock": "10.100.0.0/16", "connections": conns}]},
          open(path, "w"))
PY

exec 3< <(exec "$emulator_bin" --listen 127.0.0.1:0 --state "$work/state.json" --terminate-delay 0)
pid=$!
read -r addr <&3
export AWS_ENDPOINT_URL_EC2="http://$addr" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example \
  AWS_DEFAULT_REGION=eu-west-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
fail() { echo "cli-conformance: FAILED: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }

count=$(aws ec2 describe-client-vpn-connections --client-vpn-endpoint-id "$ep" --page-size 5 --output json |
  python3 -c 'import json, sys; print(len({c["ConnectionId"] for c in json.load(sys.stdin)["Connections"]}))')
[ "$count" = 39 ] || fail "auto-paginated describe returned $count connections, expected 39"
ok "describe with auto-pagination at page size 5 returns all 39 connections"

out=$(aws ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$ep" --username alice --output json)
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
s = r["ConnectionStatuses"]
assert r["Username"] == "alice" and len(s) == 2, r
assert all(x["PreviousStatus"]["Code"] == "active" and x["CurrentStatus"]["Code"] == "terminating" for x in s), s
' "$out" || fail "terminate by username: $out"
ok "terminate by username ends both of alice's connections"

bob=cvpn-connection-00000000000000002
out=$(aws ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$ep" --connection-id "$bob" \
  --query 'ConnectionStatuses[0].[ConnectionId,PreviousStatus.Code,CurrentStatus.Code]' --output text)
[ "$out" = "$bob	active	terminating" ] || fail "terminate by connection ID: $out"
ok "terminate by connection ID"

expect_error() {
  local code=$1; shift
  local err
  if err=$(aws "$@" 2>&1 >/dev/null); then fail "expected $code from: aws $*"; fi
  grep -q "($code)" <<<"$err" || fail "expected $code, got: $err"
  ok "error $code read back by the CLI"
}
expect_error InvalidClientVpnConnection.UserNotFound ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$ep" --username alice
expect_error DryRunOperation ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$ep" --username user7 --dry-run
expect_error InvalidClientVpnEndpointId.NotFound ec2 describe-client-vpn-connections --client-vpn-endpoint-id cvpn-endpoint-00000000000000000
expect_error ClientVpnTerminateConnectionsLimitExceeded ec2 terminate-client-vpn-connections --client-vpn-endpoint-id "$ep" --username carol

state=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "http://$addr/_emulator/state")
python3 -c '
import json, sys
conns = json.loads(sys.argv[1])["endpoints"][0]["connections"]
ended = sorted(c["username"] for c in conns if c["status"] != "active")
assert ended == ["alice", "alice", "bob"], ended
' "$state" || fail "GET /_emulator/state does not show exactly alice's and bob's connections ended"
ok "GET /_emulator/state shows the terminated connections and nothing else"
echo "cli-conformance: $passed passed, 0 failed"
