"""The launch pipeline of one job: fetch, resolve, build, submit, watch, and
the working directory and environment a run gets."""
