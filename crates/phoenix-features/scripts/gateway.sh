# shellcheck shell=bash
# The NGINX gateway, inside the gateway container (idempotent). Staged beside it:
#   phoenix.conf  the configuration phoenix rendered from the fleet (phoenix gateway render)
# Environment:
#   PHOENIX_GATEWAY_CERT, PHOENIX_GATEWAY_KEY  the certificate and key (both empty: no TLS)
#   PHOENIX_GATEWAY_NAMES  space-separated host names a generated certificate is made for
#   PHOENIX_NGINX_DIR      NGINX's configuration directory (default /etc/nginx)
# The file is installed as conf.d/phoenix.conf only when it differs, and NGINX is reloaded
# only when something changed and `nginx -t` passed. When the test fails, the previous
# phoenix.conf (or none) and Debian's default site are put back, the running NGINX keeps
# the configuration it loaded before, and the script exits 1 with NGINX's message.
# Needs systemd (`systemctl`), as in phoenix's Debian 12 template.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"

nginx_dir="${PHOENIX_NGINX_DIR:-/etc/nginx}"
staged="$PHOENIX_RUN_DIR/phoenix.conf"
conf="$nginx_dir/conf.d/phoenix.conf"
cert="${PHOENIX_GATEWAY_CERT:-}"
key="${PHOENIX_GATEWAY_KEY:-}"

fail() {
  printf 'gateway: %s\n' "$*" >&2
  exit "${code:-1}"
}

if [ ! -f "$staged" ]; then
  code=2 fail "$staged is missing: the rendered configuration is staged beside this script"
fi
if [ -n "$cert$key" ] && { [ -z "$cert" ] || [ -z "$key" ]; }; then
  code=2 fail "PHOENIX_GATEWAY_CERT and PHOENIX_GATEWAY_KEY go together"
fi

apt_install nginx openssl

changed=0

# A missing certificate is replaced by a self-signed one, so NGINX starts; a real one is
# never overwritten, and half a pair (a certificate without its key) is an error.
if [ -n "$cert" ]; then
  if [ ! -e "$cert" ] && [ ! -e "$key" ]; then
    names="${PHOENIX_GATEWAY_NAMES:-}"
    cn="${names%% *}"
    [ -n "$cn" ] || cn=phoenix-gateway
    san=""
    for n in $names; do
      san="${san:+$san,}DNS:$n"
    done
    args=(req -x509 -nodes -newkey rsa:2048 -days 825 -subj "/CN=$cn"
      -keyout "$key.new" -out "$cert.new")
    if [ -n "$san" ]; then
      args+=(-addext "subjectAltName=$san")
    fi
    mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
    if ! out="$(umask 077 && openssl "${args[@]}" 2>&1)"; then
      rm -f "$key.new" "$cert.new"
      fail "openssl could not make a certificate: $out"
    fi
    chmod 0644 "$cert.new"
    mv -f "$key.new" "$key"
    mv -f "$cert.new" "$cert"
    log "gateway: generated a self-signed certificate for $cn at $cert"
    changed=1
  elif [ ! -e "$cert" ] || [ ! -e "$key" ]; then
    fail "$cert and $key must both exist or both be missing (phoenix generates a pair, never half of one)"
  fi
fi

# Debian's default site also claims `listen 80 default_server`; two default servers on
# one port fail `nginx -t`. Only the package's symlink is removed, never a file.
default_site="$nginx_dir/sites-enabled/default"
removed_default=""
if [ -L "$default_site" ]; then
  removed_default="$(readlink "$default_site")"
  rm -f "$default_site"
  log "gateway: disabled Debian's default site"
  changed=1
fi

previous=""
installed=0
if [ ! -f "$conf" ] || ! cmp -s "$staged" "$conf"; then
  if [ -f "$conf" ]; then
    previous="$PHOENIX_RUN_DIR/phoenix.conf.previous"
    cp -p "$conf" "$previous"
  fi
  mkdir -p "$(dirname "$conf")"
  # A temporary name conf.d/*.conf does not match, renamed into place.
  cp "$staged" "$conf.phoenix-new"
  chmod 0644 "$conf.phoenix-new"
  mv -f "$conf.phoenix-new" "$conf"
  installed=1
  changed=1
fi

restore() {
  if [ "$installed" = 1 ]; then
    if [ -n "$previous" ]; then
      mv -f "$previous" "$conf"
    else
      rm -f "$conf"
    fi
  fi
  if [ -n "$removed_default" ]; then
    ln -s "$removed_default" "$default_site"
  fi
}

if [ "$changed" = 1 ]; then
  if ! out="$(nginx -t -c "$nginx_dir/nginx.conf" 2>&1)"; then
    restore
    printf '%s\n' "$out" >&2
    fail "nginx -t failed: the previous configuration is back in place and NGINX was not reloaded"
  fi
  [ "$installed" = 0 ] || log "gateway: installed $conf"
fi

if systemctl is-active --quiet nginx; then
  if [ "$changed" = 1 ]; then
    systemctl reload nginx
    log "gateway: nginx reloaded"
  else
    log "gateway: unchanged"
  fi
else
  systemctl enable --now nginx
  log "gateway: nginx started"
fi
