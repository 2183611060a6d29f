#!/usr/bin/env bash
# Checks the real-time engine's lock annotations (engine/realtime/
# engine_impl.h: ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED,
# ABSL_LOCKS_EXCLUDED), and the server's revisitor and HTTP transport, with
# Clang's thread-safety analysis. The build uses
# GCC, which ignores them, so CI runs this beside it. Exits 1 on any
# warning.
#
#   scripts/thread_safety.sh
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
files=(engine/realtime/engine*.cc engine/server/revisitor.cc engine/server/http.cc)
for f in "${files[@]}"; do
  if ! clang++ -std=c++20 -fsyntax-only -Werror -Wthread-safety -Wthread-safety-beta \
    -Iengine/include -I. "$f"; then
    status=1
  fi
done
[ $status = 0 ] && echo "thread safety: ${#files[@]} files clean"
exit $status
