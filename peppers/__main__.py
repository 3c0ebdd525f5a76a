"""``python -m peppers``: the ``pep`` command (same options, same exit status)."""

import sys

from peppers.cli.main import main

sys.exit(main())
