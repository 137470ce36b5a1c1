#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing: Chromium (browser
# tests), Dovecot (the real IMAP server of the email tests), and the PostgreSQL/Redis clients used
# to check the services. Runs apt-get only when something is missing.
set -euo pipefail

need=()
command -v pg_isready >/dev/null || need+=(postgresql-client)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
