"""``vertex``: a job run as a Vertex AI CustomJob."""
