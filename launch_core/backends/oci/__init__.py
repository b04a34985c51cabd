"""OCI registries (and ACR): the registry, and the few calls of the distribution API it makes."""
