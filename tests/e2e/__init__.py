"""Browser tests (a package, so that this folder's conftest is imported as ``e2e.conftest`` and
never replaces ``tests/conftest.py`` as the module ``conftest`` that other tests import helpers from)."""
