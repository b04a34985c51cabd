"""A tiny "training" job: reads its run config and prints metrics per epoch."""

import json
import os
import sys
import time

config = json.loads(os.environ.get("RELAUNCH_RUN_CONFIG") or "{}")
epochs = int(config.get("epochs", 3))
lr = float(config.get("lr", 0.1))
print(f"run {os.environ.get('RELAUNCH_RUN_ID', '?')}: epochs={epochs} lr={lr} "
      f"argv={sys.argv[1:]}", flush=True)
loss = 1.0
for epoch in range(1, epochs + 1):
    loss *= 1 - lr
    print(json.dumps({"epoch": epoch, "loss": round(loss, 4)}), flush=True)
    time.sleep(float(config.get("sleep", 0.2)))
print("done", flush=True)
