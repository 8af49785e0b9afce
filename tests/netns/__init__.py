"""Multi-host tests in network namespaces (root only)."""
