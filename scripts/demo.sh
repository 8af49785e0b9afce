#!/usr/bin/env bash
# The demo: sets everything up (see setup.sh), then runs `python -m net demo`.
# Usage: scripts/demo.sh [--events N] [--shards N] [--batch N] [--ring-capacity N] [--rate N]
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec "$VENV/bin/python" -m net demo "$@"
