"""The ``relaunch`` command line."""

import os

# The CLI needs no pydantic plugins; looking them up (entry points) costs ~20 ms of
# every enqueue's start-up. Set before any model class is built.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
