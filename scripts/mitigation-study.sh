#!/usr/bin/env bash
# Issue 4's mitigation evidence: for the trained fixture (tests/fixtures/austen-byte-llama, scale-free and absolute MA
# modes) and planted synthetic presets, perplexity of the original, quantized without mitigation and quantized with
# mitigation, for W8A8 per-tensor static fake quantization (engine) and GGUF Q4_0 measured by llama.cpp (plus Q4_0
# weight-only and W4A8 in the engine). Prints the markdown table and writes docs/mitigation-results.md.
# Needs .corpus/ (scripts/fetch-corpus.sh). Arguments go to the study, e.g. `--fixture-tokens 8192 --only synthetic`
# (a run filtered with --only writes no file). Build artifacts: STUDY_ARTIFACTS (default /tmp/outlier-opt-study-artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."

art="${STUDY_ARTIFACTS:-/tmp/outlier-opt-study-artifacts}"
dotnet build bench/Optimizer.MitigationStudy -c Release --artifacts-path "$art" -nologo -v:q
dotnet "$art/bin/Optimizer.MitigationStudy/release/Optimizer.MitigationStudy.dll" --root "$PWD" "$@"
