#!/usr/bin/env bash
# The main job on the built-in default: fetch the Austen text, build the tool, then inspect and evaluate the bundled
# fixture model (a 6-layer byte-level Llama this repository trained on Jane Austen's novels), analyze its outliers
# (manifest + HTML report), and optimize it: mitigations, Q4_0 GGUF, the variants' perplexity/KL table and the manifest,
# all under artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

model=tests/fixtures/austen-byte-llama
bash scripts/fetch-corpus.sh
dotnet build src/Optimizer.Tool -c Release -o artifacts/tool --nologo -v quiet
tool="dotnet artifacts/tool/dotnet-outlier-opt.dll"

$tool inspect "$model"
$tool eval "$model" --text .corpus/austen-heldout.txt --max-tokens "${MAX_TOKENS:-32768}" --context 256
$tool analyze "$model" -o artifacts/austen-byte-llama.manifest.json
$tool report artifacts/austen-byte-llama.manifest.json -o artifacts/austen-byte-llama.report.html
$tool optimize "$model" -o artifacts/optimized --quant Q4_0 \
    --calibration .corpus/austen-train.txt --calibration-tokens "${CALIBRATION_TOKENS:-1024}" \
    --eval-text .corpus/austen-heldout.txt --eval-tokens "${EVAL_TOKENS:-2048}"
