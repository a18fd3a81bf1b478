"""The connect handler's benchmark: cold start (spawn -> first answer) and warm decision time (event
handed out -> answer posted) of the release function, beside bench/connect_handler.py (Python and
boto3, the same lookup) against the same moto DynamoDB table on loopback, under one Runtime API."""
import json
import statistics
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TABLE = "bench-quarantine"
ALICE = "alice@example.com"


class WarmRuntimeApi:
    """The Lambda Runtime API for one process and many invocations: /next waits for the next queued
    event; /response records when its answer arrived."""

    def __init__(self):
        api = self
        self.events = queue.Queue()
        self.answers = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Replies go out whole and at once: with Nagle's algorithm, a body written after its
            # headers waits for the client's delayed ACK (40 ms on Linux), which Lambda's own
            # Runtime API does not add.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                number, event = api.events.get()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", f"bench-{number}")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-bench")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.perf_counter()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                api.answers.put((at, self.path, body.decode()))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def answer(self, number, event):
        self.events.put((number, event))
        at, path, body = self.answers.get(timeout=30)
        if not path.endswith("/response"):
            raise RuntimeError(f"the handler reported an error: {body}")
        return at, json.loads(body)


def request(user):
    return {"connection-id": "cvpn-connection-0000000000c0ffee1", "endpoint-id": "cvpn-endpoint-0a1b2c3d4e5f60718",
            "common-name": user, "username": user, "platform": "linux", "platform-version": "6.8",
            "public-ip": "198.51.100.10", "client-openvpn-version": "2.6.12", "schema-version": "v1"}


def measure(cmd, env, runs, warm, peak_rss):
    """Per run: a fresh process answers one request cold, then `warm` more; returns cold and warm
    times in ms and the process's peak RSS."""
    cold, hot, rss = [], [], []
    for run in range(runs):
        api = WarmRuntimeApi()
        start = time.perf_counter()
        p = subprocess.Popen(cmd, env={**env, "AWS_LAMBDA_RUNTIME_API": api.address}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            at, answer = api.answer(0, request(ALICE))
            assert answer["allow"] is False, answer
            cold.append((at - start) * 1000)
            for i in range(1, warm + 1):
                user = ALICE if i % 2 else f"user{i}"
                sent = time.perf_counter()
                at, answer = api.answer(i, request(user))
                assert answer["allow"] is (user != ALICE), answer
                hot.append((at - sent) * 1000)
            rss.append(peak_rss(p.pid))
        finally:
            p.kill()
            p.wait()
            api.server.shutdown()
    return cold, hot, rss


def scenario(args, moto, base_env, summary, peak_rss):
    moto.create_table(TABLE)
    # One hold in force for alice, written as the function writes it.
    import boto3
    dynamodb = boto3.client("dynamodb", endpoint_url=moto.url, region_name="eu-west-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")
    now = int(time.time())
    dynamodb.put_item(TableName=TABLE, Item={
        "pk": {"S": f"quarantine#username#{ALICE}"}, "kind": {"S": "quarantine"}, "subjectKind": {"S": "username"},
        "name": {"S": ALICE}, "since": {"N": str(now)}, "expiresAt": {"N": str(now + 86400)},
        "reason": {"S": "bench"}, "findingId": {"S": "bench-finding"}})
    env = {**base_env, "AWS_ENDPOINT_URL_DYNAMODB": moto.url, "CVPN_STATE_TABLE": TABLE,
           "AWS_LAMBDA_FUNCTION_NAME": "AWSClientVPN-bench", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}
    out = {"scenario": "connect_handler", "runs": args.runs, "warm_decisions_per_run": args.warm}
    handlers = [("rust", [args.function]),
                ("python_boto3", [sys.executable, f"{args.root}/bench/connect_handler.py"])]
    # The floor (bench/floor.rs): what the harness and moto take for any handler.
    if args.floor:
        handlers.append(("floor", [args.floor]))
    seen = {label: ([], [], []) for label, _ in handlers}
    # Run by run, each handler in turn: this machine's speed drifts, and a handler measured minutes
    # after another would carry the drift into the comparison.
    for _ in range(args.runs):
        for label, cmd in handlers:
            floor = label == "floor"
            cold, warm, rss = measure(cmd, env, 1, 0 if floor else args.warm, (lambda pid: 0) if floor else peak_rss)
            for kept, new in zip(seen[label], (cold, warm, rss)):
                kept.extend(new)
    for label, (cold, warm, rss) in seen.items():
        out[label] = {"cold_ms": summary(cold)} if label == "floor" else \
            {"cold_ms": summary(cold), "warm_ms": summary(warm), "peak_rss_mib": summary(rss)}
    out["cold_speedup"] = round(out["python_boto3"]["cold_ms"]["median"] / out["rust"]["cold_ms"]["median"], 1)
    if args.floor:
        # Each handler's own start: its cold time less the floor's in the same run.
        own = {k: statistics.median(c - f for c, f in zip(seen[k][0], seen["floor"][0]))
               for k in ("rust", "python_boto3")}
        out["own_cold_ms"] = {k: round(v, 1) for k, v in own.items()}
        out["own_cold_speedup"] = round(own["python_boto3"] / own["rust"], 1) if own["rust"] > 0 else None
    out["warm_speedup"] = round(out["python_boto3"]["warm_ms"]["median"] / out["rust"]["warm_ms"]["median"], 1)
    return out


def row(r):
    rust, py = r["rust"], r["python_boto3"]
    return (f"connect handler  cold: rust {rust['cold_ms']['median']} ms, python/boto3 {py['cold_ms']['median']} ms "
            f"({r['cold_speedup']}x) | warm decision: rust {rust['warm_ms']['median']} ms, python/boto3 "
            f"{py['warm_ms']['median']} ms ({r['warm_speedup']}x) | peak RSS {rust['peak_rss_mib']['median']:.1f} / "
            f"{py['peak_rss_mib']['median']:.1f} MiB"
            + (f" | floor (harness and moto alone) {r['floor']['cold_ms']['median']} ms, beyond it rust "
               f"{r['own_cold_ms']['rust']} ms, python/boto3 {r['own_cold_ms']['python_boto3']} ms "
               f"({r['own_cold_speedup']}x)" if "floor" in r else ""))
