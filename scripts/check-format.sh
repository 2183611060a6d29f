#!/usr/bin/env bash
# Fails, naming the files, when a C++ source differs from what clang-format
# makes of it with the repository's .clang-format (Google style, 120
# columns). Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed" >&2; exit 69; }
[ -d .git ] || { echo "check-format: not a git checkout; nothing to check" >&2; exit 0; }
bad=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cc' '*.h')
if ((${#bad[@]})); then
  printf 'check-format: not formatted: %s\n' "${bad[@]}" >&2
  exit 1
fi
