"""``python -m vidclear``."""

import sys

from vidclear.cli.main import main

sys.exit(main())
