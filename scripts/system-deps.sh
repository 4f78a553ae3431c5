#!/usr/bin/env bash
# Installs the system libraries Souk Loop needs on Debian/Ubuntu when they are missing:
# GDAL/GEOS/PROJ for GeoDjango, SpatiaLite for the embedded database, gettext for the
# Arabic translations, a Python with venv. With --postgis also PostGIS for PostgreSQL 15
# (CI). Does nothing when all is present; needs root (or sudo) only when something is not.
set -euo pipefail

want=(python3 python3-venv python3-dev gdal-bin libgeos-c1v5 libsqlite3-mod-spatialite gettext binutils)
if [[ "${1:-}" == "--postgis" ]]; then
  pg_major=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
  want+=("postgresql-${pg_major:-15}-postgis-3")
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "Missing system packages (${missing[*]}) and no apt-get: install GDAL, GEOS, PROJ and SpatiaLite by hand." >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "Run as root, or install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
