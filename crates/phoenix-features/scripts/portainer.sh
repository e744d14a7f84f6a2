# shellcheck shell=bash
# Runs the Portainer server or agent as a Docker container (idempotent). Environment:
#   PHOENIX_PORTAINER_ROLE   server or agent
#   PHOENIX_PORTAINER_IMAGE  the image (pulled when missing)
#   PHOENIX_PORTAINER_PORT   the host port of 9443 (server) or 9001 (agent)
#   PHOENIX_PORTAINER_ADMIN  the server's admin login
# Staged beside this script for the server: admin.pass (mode 0600, the first admin's
# password, mounted for --admin-password-file) and agents.txt ("<name> <url>" lines:
# the fleet's agents, registered as environments unless listed already).
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"
IMAGE="$PHOENIX_PORTAINER_IMAGE"
PORT="$PHOENIX_PORTAINER_PORT"
SECRETS=/etc/phoenix/portainer

if [ "$PHOENIX_PORTAINER_ROLE" = server ]; then
  NAME=portainer
else
  NAME=portainer_agent
fi

docker image inspect "$IMAGE" >/dev/null 2>&1 || docker pull "$IMAGE"

current=$(docker inspect -f '{{.Config.Image}}' "$NAME" 2>/dev/null || true)
if [ -n "$current" ] && [ "$current" != "$IMAGE" ]; then
  log "replacing $NAME ($current) with $IMAGE"
  docker rm -f "$NAME" >/dev/null
  current=""
fi

if [ "$PHOENIX_PORTAINER_ROLE" = server ]; then
  apt_install curl jq
  install -d -m 0700 "$SECRETS"
  install -m 0600 "$PHOENIX_RUN_DIR/admin.pass" "$SECRETS/admin.pass"
  if [ -z "$current" ]; then
    docker volume create portainer_data >/dev/null
    docker run -d --name "$NAME" --restart=always \
      -p "$PORT:9443" -p 8000:8000 \
      -v /var/run/docker.sock:/var/run/docker.sock \
      -v portainer_data:/data \
      -v "$SECRETS/admin.pass:/run/portainer/admin.pass:ro" \
      "$IMAGE" --admin-password-file /run/portainer/admin.pass >/dev/null
    log "started $NAME ($IMAGE)"
  elif [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
    docker start "$NAME" >/dev/null
  fi
  api="https://127.0.0.1:$PORT/api"
  curl -fsSk --retry 30 --retry-connrefused --retry-delay 2 "$api/system/status" >/dev/null
  if [ -s "$PHOENIX_RUN_DIR/agents.txt" ]; then
    umask 077
    jq -n --arg u "$PHOENIX_PORTAINER_ADMIN" --rawfile p "$SECRETS/admin.pass" \
      '{Username: $u, Password: $p}' > "$PHOENIX_RUN_DIR/auth.json"
    jwt=$(curl -fsSk -H 'Content-Type: application/json' --data "@$PHOENIX_RUN_DIR/auth.json" "$api/auth" | jq -r .jwt)
    printf 'Authorization: Bearer %s\n' "$jwt" > "$PHOENIX_RUN_DIR/auth.header"
    listed=$(curl -fsSk -H "@$PHOENIX_RUN_DIR/auth.header" "$api/endpoints" | jq -r '.[].URL')
    while read -r name url; do
      [ -n "$name" ] || continue
      if grep -qxF "$url" <<<"$listed"; then
        log "agent $name ($url) is registered"
        continue
      fi
      curl -fsSk -H "@$PHOENIX_RUN_DIR/auth.header" -X POST "$api/endpoints" \
        -F "Name=$name" -F EndpointCreationType=2 -F "URL=$url" -F GroupID=1 \
        -F TLS=true -F TLSSkipVerify=true -F TLSSkipClientVerify=true >/dev/null
      log "registered agent $name ($url)"
    done < "$PHOENIX_RUN_DIR/agents.txt"
  fi
else
  if [ -z "$current" ]; then
    docker run -d --name "$NAME" --restart=always \
      -p "$PORT:9001" \
      -v /var/run/docker.sock:/var/run/docker.sock \
      -v /var/lib/docker/volumes:/var/lib/docker/volumes \
      "$IMAGE" >/dev/null
    log "started $NAME ($IMAGE)"
  elif [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
    docker start "$NAME" >/dev/null
  fi
fi
