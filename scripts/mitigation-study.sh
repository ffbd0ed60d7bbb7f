#!/usr/bin/env bash
# Issues 4 and 11's mitigation evidence, judged by llama.cpp: for the trained fixture (tests/fixtures/austen-byte-llama)
# and the planted synthetic presets (ma/gamma/otc/all-h64-s1), and each recipe Q4_0, Q4_K_M, Q3_K_M, the file that
# `optimize` ships (OptimizePipeline.Run with its defaults: the best of stock, imatrix, compensated, mitigated-imatrix
# and mitigated-compensated by the engine's KL divergence) against llama.cpp's stock file and the imatrix file, all
# scored by llama.cpp (KL from llama.cpp on the F32 file, perplexity, bytes) on the same windows; the engine's KL of
# every candidate; W8A8/W4A8 fake quantization unmitigated vs mitigated (engine); goals met or missed. Prints the
# llama.cpp table and writes docs/mitigation-results.md.
# Needs .corpus/ (scripts/fetch-corpus.sh). Arguments go to the study, e.g. `--fixture-tokens 4096 --only synthetic
# --recipe Q4_0` (a run filtered with --only or --recipe writes no file). Build artifacts: STUDY_ARTIFACTS (default
# /tmp/outlier-opt-study-artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."

art="${STUDY_ARTIFACTS:-/tmp/outlier-opt-study-artifacts}"
dotnet build bench/Optimizer.MitigationStudy -c Release --artifacts-path "$art" -nologo -v:q
dotnet "$art/bin/Optimizer.MitigationStudy/release/Optimizer.MitigationStudy.dll" --root "$PWD" "$@"
