#!/usr/bin/env bash
# Fetches Jane Austen's six novels (public domain) from Debian's r-cran-janeaustenr package and converts them into
# UTF-8 text for the fixture trainer:
#   .corpus/austen-train.txt    the first ~95% of every novel
#   .corpus/austen-heldout.txt  the rest: each novel from its first paragraph break at or after 95% of its bytes
# The package is fetched with apt-get (running `apt-get update` only when the first download fails), unpacked with
# dpkg-deb, and its R lazy-load database is decoded by `Optimizer.FixtureTrainer corpus` (C#, no R needed).
# Idempotent: does nothing when both files exist, unless --force is given. Needs only Debian 12 + the .NET SDK.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${CORPUS_DIR:-$repo_root/.corpus}"
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; elif [[ $# -gt 0 ]]; then echo "usage: $0 [--force]" >&2; exit 2; fi

if [[ $force -eq 0 && -s "$out_dir/austen-train.txt" && -s "$out_dir/austen-heldout.txt" ]]; then
  echo "corpus already present in $out_dir (use --force to rebuild)"
  wc -c "$out_dir/austen-train.txt" "$out_dir/austen-heldout.txt"
  exit 0
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "error: '$*' needs root and sudo is not available" >&2; return 1
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's _apt user must be able to write the download here

cd "$work"
if ! apt-get download r-cran-janeaustenr >/dev/null 2>&1; then
  echo "apt-get download failed; running apt-get update and retrying"
  as_root apt-get update >/dev/null
  apt-get download r-cran-janeaustenr
fi
deb="$(ls "$work"/r-cran-janeaustenr_*.deb 2>/dev/null | head -n 1 || true)"
if [[ -z "$deb" ]]; then echo "error: apt-get download produced no r-cran-janeaustenr .deb" >&2; exit 1; fi
echo "downloaded $(basename "$deb")"
dpkg-deb -x "$deb" "$work/pkg"

mkdir -p "$out_dir"
dotnet run --project "$repo_root/tests/Optimizer.FixtureTrainer" -c Release --artifacts-path "${ARTIFACTS_PATH:-$work/artifacts}" \
  -- corpus "$work/pkg" "$out_dir"
wc -c "$out_dir/austen-train.txt" "$out_dir/austen-heldout.txt"
