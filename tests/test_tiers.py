"""The test tiers: tests/conftest.py marks every test slow, e2e or benchmark
from its path and fixtures (``tier_markers``), so the fast tier
(``-m "not slow and not e2e and not benchmark"``) never picks up a test that
trains or starts processes just because someone forgot a marker."""

from __future__ import annotations

import pytest
from conftest import SLOW_FIXTURES, SLOW_MODULES, TESTS_DIR, TIERS, tier_markers


@pytest.mark.parametrize("path,fixtures,expected", [
    (TESTS_DIR / "test_new_thing.py", ["tmp_path", "imbalanced"], set()),
    (TESTS_DIR / "e2e" / "test_new_page.py", ["ui", "app_url"], {"e2e"}),
    (TESTS_DIR / "e2e" / "test_new_flow.py", ["ui", "workers"], {"e2e", "slow"}),
    (TESTS_DIR / "test_benchmarks.py", ["tmp_path"], {"benchmark"}),
    (TESTS_DIR / "test_new_page.py", ["filled_copy", "filled_workspace", "tmp_path"], {"slow"}),
    (TESTS_DIR / "test_new_worker.py", ["tmp_path", "workers"], {"slow"}),
    (TESTS_DIR / "test_strategies.py", ["strategy_run", "setup"], {"slow"}),
    (TESTS_DIR / "test_strategies.py", ["setup"], set()),
    (TESTS_DIR / "test_kill_loop.py", ["tmp_path"], {"slow"}),
    (TESTS_DIR / "test_app_restart.py", [], {"slow"}),
    (TESTS_DIR / "test_e2e_like_name.py", [], set()),  # only the e2e folder counts, not a name
])
def test_tier_markers_follow_path_and_fixtures(path, fixtures, expected):
    assert tier_markers(path, fixtures) == expected


def test_every_slow_module_and_fixture_exists():
    """A renamed module or fixture would silently leave its tests in the fast tier."""
    for module in SLOW_MODULES:
        assert (TESTS_DIR / module).is_file(), module
    defined = set()
    for path in TESTS_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        defined |= {name for name in SLOW_FIXTURES if f"def {name}(" in text}
    assert defined == SLOW_FIXTURES


def test_the_tiers_are_registered_markers(pytestconfig):
    registered = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert set(TIERS) <= registered


def test_collected_tests_carry_exactly_their_tier_markers(request):
    """The hook really ran on this session's tests (whatever was selected)."""
    items = request.session.items
    assert request.node in items
    for item in items:
        tiers = {m.name for m in item.iter_markers() if m.name in TIERS}
        assert tiers == tier_markers(item.path, item.fixturenames), item.nodeid
