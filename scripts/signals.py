#!/usr/bin/env python3
"""The demo's identity provider for the Function URL samples (events/signal-*.json).

  signals.py jwks              serves events/keys/demo-jwks.json on loopback; prints its URL
  signals.py sign IN OUT       re-signs IN's token as the IdP would send it now (fresh iat, exp,
                               jti) with events/keys/demo-signing-key.pem, and writes OUT

The demo key is a demo's only: its private half is in this repository, so nothing should ever
trust it beyond this machine (the function fetches keys over plain HTTP from loopback only).
Needs joserfc (in the test virtualenv, scripts/venvs.sh).
"""
import base64
import http.server
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "events" / "keys"


def jwks():
    body = (KEYS / "demo-jwks.json").read_bytes()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Keys)
    print(f"http://127.0.0.1:{server.server_address[1]}/keys", flush=True)
    server.serve_forever()


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token):
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def resign(request, change=None):
    """`request` (a Function URL sample) with its token signed again as the IdP would send it
    now: fresh iat, exp and jti, and `change(claims)` applied."""
    from joserfc import jwt
    from joserfc.jwk import ECKey

    key = ECKey.import_key((KEYS / "demo-signing-key.pem").read_bytes())
    request = json.loads(json.dumps(request))
    bearer = request["headers"].get("authorization")
    token = bearer.split(" ", 1)[1] if bearer else request["body"]
    header, claims = header_of(token), claims_of(token)
    now = int(time.time())
    claims.update(iat=now, jti=str(uuid.uuid4()))
    if "exp" in claims:
        claims.update(exp=now + 300, nbf=now - 60)
    if change:
        change(claims)
    fresh = jwt.encode(header, claims, key)
    if bearer:
        request["headers"]["authorization"] = f"Bearer {fresh}"
    else:
        request["body"] = fresh
    return request


def sign(source, target):
    request = resign(json.loads(Path(source).read_text()))
    Path(target).write_text(json.dumps(request, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["jwks"]:
        jwks()
    elif sys.argv[1:2] == ["sign"] and len(sys.argv) == 4:
        sign(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
