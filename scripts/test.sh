#!/usr/bin/env bash
# Installs what is missing, builds everything, checks the engine's lock
# annotations with Clang, runs the whole test suite, then builds the fuzz
# targets (clang, in build-fuzz) and runs each for EMPI_FUZZ_SECONDS
# (default 30, which keeps CI under 30 minutes on 2 cores; 0 skips), two
# at a time: a crash fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# EMPI_SANITIZE=1: the same suite under AddressSanitizer + UBSan, in build-asan.
# Otherwise -Werror (EMPI_WERROR): the build stays warning-free.
if [ "${EMPI_SANITIZE:-0}" = 1 ]; then dir=build-asan; extra=(-DEMPI_SANITIZE=ON); else dir=build; extra=(-DEMPI_WERROR=ON); fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${extra[@]}"
cmake --build "$dir" -j "$(nproc)"
# The engine's lock annotations, checked by Clang (GCC ignores them).
bash scripts/thread_safety.sh
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 600
seconds=${EMPI_FUZZ_SECONDS:-30}
if ((seconds > 0)); then bash scripts/fuzz.sh "$seconds"; fi
