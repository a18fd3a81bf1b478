#!/usr/bin/env bash
# The deployment's checks: the SAM template (cfn-lint with the SAM transform, checkov, and our own
# assertions on the transformed template), and the CDK construct (its tests with cdk-nag, and a
# synth of the example app). Needs the deploy virtualenv on PATH (scripts/test puts it there), node
# and npm. Nothing here reaches AWS.
set -euo pipefail
cd "$(dirname "$0")/.."

cfn-lint template.yaml
echo "ok - cfn-lint template.yaml: no errors or warnings"
checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
echo "ok - checkov: no failed checks"
python scripts/check-template.py template.yaml

cd cdk
export npm_config_cache=${CVPN_CACHE:-$HOME/.cache/cvpn-terminator}/npm CDK_DISABLE_VERSION_CHECK=true
npm ci --no-fund --no-audit --loglevel=error
npm test
# Synthesis hashes the asset only; a stand-in bootstrap does where none was built.
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
echo stand-in >"$stub/bootstrap"
CVPN_BOOTSTRAP_DIR=${CVPN_BOOTSTRAP_DIR:-$stub} npx cdk synth --quiet --no-notices --ci
echo "ok - cdk synth of the example app, cdk-nag AwsSolutions clean"
