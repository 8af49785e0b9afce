"""Tests against the original ai2070-net 0.12.0, run as a peer process."""
