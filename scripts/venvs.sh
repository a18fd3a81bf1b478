# Sourced by scripts/test and bench/run.sh: the Python tools, in two virtualenvs under $CVPN_CACHE,
# (re)built when their requirements change. Two, because checkov pins an older botocore than the
# AWS CLI accepts. Puts the test tools (AWS CLI, moto) on PATH; the deploy tools (cfn-lint, checkov,
# cargo-lambda) are at $CVPN_CACHE/venv-deploy/bin.
venv() {
  local dir=$1 requirements=$2
  if ! cmp -s "$requirements" "$dir/$(basename "$requirements")" 2>/dev/null; then
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$dir/"
  fi
}
venv "$CVPN_CACHE/venv" scripts/requirements-test.txt
venv "$CVPN_CACHE/venv-deploy" scripts/requirements-deploy.txt
export PATH="$CVPN_CACHE/venv/bin:$PATH"
