"""Helpers shared by the tests: scenes, pairs, small runs, test operators, scripts.

Not collected by pytest (no ``test_`` names); the tests import them as
``support.NAME`` (the tests folder is on ``sys.path``, and on the
``PYTHONPATH`` of the ``pep`` subprocesses that import the test operators).
"""
