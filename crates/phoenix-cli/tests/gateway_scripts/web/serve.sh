#!/usr/bin/env bash
# Test application script: serves the staged site with busybox httpd on port 8080.
set -euo pipefail
# shellcheck source=/dev/null
. "$PHOENIX_RUN_DIR/lib.sh"
apt_install busybox
ctid="$1"
mkdir -p /srv/web/app /var/lib/web
cp "$PHOENIX_RUN_DIR/web/index.html" /srv/web/index.html
cp "$PHOENIX_RUN_DIR/web/index.html" /srv/web/app/index.html
cp "$PHOENIX_RUN_DIR/web/extra.txt" /srv/web/extra.txt
printf 'CT %s\n' "$ctid" >> /srv/web/index.html
printf 'CT %s app\n' "$ctid" >> /srv/web/app/index.html
echo run >> /var/lib/web/runs
cat > /etc/systemd/system/phoenix-web.service <<'UNIT'
[Unit]
Description=test site

[Service]
ExecStart=/bin/busybox httpd -f -p 8080 -h /srv/web

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable phoenix-web >/dev/null 2>&1
systemctl restart phoenix-web
echo "serving CT $ctid"
