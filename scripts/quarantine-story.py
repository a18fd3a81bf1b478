#!/usr/bin/env python3
"""Keeping a user out, the whole story through real parts: the function under `cargo lambda watch`
(invoked with boto3's Lambda client), Client VPN's API from the emulator (wired with boto3's
ModifyClientVpnEndpoint), the quarantine in moto's DynamoDB, and clients connecting through the
emulator, which calls the same function as its connect handler over the Lambda Invoke API.

A finding ends alice's sessions, and the security team gets the message the template's notification
rule writes (moto's EventBridge applies template.yaml's own input transformer, into an SQS queue in
place of the topic); alice's client reconnects and is refused; bob connects; a person releases
alice; alice connects again. Also `cvpn-terminator check` before and after the wiring.

Then the identity provider's word: Okta deactivates dave (its System Log through EventBridge), his
session ends and his reconnect is refused; Okta reactivates him and he connects. The IdP pushes a
Security Event Token (events/signal-ssf-account-disabled.json, signed again now with the demo key
whose public half scripts/signals.py serves on loopback): ivan's session ends and he is refused;
its account-enabled lets him back.

usage: quarantine-story.py PATH/TO/cvpn-emulator PATH/TO/cvpn-terminator
Needs boto3 and moto_server (scripts/requirements-test.txt) and cargo-lambda on PATH. Every process
it starts is stopped by its own process ID (cargo lambda watch: its process group)."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import yaml
from botocore.config import Config

EP_A = "cvpn-endpoint-0a1b2c3d4e5f60718"
EP_B = "cvpn-endpoint-0b1c2d3e4f5a60719"
HANDLER = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn-terminator"
ALICE = "alice@example.com"
TABLE = "cvpn-state"
CREDENTIALS = dict(region_name="eu-west-1", aws_access_key_id="story", aws_secret_access_key="story")

emulator_bin, function_bin = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
processes, groups = [], []
failures = 0


def notification_rule():
    """template.yaml's OutcomeRule, its CloudFormation tags read as plain values."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load(open(os.path.join(root, "template.yaml")), Loader)["Resources"]["OutcomeRule"]["Properties"]


