#!/usr/bin/env bash
# The demo: a local-process queue with a template variable, a few jobs at different
# priorities, shown in the queue. Uses a private data dir (.relaunch-demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
export DO_NOT_TRACK=1 RELAUNCH_DATA_DIR=${RELAUNCH_DATA_DIR:-$PWD/.relaunch-demo}
unset RELAUNCH_DATABASE_URL
R=.venv/bin/relaunch
rm -rf "$RELAUNCH_DATA_DIR"

echo "== create a local-process queue with a bounded template variable"
$R queue create demo -r local-process --prioritization \
  --config examples/local-queue.yaml --template-variables examples/local-queue-variables.yaml \
  --description "demo queue"

echo "== enqueue example training jobs"
$R launch -q demo --code examples/train -E "python3 train.py" -c '{"epochs": 3, "lr": 0.2}' \
  --name small -P low
$R launch -q demo --code examples/train -E "python3 train.py" -c '{"epochs": 5}' \
  -v threads=2 --name medium
$R launch -q demo --code examples/train -E "python3 train.py --fast" -c '{"epochs": 2}' \
  -v threads=4 --name urgent -P critical

echo "== a value out of bounds is refused (exit 2)"
$R launch -q demo --code examples/train -v threads=64 || echo "(exit code $?)"

echo "== what a job would run with"
$R launch -q demo --code examples/train -v threads=2 --dry-run

echo "== the queue, in claim order"
$R queue show demo
