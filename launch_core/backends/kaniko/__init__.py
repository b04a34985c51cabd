"""The ``kaniko`` builder: images built by a kaniko Job in a Kubernetes cluster."""
