#!/usr/bin/env bash
# Installs the interop servers from the package registries, pinned:
#   - oidc-provider (npm) into tests/interop/oidc-provider/node_modules (npm ci, from package-lock.json);
#   - django-oauth-toolkit (PyPI) into tests/interop/django/.venv (from requirements.txt).
# Safe to run again: it skips what is already installed.
# `setup.sh oidc-provider` installs only oidc-provider.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
only="${1:-}"

if [ ! -d "$here/oidc-provider/node_modules/oidc-provider" ]; then
  echo "installing oidc-provider (npm)"
  (cd "$here/oidc-provider" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$only" != "oidc-provider" ] && [ -f "$here/django/requirements.txt" ]; then
  venv="$here/django/.venv"
  stamp="$venv/.installed-$(sha256sum "$here/django/requirements.txt" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "installing django-oauth-toolkit (PyPI)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/django/requirements.txt"
    touch "$stamp"
  fi
fi
