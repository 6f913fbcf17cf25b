"""``python -m handkin`` runs the ``handkin`` command."""

import sys

from .cli import main

sys.exit(main())
