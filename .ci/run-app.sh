#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the app at
# http://127.0.0.1:3000 on a SQLite file (data/delivery.db) with demo data.
# Settings come from the environment; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/tools.sh
export PATH="$HOME/.cargo/bin:$PATH"
# `--split`: the screens loaded on demand (app/src/screens.rs) become chunks
# of their own; a bundle built without it cannot load them.
exec cargo leptos serve --split
