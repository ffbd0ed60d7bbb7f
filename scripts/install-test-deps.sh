#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages and is not part of the .NET SDK:
#   chromium  (headless browser for the report page screenshot test, /usr/bin/chromium)
#   nodejs, npm  (fetch the real tokenizers and run the JavaScript tokenizer port of the tokenizer tests)
# Idempotent: does nothing when everything is already there. Needs root or sudo when something is missing.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: nothing to install (chromium, node and npm present)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  echo "install-test-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Install straight away when the package lists know the packages; refresh the lists first otherwise.
if ! "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${as_root[@]}" apt-get update
  "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

for package in "${missing[@]}"; do
  if [ "$package" = chromium ] && [ ! -x /usr/bin/chromium ]; then
    echo "install-test-deps: chromium was installed but /usr/bin/chromium is missing" >&2
    exit 1
  fi
done
echo "install-test-deps: installed ${missing[*]}"
