"""Checks what scripts/sbom leaves beside a package: a CycloneDX 1.5 bill of materials of the
function's binary that lists the crates it ships (the AWS SDKs, the JWT verifier), none that only
tests or the emulator use, each with a version, a licence and crates.io's SHA-256; and SHA256SUMS
that match every file there. Usage: check-sbom.py DIR"""
import hashlib
import json
import os
import sys

checks = []


def check(name, ok):
    checks.append((name, bool(ok)))


where = sys.argv[1]
bom = json.load(open(os.path.join(where, "cvpn-terminator.cdx.json")))
components = {c["name"]: c for c in bom.get("components", [])}
check("CycloneDX 1.5 of the cvpn-terminator binary",
      bom.get("bomFormat") == "CycloneDX" and bom.get("specVersion") == "1.5"
      and bom["metadata"]["component"]["name"] == "cvpn-terminator")
check("it lists what the function ships",
      {"aws-sdk-ec2", "aws-sdk-dynamodb", "lambda_runtime", "jsonwebtoken", "tokio"} <= set(components))
check("and nothing only tests or the emulator use",
      not {"proptest", "aws-smithy-mocks", "cvpn-emulator", "aws-sdk-sqs"} & set(components))
crates = [c for c in components.values() if c.get("bom-ref", "").startswith("registry+")]
check("every crate has a version, a licence and its crates.io SHA-256",
      crates and all(c.get("version") and c.get("licenses")
                     and any(h.get("alg") == "SHA-256" for h in c.get("hashes", [])) for c in crates))
sums = dict(reversed(line.split(None, 1)) for line in open(os.path.join(where, "SHA256SUMS")).read().splitlines())
files = sorted(f for f in os.listdir(where) if f != "SHA256SUMS")
check("SHA256SUMS names every file beside it", sorted(n.strip() for n in sums) == files)
check("and each sum matches", all(
    hashlib.sha256(open(os.path.join(where, f), "rb").read()).hexdigest() == sums.get(f) for f in files))

failed = [n for n, ok in checks if not ok]
for n, ok in checks:
    print(("ok - " if ok else "not ok - ") + n)
print(f"check-sbom: {len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
