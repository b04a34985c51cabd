"""Where a job's code and build context live besides the queue store (s3://,
gs://), and how relaunch writes its own files (private to its user)."""
