#!/usr/bin/env bash
# The demo: a local-process queue with a template variable, a few jobs at different
# priorities, shown in the queue. Uses a private data dir (.relaunch-demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=$PWD/.relaunch-demo
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}
export RELAUNCH_DATA_DIR=$DEMO_DIR/data RELAUNCH_CONFIG=$DEMO_DIR/launch-config.yaml
# Prefect: the API given in PREFECT_API_URL, else a temporary local server whose
# database lives in the demo folder (open it afterwards with the UI, see the end).
export PREFECT_HOME=${PREFECT_HOME:-$DEMO_DIR/prefect}
unset RELAUNCH_DATABASE_URL RELAUNCH_ENTITY
R=.venv/bin/relaunch
rm -rf "$RELAUNCH_DATA_DIR"
mkdir -p "$DEMO_DIR"
printf 'max_jobs: 2\nbuilder:\n  type: noop\n' > "$RELAUNCH_CONFIG"

echo "== create a local-process queue with a bounded template variable"
$R queue create demo -r local-process --prioritization \
  --config examples/local-queue.yaml --template-variables examples/local-queue-variables.yaml \
  --description "demo queue"

echo "== enqueue example training jobs"
$R launch -q demo --code examples/train -E "python3 train.py" --run-config '{"epochs": 3, "lr": 0.2}' \
  --name small -P low
$R launch -q demo --code examples/train -E "python3 train.py" --run-config '{"epochs": 5}' \
  -v threads=2 --name medium
$R launch -q demo --code examples/train -E "python3 train.py --fast" --run-config '{"epochs": 2}' \
  -v threads=4 --name urgent -P critical

echo "== a value out of bounds is refused (exit 2)"
$R launch -q demo --code examples/train -v threads=64 || echo "(exit code $?)"

echo "== what a job would run with"
$R launch -q demo --code examples/train -v threads=2 --dry-run

echo "== the queue, in claim order"
$R queue show demo

echo "== an agent runs them (max 2 at once), each job a launch-job flow run in Prefect"
$R launch-agent -q demo --max-jobs 2 --until-idle 2>&1 | grep -E "Task run|Flow run|agent" \
  | grep -vE "View at" || true

echo "== the jobs"
$R job list -q demo
first=$($R job list -q demo --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
echo "== output of job $first (relaunch job logs $first)"
$R job logs "$first"

BASE=${RELAUNCH_DEMO_BASE_IMAGE:-relaunch/python:bookworm}
if docker info >/dev/null 2>&1 && docker image inspect "$BASE" >/dev/null 2>&1; then
  echo "== container path: the same code built into an image and run as a local container"
  dest=""
  if curl -s -o /dev/null http://127.0.0.1:5000/v2/; then dest=127.0.0.1:5000/relaunch/demo; fi
  printf 'max_jobs: 2\nbuilder:\n  type: docker\n  base-image: %s\n' "$BASE" \
    > "$DEMO_DIR/container-config.yaml"
  [ -n "$dest" ] && printf '  destination: %s\n' "$dest" >> "$DEMO_DIR/container-config.yaml"
  $R queue create demo-container -r local-container --config '{"memory": "512m"}'
  $R launch -q demo-container --code examples/train -E "python3 train.py" --run-config '{"epochs": 2}'
  $R launch-agent -q demo-container -c "$DEMO_DIR/container-config.yaml" --until-idle 2>&1 \
    | grep -E "Successfully tagged|Pushed|build skipped|Task run 'wait|agent stopped" || true
  $R job list -q demo-container
else
  echo "(container path skipped: no Docker daemon or no $BASE image;" \
       "bash scripts/start-docker.sh sets both up as root)"
fi

cat <<EOT

Open the Prefect UI on these runs:
  PREFECT_HOME=$PREFECT_HOME .venv/bin/prefect server start
  then http://127.0.0.1:4200/runs (flow runs 'demo-<job id>' with their six tasks)
EOT
