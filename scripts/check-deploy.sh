#!/usr/bin/env bash
# The deployment's checks: the SAM template and the network accounts' target.yaml (cfn-lint, with
# the SAM transform for the first, checkov, and our own assertions on each), the sweep's state
# machine definition (asl-validator), and the CDK constructs (their tests with cdk-nag, and a synth
# of the example app). Needs the deploy virtualenv on PATH (scripts/test puts it there), node
# and npm. Nothing here reaches AWS.
set -euo pipefail
cd "$(dirname "$0")/.."

for template in template.yaml target.yaml; do
  cfn-lint "$template"
  echo "ok - cfn-lint $template: no errors or warnings"
  checkov -f "$template" --framework cloudformation --quiet --compact --skip-download
  echo "ok - checkov $template: no failed checks"
done
python scripts/check-template.py template.yaml
python scripts/check-target.py target.yaml template.yaml

cd cdk
export npm_config_cache=${CVPN_CACHE:-$HOME/.cache/cvpn-terminator}/npm CDK_DISABLE_VERSION_CHECK=true
npm ci --no-fund --no-audit --loglevel=error
# The sweep's state machine definition, the one file SAM and CDK deploy, checked as Step Functions
# reads it (asl-validator, a devDependency here): its states, fields, paths and retriers.
npx asl-validator --json-path ../statemachine/sweep.asl.json
echo "ok - asl-validator statemachine/sweep.asl.json"
npm test
# Synthesis hashes the asset only; a stand-in bootstrap does where none was built.
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
echo stand-in >"$stub/bootstrap"
CVPN_BOOTSTRAP_DIR=${CVPN_BOOTSTRAP_DIR:-$stub} npx cdk synth --quiet --no-notices --ci
echo "ok - cdk synth of the example app, cdk-nag AwsSolutions clean"
