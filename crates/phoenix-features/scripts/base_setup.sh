# shellcheck shell=bash
# The base every container gets (idempotent). Environment:
#   PHOENIX_TIMEZONE  an IANA zone (Europe/Berlin)
#   PHOENIX_LOCALE    a locale (en_US.UTF-8)
#   PHOENIX_PACKAGES  space-separated Debian packages
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"

# shellcheck disable=SC2086 # the package list is split on purpose
apt_install locales tzdata $PHOENIX_PACKAGES

if [ ! -e "/usr/share/zoneinfo/$PHOENIX_TIMEZONE" ]; then
  log "unknown time zone $PHOENIX_TIMEZONE"
  exit 2
fi
if [ "$(cat /etc/timezone 2>/dev/null)" != "$PHOENIX_TIMEZONE" ]; then
  ln -sf "/usr/share/zoneinfo/$PHOENIX_TIMEZONE" /etc/localtime
  printf '%s\n' "$PHOENIX_TIMEZONE" > /etc/timezone
  log "time zone $PHOENIX_TIMEZONE"
fi

charset="${PHOENIX_LOCALE#*.}"
line="$PHOENIX_LOCALE $charset"
if ! grep -qx "$line" /etc/locale.gen 2>/dev/null; then
  printf '%s\n' "$line" >> /etc/locale.gen
fi
if ! locale -a 2>/dev/null | grep -qix "$(printf '%s' "$PHOENIX_LOCALE" | sed 's/UTF-8/utf8/')"; then
  locale-gen >/dev/null
  log "locale $PHOENIX_LOCALE generated"
fi
if [ "$(cat /etc/default/locale 2>/dev/null)" != "LANG=$PHOENIX_LOCALE" ]; then
  printf 'LANG=%s\n' "$PHOENIX_LOCALE" > /etc/default/locale
fi
