#!/usr/bin/env bash
# Trustplane's test command: everything CI runs, on a fresh Debian machine with a
# Rust toolchain, python3 (3.11+) with venv/pip, openssl and curl (no Docker; the
# network is needed only for package registries).
#
#   infra/test.sh [extra cargo test args...]     e.g. infra/test.sh -p admin-api
#
# 1. creates/refreshes infra/.venv from infra/requirements.txt (moto, cfn-lint, SAM CLI);
# 2. lints template.yaml offline (infra/lint.sh);
# 3. builds every function's bootstrap with cargo-lambda (zig from the venv): for the host,
#    the ones the Lambda emulator tests run (target/lambda-host/<binary>/bootstrap), and the
#    deployable arm64 ones through `sam build` (target/sam-build/<Function>/bootstrap), each
#    checked with `file` (aarch64 ELF, stripped) and its size printed (release profile with
#    LTO off for CI time unless LAMBDA_RELEASE=deploy, see infra/build_lambdas.sh);
# 4. starts moto (infra/moto_launcher.py) on a free loopback port, stopped on exit;
# 5. runs `cargo test --workspace --locked` with this environment:
#      TRUSTPLANE_TEST_AWS_ENDPOINT  moto's URL, e.g. http://127.0.0.1:41234
#      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY = testing, AWS_REGION / AWS_DEFAULT_REGION = us-east-1
#      AWS_LAMBDA_RIE                absolute path of the host-arch aws-lambda-rie binary
#                                    shipped in the SAM CLI package (executable)
#      TRUSTPLANE_LAMBDA_DIR         the host bootstraps' directory (target/lambda-host)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV=infra/.venv
REQUIREMENTS=infra/requirements.txt
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"
MOTO_START_TIMEOUT="${MOTO_START_TIMEOUT:-60}"

section() { printf '\n==== %s ====\n' "$*"; }
die() { echo "test.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
section "Python tooling ($VENV)"
want_hash="$( { "$PYTHON" --version 2>&1; cat "$REQUIREMENTS"; } | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating $VENV"
  if ! "$PYTHON" -m venv "$VENV"; then
    # Debian without python3-venv has no ensurepip: make a bare venv and let the
    # system pip (python3-pip) install pip into it.
    rm -rf "$VENV"
    "$PYTHON" -m venv --without-pip "$VENV" || die "could not create $VENV (on Debian: apt-get install python3-venv)"
    "$PYTHON" -m pip --python "$VENV/bin/python" install --quiet --disable-pip-version-check pip \
      || die "could not install pip into $VENV (on Debian: apt-get install python3-venv)"
  fi
fi
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_hash" ]]; then
  echo "requirements unchanged; skipping pip"
else
  echo "installing $REQUIREMENTS"
  rm -f "$STAMP"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want_hash" >"$STAMP"
fi
"$VENV/bin/cfn-lint" --version
"$VENV/bin/sam" --version

# ---------------------------------------------------------------------------
section "Debian packages (jq for the seed 003 bash client, strace for the durability test, puppet-agent for the Puppet CA, certbot for the ACME server, file for the bootstraps, script for the CLI's terminal test)"
missing=()
for tool in jq curl openssl strace file; do command -v "$tool" >/dev/null || missing+=("$tool"); done
command -v puppet >/dev/null || missing+=(puppet-agent)
command -v certbot >/dev/null || missing+=(certbot)
command -v script >/dev/null || missing+=(bsdutils)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]} (Debian: apt-get install ${missing[*]})"
fi
jq --version
puppet --version
certbot --version

# ---------------------------------------------------------------------------
section "Lint template.yaml (cfn-lint, sam validate --lint, translated template)"
infra/lint.sh

# ---------------------------------------------------------------------------
section "Lambda Runtime Interface Emulator"
case "$(uname -m)" in
  x86_64 | amd64) rie_arch=x86_64 ;;
  aarch64 | arm64) rie_arch=arm64 ;;
  *) die "no aws-lambda-rie for architecture $(uname -m)" ;;
esac
samcli_dir="$("$VENV/bin/python" -c 'import os, samcli; print(os.path.dirname(samcli.__file__))')"
AWS_LAMBDA_RIE="$samcli_dir/local/rapid/aws-lambda-rie-$rie_arch"
[[ -f "$AWS_LAMBDA_RIE" ]] || die "aws-lambda-rie not found at $AWS_LAMBDA_RIE"
[[ -x "$AWS_LAMBDA_RIE" ]] || chmod +x "$AWS_LAMBDA_RIE"
echo "AWS_LAMBDA_RIE=$AWS_LAMBDA_RIE"

# ---------------------------------------------------------------------------
section "Lambda bootstraps (cargo lambda build for the host; sam build for arm64)"
LAMBDA_RELEASE="${LAMBDA_RELEASE:-ci}" infra/build_lambdas.sh "$rie_arch"
TRUSTPLANE_LAMBDA_DIR="$ROOT/target/lambda-host"

# ---------------------------------------------------------------------------
section "Start moto"
mkdir -p target
MOTO_LOG="$ROOT/target/moto.log"
PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ENDPOINT="http://127.0.0.1:$PORT"

MOTO_PID=""
stop_moto() {
  local status=$?
  if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill -TERM "$MOTO_PID" 2>/dev/null || true # the launcher shuts down on SIGTERM
    for _ in $(seq 1 50); do kill -0 "$MOTO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  exit "$status"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/python" infra/moto_launcher.py --port "$PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!

moto_answers() {
  if command -v curl >/dev/null; then
    # Any HTTP response counts; curl fails only when nothing answers.
    curl --silent --output /dev/null --max-time 2 "$ENDPOINT/moto-api/"
  else
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$ENDPOINT/moto-api/" 2>/dev/null
  fi
}
deadline=$((SECONDS + MOTO_START_TIMEOUT))
until moto_answers; do
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then
    cat "$MOTO_LOG" >&2 || true
    die "moto exited before answering (log: $MOTO_LOG)"
  fi
  if ((SECONDS >= deadline)); then
    cat "$MOTO_LOG" >&2 || true
    die "moto did not answer on $ENDPOINT within ${MOTO_START_TIMEOUT}s (log: $MOTO_LOG)"
  fi
  sleep 0.2
done
echo "moto (pid $MOTO_PID) answering on $ENDPOINT; log: $MOTO_LOG"

# ---------------------------------------------------------------------------
section "cargo test --workspace --locked $*"
# Only the local emulator: never a real account or profile.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL \
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN
export TRUSTPLANE_TEST_AWS_ENDPOINT="$ENDPOINT"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_LAMBDA_RIE TRUSTPLANE_LAMBDA_DIR
export SAM_CLI_TELEMETRY=0
df -h . | tail -1
cargo test --workspace --locked "$@"
du -sh target 2>/dev/null || true

section "All checks passed"
