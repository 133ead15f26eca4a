#!/usr/bin/env bash
# Builds every Lambda function's bootstrap with cargo-lambda, the way deployment builds them
# (infra/test.sh runs it; it needs infra/.venv with cargo-lambda, ziglang and aws-sam-cli):
#
#   infra/build_lambdas.sh [x86_64|arm64]     the host's architecture (default: uname -m)
#
# LAMBDA_RELEASE=deploy (the default) builds the release profile exactly as a deployment's
# `sam build` does; LAMBDA_RELEASE=ci (what infra/test.sh uses, for CI time) overrides two of
# its settings through cargo's environment: LTO off and 16 codegen units. Same
# command, template, compiler, target, opt-level, panic strategy and stripping; the bootstraps
# are larger and a little slower, and compile in a fraction of the time.
#
# 1. the host bootstraps the Lambda emulator tests run: `cargo lambda build` (dev profile) of
#    every template function's binary into target/lambda-host/<binary>/bootstrap, so those
#    tests run what the deployment's build path makes;
# 2. the deployable ones: `sam build --config-file infra/samconfig.toml` (template.yaml's
#    rust-cargolambda functions, its runtime and architecture, release profile) into
#    target/sam-build/<Function>/bootstrap; each must be a stripped aarch64 ELF, and its size
#    is printed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/infra/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
TEMPLATE=template.yaml
HOST_DIR="$ROOT/target/lambda-host"
SAM_DIR="$ROOT/target/sam-build"

die() { echo "build_lambdas.sh: $*" >&2; exit 1; }
step() { printf -- '-- %s\n' "$*"; }

case "${1:-$(uname -m)}" in
  x86_64 | amd64) host_flag=--x86-64 ;;
  aarch64 | arm64) host_flag=--arm64 ;;
  *) die "no Lambda architecture for ${1:-$(uname -m)}" ;;
esac
command -v cargo-lambda >/dev/null || die "cargo-lambda is not in infra/.venv (pip install -r infra/requirements.txt)"
command -v file >/dev/null || die "file is missing (Debian: apt-get install file)"

# The template's build, in step with what is checked below: one global runtime and
# architecture, no per-function override, every function built by cargo-lambda.
globals="$(sed -n '/^Globals:/,/^Resources:/p' "$TEMPLATE")"
grep -q '^    Runtime: provided.al2023$' <<<"$globals" || die "Globals.Function.Runtime is not provided.al2023"
grep -A1 '^    Architectures:$' <<<"$globals" | grep -q '^      - arm64$' || die "Globals.Function.Architectures is not [arm64]"
(($(grep -c '^ *Architectures:' "$TEMPLATE") == 1)) || die "a function overrides Globals' Architectures"
(($(grep -c '^ *Runtime:' "$TEMPLATE") == 1)) || die "a function overrides Globals' Runtime"
mapfile -t binaries < <(sed -n 's/^        Binary: //p' "$TEMPLATE")
functions=$(grep -c '^      BuildMethod: rust-cargolambda$' "$TEMPLATE")
((functions == ${#binaries[@]} && functions > 0)) || die "$functions rust-cargolambda functions but ${#binaries[@]} Binary properties"

case "${LAMBDA_RELEASE:-deploy}" in
  deploy) ;;
  ci) export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 ;;
  *) die "LAMBDA_RELEASE is deploy or ci, not ${LAMBDA_RELEASE}" ;;
esac
rustup target add aarch64-unknown-linux-gnu

start=$SECONDS
step "cargo lambda build $host_flag (dev): ${binaries[*]}"
bin_args=()
for binary in "${binaries[@]}"; do bin_args+=(--bin "$binary"); done
cargo lambda build --locked "$host_flag" --lambda-dir "$HOST_DIR" "${bin_args[@]}"
for binary in "${binaries[@]}"; do [[ -x "$HOST_DIR/$binary/bootstrap" ]] || die "no host bootstrap for $binary"; done
echo "host bootstraps built in $((SECONDS - start)) s"

start=$SECONDS
step "sam build (arm64, release profile: ${LAMBDA_RELEASE:-deploy})"
rm -rf "$SAM_DIR"
sam build --config-file infra/samconfig.toml --build-dir "$SAM_DIR" --no-cached
echo "sam build took $((SECONDS - start)) s"

printf '%-24s %10s  %s\n' FUNCTION "SIZE (KiB)" FILE
built=0
for bootstrap in "$SAM_DIR"/*/bootstrap; do
  [[ -f "$bootstrap" ]] || continue
  function_id="$(basename "$(dirname "$bootstrap")")"
  description="$(file -b "$bootstrap")"
  printf '%-24s %10d  %s\n' "$function_id" "$(($(stat -c %s "$bootstrap") / 1024))" "$description"
  [[ "$description" == "ELF 64-bit LSB"*"ARM aarch64"* ]] || die "$function_id's bootstrap is not an aarch64 ELF"
  [[ "$description" == *", stripped" ]] || die "$function_id's bootstrap is not stripped"
  built=$((built + 1))
done
((built == functions)) || die "sam build produced $built bootstraps for $functions functions"
echo "$built arm64 bootstraps checked"
