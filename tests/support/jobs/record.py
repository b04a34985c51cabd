"""Test job: prints a line, sleeps, appends what it saw to OUT/<item id>.jsonl."""

import json
import os
import sys
import time

config = json.loads(os.environ["RELAUNCH_RUN_CONFIG"])
start = time.time()
print(f"hello from run {os.environ['RELAUNCH_RUN_ID']}", flush=True)
if "print_env" in config:  # a job that prints what it was given (a secret, say)
    print(f"{config['print_env']}={os.environ.get(config['print_env'])}", flush=True)
time.sleep(float(config.get("sleep", 0)))
record = {"start": start, "end": time.time(), "argv": sys.argv[1:], "cwd": os.getcwd(),
          "env": {k: v for k, v in os.environ.items()
                  if k.startswith("RELAUNCH_") or k == "OMP_NUM_THREADS"}}
with open(os.path.join(config["out"], os.environ["RELAUNCH_ITEM_ID"] + ".jsonl"), "a") as f:
    f.write(json.dumps(record) + "\n")
print("bye", flush=True)
sys.exit(int(config.get("exit", 0)))