def check(ok, what, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failures += 1
        print("  " + str(detail)[:2000])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as r:
        return json.loads(r.read() or b"null")


def start_moto():
    p = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", "0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    processes.append(p)
    for line in p.stderr:
        if "http://" in line:
            url = line[line.index("http://"):].strip()
            break
    else:
        raise SystemExit("moto_server exited before it listened")
    # Keep reading its log so that the pipe never fills.
    import threading
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return url


def start_jwks():
    p = subprocess.Popen([sys.executable, os.path.join(root, "scripts/signals.py"), "jwks"],
                         stdout=subprocess.PIPE, text=True)
    processes.append(p)
    return p.stdout.readline().strip()


def main():
    moto = start_moto()
    jwks = start_jwks()
    lambda_port = free_port()
    emulator = subprocess.Popen([emulator_bin, "--listen", "127.0.0.1:0", "--state", "events/emulator-state.json",
                                 "--lambda-url", f"http://127.0.0.1:{lambda_port}",
                                 "--lambda-function", "cvpn-terminator"],
                                stdout=subprocess.PIPE, text=True)
    processes.append(emulator)
    emu = "http://" + emulator.stdout.readline().strip()
    admin(emu + "/_emulator/clock", {"now": "2026-11-22T09:15:00Z"})

    dynamodb = boto3.client("dynamodb", endpoint_url=moto, **CREDENTIALS)
    dynamodb.create_table(TableName=TABLE, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})

    # The template's notification rule on moto's default bus, delivering to a queue in place of
    # the topic: the queue then holds the message people would get.
    rule = notification_rule()
    sqs = boto3.client("sqs", endpoint_url=moto, **CREDENTIALS)
    inbox = sqs.create_queue(QueueName="people")["QueueUrl"]
    events = boto3.client("events", endpoint_url=moto, **CREDENTIALS)
    # moto's events carry no `account`; the rest of the pattern is the template's.
    pattern = {k: v for k, v in rule["EventPattern"].items() if k != "account"}
    events.put_rule(Name="notifications", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="notifications", Targets=[{**rule["Targets"][0], "Arn": "arn:aws:sqs:eu-west-1:123456789012:people"}])

    env = {"AWS_ENDPOINT_URL_EC2": emu, "AWS_ENDPOINT_URL_DYNAMODB": moto, "AWS_ENDPOINT_URL_STS": moto,
           "AWS_ENDPOINT_URL_EVENTBRIDGE": moto,
           "AWS_ACCESS_KEY_ID": "story", "AWS_SECRET_ACCESS_KEY": "story", "AWS_REGION": "eu-west-1",
           "AWS_EC2_METADATA_DISABLED": "true", "CVPN_STATE_TABLE": TABLE, "CVPN_CONNECT_HANDLER_ARN": HANDLER,
           # moto's STS says 123456789012; the samples' principals are of 111122223333.
           "CVPN_IDENTITY_ACCOUNTS": "111122223333",
           "CVPN_DENY_MESSAGE": "Access suspended by the security team: call +1 555 0100.",
           # The IdP's word: the samples' Okta org and demo signing key.
           "CVPN_IDP_SOURCES": "aws.partner/okta.com/example/*", "CVPN_IDP_RELEASE_ON_REACTIVATE": "true",
           "CVPN_SIGNAL_JWKS_URL": jwks, "CVPN_SIGNAL_ISSUER": "https://example.okta.com",
           "CVPN_SIGNAL_AUDIENCE": "https://vpn-signals.example.com/"}

    def cli(*args):
        p = subprocess.run([function_bin, *args], env={**env, "PATH": os.environ["PATH"]}, capture_output=True,
                           text=True, cwd=root)
        return p.returncode, p.stdout, p.stderr

    code, out, err = cli("check")
    check(code == 1 and out.count('"enforces_quarantine":false') == 2 and "modify-client-vpn-endpoint" in err,
          "check: no endpoint calls the handler yet, and it says how to wire them", (code, out, err))

    ec2 = boto3.client("ec2", endpoint_url=emu, **CREDENTIALS)
    for endpoint in (EP_A, EP_B):
        ec2.modify_client_vpn_endpoint(ClientVpnEndpointId=endpoint,
                                       ClientConnectOptions={"Enabled": True, "LambdaFunctionArn": HANDLER})
    code, out, err = cli("check")
    check(code == 0 and out.count('"enforces_quarantine":true') == 2, "check: both endpoints wired", (code, out, err))

    log = tempfile.NamedTemporaryFile("w+", prefix="watch-", suffix=".log")
    watch_env = [a for k, v in env.items() for a in ("--env-var", f"{k}={v}")]
    watch = subprocess.Popen(["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port",
                              str(lambda_port), "--timeout", "900", *watch_env],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    groups.append(watch.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", lambda_port), 1).close()
            break
        except OSError:
            if watch.poll() is not None:
                raise SystemExit("cargo lambda watch exited:\n" + open(log.name).read())
            time.sleep(0.2)

    client = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{lambda_port}",
                          config=Config(read_timeout=900, retries={"max_attempts": 1}), **CREDENTIALS)

    def invoke(event):
        answer = client.invoke(FunctionName="cvpn-terminator", Payload=json.dumps(event).encode())
        return answer.get("FunctionError"), json.loads(answer["Payload"].read())

    def connect(user):
        return admin(f"{emu}/_emulator/endpoints/{EP_A}/connect", {"username": user, "commonName": user})

    finding = json.load(open(os.path.join(root, "events/guardduty-iam-assumed-role.json")))
    error, r = invoke(finding)
    held = [(q["name"], q["outcome"]) for q in r.get("quarantine", [])]
    check(error is None and len(r["terminated"]) == 3 and held == [(ALICE, "placed")] and not r["unenforced"],
          "a GuardDuty finding ends alice's three sessions and quarantines her", r)
    told = r.get("notifications", [])
    messages = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])]
    until = r["quarantine"][0]["until"] if r.get("quarantine") else "?"
    link = f"https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId={finding['detail']['id']}"
    check([(n["channel"], n["sent"]) for n in told] == [("outcome_event", True)] and messages == [
        f"Client VPN Sessions Terminated in account 123456789012 (eu-west-1): ended 3 sessions of {ALICE}; "
        f"quarantined {ALICE} until {until}. Why: UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS "
        f"(HIGH). See {link}"], "the security team gets one message: what, where, whom, why and a link", (told, messages))

    refused = connect(ALICE)
    check(not refused["allowed"] and refused["reason"] == "client-connect-failed"
          and "call +1 555 0100" in (refused.get("message") or ""),
          "alice's client reconnects and is refused with the deny message", refused)
    bob = connect("bob")
    check(bob["allowed"], "bob connects", bob)

    error, r = invoke({"Release": {"Username": ALICE, "RequestedBy": "soc-analyst@example.com"}})
    check(error is None and [(q["name"], q["outcome"], q.get("requested_by")) for q in r["quarantine"]]
          == [(ALICE, "released", "soc-analyst@example.com")], "a person releases alice", r)
    again = connect(ALICE)
    check(again["allowed"], "alice connects again", again)

    state = admin(emu + "/_emulator/state")
    a = next(e for e in state["endpoints"] if e["clientVpnEndpointId"] == EP_A)
    refusals = [(x.get("username"), x["reason"]) for x in a.get("refusedConnections", [])]
    active = sorted(c["username"] for c in a["connections"] if c["status"] == "active" and
                    c["connectionId"] in (bob["connectionId"], again["connectionId"]))
    check(refusals == [(ALICE, "client-connect-failed")] and active == sorted([ALICE, "bob"]),
          "the emulator recorded one refusal and the two new connections", (refusals, active))

    decisions = [json.loads(line[line.index("{"):]) for line in open(log.name)
                 if '"connect_decision"' in line and "{" in line]
    check([(d.get("username"), d.get("allowed"), d.get("reason")) for d in decisions] ==
          [(ALICE, False, "quarantined"), ("bob", True, "not_quarantined"), (ALICE, True, "not_quarantined")]
          and decisions[0].get("quarantine_finding") == finding["detail"]["id"],
          "one connect_decision log line per attempt, naming the finding that holds alice", decisions)
    idp_story(invoke, connect)
    if failures:
        print(open(log.name).read()[-5000:])


