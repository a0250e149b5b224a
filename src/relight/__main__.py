"""``python -m relight`` runs the CLI."""

import sys

from relight.cli.main import main

sys.exit(main())
