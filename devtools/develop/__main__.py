"""``python -m devtools.develop``: what ``scripts/develop`` runs."""

import sys

from devtools.develop.orchestrator import main

sys.exit(main())
