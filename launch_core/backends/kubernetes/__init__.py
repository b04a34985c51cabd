"""``kubernetes``: a job run as a Kubernetes Job or workload custom resource."""
