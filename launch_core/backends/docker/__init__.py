"""The ``docker`` builder: images built on a Docker daemon."""
