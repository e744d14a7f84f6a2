#!/usr/bin/env bash
# Test application script that fails.
set -euo pipefail
echo "preparing the site"
echo "cannot bind port 8080: address in use" >&2
exit 3
