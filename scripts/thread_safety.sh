#!/usr/bin/env bash
# Checks the real-time engine's lock annotations (engine/realtime/
# engine_impl.h: ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED,
# ABSL_LOCKS_EXCLUDED) with Clang's thread-safety analysis. The build uses
# GCC, which ignores them, so CI runs this beside it. Exits 1 on any
# warning.
#
#   scripts/thread_safety.sh
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for f in engine/realtime/engine*.cc; do
  if ! clang++ -std=c++20 -fsyntax-only -Werror -Wthread-safety -Wthread-safety-beta \
    -Iengine/include -I. "$f"; then
    status=1
  fi
done
[ $status = 0 ] && echo "thread safety: $(ls engine/realtime/engine*.cc | wc -l) files clean"
exit $status
