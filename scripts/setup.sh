#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds,
# generates a regional sample population, links it into a local RocksDB
# database and prints the link summary and its evaluation against truth.
#   PERSONS=50000 bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${PERSONS:-20000}
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target empi
empi=build/engine/cli/empi
rm -rf out/sample out/empi-db out/empi-db.quarantine.csv
mkdir -p out
"$empi" generate --persons "$persons" --seed 1 --out out/sample
"$empi" link --db out/empi-db out/sample/[A-Z]*.csv
"$empi" export clusters --db out/empi-db -o out/clusters.csv
"$empi" evaluate --truth out/sample/truth.csv --clusters out/clusters.csv --hard-cases out/sample/hard_cases.csv
echo "database: out/empi-db   clusters: out/clusters.csv   try: $empi stats --db out/empi-db" >&2
