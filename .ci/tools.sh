#!/usr/bin/env bash
# Installs the build tools this project needs when they are missing, at the
# versions it needs: the wasm32 target, cargo-leptos (without its own
# downloads, which this network refuses) and wasm-bindgen-cli at the version
# in Cargo.lock. Quick when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1;36m==> %s\033[0m\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (built from source: about 18 minutes on 2 cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "cannot find the wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (matches Cargo.lock)"
  # Its own lockfile names a crate version the registry no longer has, so it
  # is resolved afresh, preferring versions that suit this rustc.
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt, which `cargo leptos build --release` runs on the hydrate bundle
# (cargo-leptos downloads nothing here): binaryen from the npm registry,
# its Node.js build, linked next to cargo's tools.
BINARYEN_VERSION=132.0.0
if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
  say "installing wasm-opt (npm binaryen $BINARYEN_VERSION) for release builds"
  prefix="$HOME/.local/share/baedal-tools/binaryen-$BINARYEN_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$prefix" "binaryen@$BINARYEN_VERSION"
  mkdir -p "$HOME/.cargo/bin"
  ln -sf "$prefix/node_modules/.bin/wasm-opt" "$HOME/.cargo/bin/wasm-opt"
fi
