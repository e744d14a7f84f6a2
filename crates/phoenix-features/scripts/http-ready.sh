# shellcheck shell=bash
# Readiness over plain HTTP with bash alone (/dev/tcp: no curl in a minimal Debian).
# ready HOST PORT PATH NEEDLE SECONDS waits until GET http://HOST:PORT/PATH answers
# 200 with NEEDLE in its body (spaces are ignored on both sides, so `"id": "x"`
# matches `"id":"x"`), asking once a second.

http_get() {
  local host=$1 port=$2 path=$3
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
  cat <&3
  exec 3<&-
}

ready() {
  local host=$1 port=$2 path=$3 needle=${4// /} seconds=$5 body="" i
  for ((i = 0; i <= seconds; i++)); do
    body=$(http_get "$host" "$port" "$path" 2>/dev/null | tr -d ' \r') || body=""
    if [[ $body == "HTTP/1."?"200"* && $body == *"$needle"* ]]; then
      printf 'GET %s lists %s\n' "$path" "$needle"
      return 0
    fi
    [ "$i" -lt "$seconds" ] && sleep 1
  done
  printf 'GET http://%s:%s%s did not list %s within %ss: %s\n' \
    "$host" "$port" "$path" "$needle" "$seconds" "${body:0:200}" >&2
  return 1
}
