"""pytest_promptkit: the pytest plugin of promptkit (entry point: :mod:`pytest_promptkit.plugin`).

PYTEST_DONT_REWRITE: no test asserts here; pytest need not rewrite this package.
"""
