#!/usr/bin/env python3
"""The reference the connect handler is measured against: the same decision in Python with boto3,
as a team would write it — one BatchGetItem over the username and common name, refuse while a hold
is in force — run by a minimal loop on the Lambda Runtime API (what the Python runtime's bootstrap
does), so that both start and answer under the same harness. Reads AWS_LAMBDA_RUNTIME_API,
CVPN_STATE_TABLE and the usual AWS variables."""
import json
import os
import time
import urllib.request

import boto3

TABLE = os.environ["CVPN_STATE_TABLE"]
dynamodb = boto3.client("dynamodb")  # at init, as Lambda handlers do
DENY = "Your VPN access is suspended while a security alert is investigated. Contact your security team to have it restored."


def handler(event, _context):
    keys = [{"pk": {"S": f"quarantine#{kind}#{event[field].strip().lower()}"}}
            for kind, field in (("username", "username"), ("common_name", "common-name")) if event.get(field, "").strip()]
    items = dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": keys, "ConsistentRead": True}})["Responses"].get(TABLE, [])
    held = any(int(i["expiresAt"]["N"]) > time.time() for i in items)
    return {"allow": not held, "error-msg-on-failed-posture-compliance": DENY if held else "",
            "posture-compliance-statuses": [], "schema-version": "v1"}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        body = json.dumps(handler(event, None)).encode()
        urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", body, method="POST")).read()


if __name__ == "__main__":
    main()
