"""``python -m handkin_train`` (also what ``torchrun -m handkin_train`` runs)."""

import sys

from .cli import main

sys.exit(main())
