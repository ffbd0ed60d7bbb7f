#!/usr/bin/env bash
# Benchmarks (issue 6; docs/performance.md). Builds Release, publishes the tool, and prints the side-by-side markdown
# report to stdout and bench/results/latest.md:
#   - GGUF quantization throughput: our exporter vs llama.cpp's quantizer vs a file copy (Q8_0, Q4_0)
#   - forward tokens/s of the calibration pass with probes off / on vs llama.cpp on the same tokens (F32 GGUF)
#   - peak RSS of `optimize` (child process, /proc VmHWM) on synthetic 50M / 200M / 1B models
#   - `dotnet build` no-op time of samples/ConsumerApp with vs without OptimizedModel items
# then (unless BENCH_MICRO=0) the BenchmarkDotNet micro-benchmarks (Q8_0/Q4_0 kernels, statistics accumulator).
# Arguments go to the report, e.g. `bash scripts/bench.sh --runs 5 --sizes 50M,200M --skip build`.
# Scratch (generated models, outputs; reused between runs): BENCH_WORK (default /tmp/outlier-opt-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

art="${BENCH_ARTIFACTS:-/tmp/outlier-opt-bench-artifacts}"
work="${BENCH_WORK:-/tmp/outlier-opt-bench}"
out=bench/results/latest.md

bash scripts/fetch-corpus.sh      # calibration / evaluation text of the memory rows
dotnet build bench/Optimizer.Bench -c Release --artifacts-path "$art" -nologo -v:q
dotnet publish src/Optimizer.Tool -c Release --artifacts-path "$art" -o "$art/tool" -nologo -v:q

dotnet "$art/bin/Optimizer.Bench/release/Optimizer.Bench.dll" report \
  --repo "$PWD" --work "$work" --tool "$art/tool/dotnet-outlier-opt.dll" --out "$out" "$@"

if [ "${BENCH_MICRO:-1}" != "0" ]; then
  bdn="$art/bdn"
  rm -rf "$bdn"
  dotnet "$art/bin/Optimizer.Bench/release/Optimizer.Bench.dll" micro --filter '*' --job short --exporters github --artifacts "$bdn"
  {
    echo
    echo "### BenchmarkDotNet micro-benchmarks (ShortRun)"
    for report in "$bdn"/results/*-report-github.md; do
      echo
      sed -n '/^|/,$p' "$report"
    done
  } | tee -a "$out"
fi
