"""``local-process``: a job run as a process on the agent's machine."""
