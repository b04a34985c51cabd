"""The agent: its configuration (launch-config.yaml), its poll loop and side
tasks (heartbeat, listener, store watcher), and the guard of a deployed agent."""
