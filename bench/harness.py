"""What every benchmark scenario stands on: the emulator and moto's server as processes, a Lambda
Runtime API for one invocation, running a command under GNU time, the fleets the scenarios end
sessions in, and the environment the function runs with."""
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENDPOINTS = [f"cvpn-endpoint-{i:017x}" for i in range(0xA, 0xE)]
TICK = "2026-11-22T09:00:00Z"


def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def measured(cmd, env, stdin_text=None, log=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS in MiB, exit code, stdout). Its log lines
    go to `log`, a file, when given."""
    with tempfile.NamedTemporaryFile("r") as rss, open(log or os.devnull, "w") as err:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], env=env, input=(stdin_text or "").encode(),
                           stdout=subprocess.PIPE, stderr=err)
        seconds = time.perf_counter() - start
        return seconds, int(rss.read().split()[-1]) / 1024, p.returncode, p.stdout.decode()


def peak_rss(pid):
    """VmHWM of a live process, in MiB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def connection(n, user, established, total=200):
    return {"connectionId": f"cvpn-connection-{n:017x}", "username": user, "commonName": user,
            "clientIp": f"10.{100 + n // 65536 % 100}.{n // 256 % 256}.{n % 256}", "status": "active",
            "connectionEstablishedTime": established, "ingressBytes": total // 2, "egressBytes": total - total // 2}


class Emulator:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--terminate-delay", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = "http://" + self.proc.stdout.readline().strip()

    def reset(self, endpoints, faults=None):
        http("PUT", self.url + "/_emulator/state", {"endpoints": endpoints})
        http("PUT", self.url + "/_emulator/faults", faults or {})
        http("DELETE", self.url + "/_emulator/stats")
        http("POST", self.url + "/_emulator/clock", {"now": TICK})

    def stats(self):
        return http("GET", self.url + "/_emulator/stats")

    def ended(self):
        state = http("GET", self.url + "/_emulator/state")
        return sum(c["status"] != "active" for e in state["endpoints"] for c in e["connections"])

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Moto:
    def __init__(self):
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "http://" in line:
                self.url = line[line.index("http://"):].strip()
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def create_table(self, name):
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.CreateTable",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20261122/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"}
        http("POST", self.url, {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}, headers)

    def close(self):
        self.proc.kill()
        self.proc.wait()


class RuntimeApi:
    """The Lambda Runtime API for one invocation at a time: /next hands out the event once, then
    holds the caller until the process is killed; /response records when the answer arrived."""

    def __init__(self):
        api = self
        self.event = None
        self.answered = threading.Event()
        self.response = None
        self.answered_at = None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if api.event is None:
                    threading.Event().wait(60)
                    return
                body, api.event = json.dumps(api.event).encode(), None
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:111122223333:function:cvpn-terminator")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                api.answered_at = time.perf_counter()
                api.response = (self.path, body.decode())
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                api.answered.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, binary, env, event):
        """Spawns the function as Lambda would; returns (seconds to the posted response, peak RSS MiB, response)."""
        self.event, self.response = event, None
        self.answered.clear()
        start = time.perf_counter()
        lambda_env = {"AWS_LAMBDA_RUNTIME_API": self.address, "AWS_LAMBDA_FUNCTION_NAME": "cvpn-terminator",
                      "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}
        p = subprocess.Popen([binary], env={**env, **lambda_env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not self.answered.wait(30):
            p.kill()
            raise RuntimeError("the function posted no response within 30 s")
        seconds = self.answered_at - start
        rss = peak_rss(p.pid)
        p.send_signal(signal.SIGKILL)
        p.wait()
        path, body = self.response
        if not path.endswith("/response"):
            raise RuntimeError(f"the function reported an error: {body}")
        return seconds, rss, json.loads(body)


def summary(values):
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}


def base_env(emulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVPN_", "AWS_"))}
    env.update({"AWS_ENDPOINT_URL_EC2": emulator.url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "",
                "RUST_LOG": "warn",
                # The termination path alone: what people are told comes after it, and is not timed.
                "CVPN_OUTCOME_BUS": "", "CVPN_FINDING_NOTES": "false"})
    return env


def four_endpoints(user):
    """Four endpoints of 1,000 connections, `user` with one session on each."""
    return [{"clientVpnEndpointId": ep, "connections":
             [connection(e * 10_000 + i, f"user{e}-{i}", "2026-11-22T08:00:00Z") for i in range(999)]
             + [connection(e * 10_000 + 999, user, "2026-11-22T08:00:00Z")]}
            for e, ep in enumerate(ENDPOINTS)]


def latency(ms):
    """The emulator's faults that make every call the incident path makes answer `ms` late."""
    return {"seed": 1, "actions": {a: {"latencyMs": ms} for a in
            ["DescribeClientVpnEndpoints", "DescribeClientVpnConnections", "TerminateClientVpnConnections"]}}