def idp_story(invoke, connect):
    """Okta's System Log and a pushed Security Event Token, out and back in."""
    sys.path.insert(0, os.path.join(root, "scripts"))
    import signals

    deactivated = json.load(open(os.path.join(root, "events/okta-user-deactivated.json")))
    error, r = invoke(deactivated)
    check(error is None and [t["username"] for t in r["terminated"]] == ["dave"]
          and [(q["name"], q["outcome"]) for q in r["quarantine"]] == [("dave", "placed")],
          "Okta deactivates dave: his session ends and he is held", r)
    refused = connect("dave")
    check(not refused["allowed"], "dave's client reconnects and is refused", refused)
    reactivated = json.loads(json.dumps(deactivated))
    reactivated["id"] += "-back"
    # Said now, after the hold: a "back in" Okta said before the hold was placed lifts nothing.
    said = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    reactivated["detail"].update(uuid="reactivated-dave", eventType="user.lifecycle.reactivate",
                                 published=said)
    error, r = invoke(reactivated)
    check(error is None and [(q["name"], q["outcome"]) for q in r["quarantine"]] == [("dave", "released")],
          "Okta reactivates dave: the hold its word placed is lifted", r)
    back = connect("dave")
    check(back["allowed"], "dave connects again", back)

    sample = json.load(open(os.path.join(root, "events/signal-ssf-account-disabled.json")))
    error, r = invoke(signals.resign(sample))
    check(error is None and r.get("statusCode") == 202, "a pushed account-disabled SET is accepted (202)", r)
    refused = connect("ivan")
    check(not refused["allowed"], "ivan is refused", refused)
    enabled = "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
    error, r = invoke(signals.resign(sample, lambda c: c.update(events={enabled: {}})))
    check(error is None and r.get("statusCode") == 202, "the IdP's account-enabled SET is accepted", r)
    back = connect("ivan")
    check(back["allowed"], "ivan connects again", back)
    forged = signals.resign(sample, lambda c: c.update(iss="https://evil.example"))
    error, r = invoke(forged)
    check(error is None and r.get("statusCode") == 400 and json.loads(r["body"])["err"] == "invalid_issuer",
          "a token of another issuer is refused with RFC 8935's invalid_issuer", r)


try:
    main()
finally:
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in processes:
        p.kill()
        p.wait()
print(f"quarantine-story: {'failed' if failures else 'passed'}")
sys.exit(1 if failures else 0)
