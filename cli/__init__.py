"""The ``pep`` and ``pep-ppe`` command-line interfaces (``peppers.cli``)."""
