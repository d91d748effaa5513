"""scripts/mutation.py's own parts: which mutants it makes, that swapping one in changes what the
live functions do (decorated ones and lambdas included), the score and the day's module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SOURCE = '''
def register(fn):
    TABLE.append(fn)
    return fn

TABLE = []


@register
def limit(x):
    """A docstring is never mutated: 1 < 2."""
    if x < 10 and not x == 3:
        return x + 1
    return -1


class Model:
    SCALE = (lambda v: v * 2,)

    def flag(self):
        return True


@njit_like
def compiled(x):
    return x + 1
'''


@pytest.fixture(scope="module")
def mutation():
    spec = importlib.util.spec_from_file_location("mutation_script", ROOT / "scripts" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_script"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["mutation_script"]


@pytest.fixture
def target(tmp_path, monkeypatch):
    path = tmp_path / "target_mod.py"
    path.write_text(SOURCE.replace("@njit_like", "@njit"))
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"njit": lambda f: f, "__name__": "target_mod"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return path, namespace


def test_the_mutants_of_a_function_body(mutation, target):
    path, _ = target
    mutants = mutation.find_mutants(path.read_text())
    changes = [(m.function, m.change) for m in mutants]
    assert changes == [
        ("limit", "and -> or"), ("limit", "< -> <="), ("limit", "10 -> 11"), ("limit", "drop Not"),
        ("limit", "== -> !="), ("limit", "3 -> 4"), ("limit", "+ -> -"), ("limit", "1 -> 2"),
        ("limit", "drop USub"), ("limit", "1 -> 2"),
        ("Model.<lambda>", "* -> //"), ("Model.<lambda>", "2 -> 3"),
        ("Model.flag", "True -> False"),
    ]
    assert [m.nth for m in mutants if m.change == "1 -> 2"] == [1, 1]  # different lines: both first


def test_the_same_change_on_one_line_is_numbered_in_order(mutation):
    """Four 0 -> 1 on one line are #1, #2, #3, #4, each its own key (an entry of
    tests/mutation_equivalents.toml names one of them, and --resume reruns them by key)."""
    mutants = mutation.find_mutants("def f(a, b):\n    return a[0] is b[0] and a[0].x != b[0].x\n")
    zeros = [m for m in mutants if m.change == "0 -> 1"]
    assert [m.nth for m in zeros] == [1, 2, 3, 4]
    assert len({m.key for m in zeros}) == 4


def test_a_swapped_mutant_changes_the_live_and_registered_functions(mutation, target):
    path, namespace = target
    source = path.read_text()
    live = [f for f in namespace.values() if callable(f)] + namespace["TABLE"] + list(namespace["Model"].SCALE)
    live += [namespace["Model"].flag]
    live = [f for f in live if hasattr(f, "__code__") and f.__code__.co_filename == str(path)]
    mutants = {(m.function, m.change): m for m in mutation.find_mutants(source)}
    limit = namespace["TABLE"][0]
    assert limit(9) == 10
    assert mutation._swap_in(source, str(path), mutants[("limit", "< -> <=")].index, live)
    assert limit(10) == 11 and namespace["limit"](10) == 11  # the registry's and the module's
    scale = namespace["Model"].SCALE[0]
    assert mutation._swap_in(source, str(path), mutants[("Model.<lambda>", "2 -> 3")].index, live)
    assert scale(5) == 15
    assert namespace["compiled"](1) == 2  # @njit functions are not mutated at all


def test_score_leaves_out_equivalent_skipped_and_pending(mutation):
    report = mutation.Report("m", mutants=20, killed=14, timeout=1, survived=2, equivalent=2, skipped=1)
    assert report.score == pytest.approx(15 / 17)
    assert mutation.Report("m").score == 1.0


def test_resume_runs_the_survivors_and_the_mutants_never_reached(mutation):
    """A run cut short by --max-seconds leaves its last mutants pending; --resume runs them and
    the survivors, not the killed ones (equivalents are counted, never run)."""
    mutants = [mutation.Mutant(i, i, "f", f"change {i}", f"line {i}") for i in range(10)]
    equivalents = {mutants[8].key}  # among the tail: still counted as equivalent, so not pending
    previous = {"survivors": [mutation.asdict(mutants[2])], "pending": 3}
    keys = mutation.rerun_keys(previous, mutants, equivalents)
    assert keys == {mutants[i].key for i in (2, 6, 7, 9)}
    assert mutation.rerun_keys({"survivors": [], "pending": 0}, mutants, equivalents) == set()


def test_today_cycles_through_the_modules(mutation):
    names = sorted(mutation.MODULES)
    assert mutation.pick_today(0) == names[0]
    assert mutation.pick_today(len(names) + 3) == names[3]
    assert {mutation.pick_today(d) for d in range(1, 367)} == set(names)
    some = ["kernel/ipc.py", "gui/models/base.py"]
    assert [mutation.pick_today(d, some) for d in (0, 1, 2)] == ["gui/models/base.py", "kernel/ipc.py",
                                                               "gui/models/base.py"]


def test_every_module_exists_and_has_tests(mutation):
    for module in mutation.MODULES:
        assert (ROOT / module).is_file(), module
        assert mutation._tests_for(module), module


def test_equivalents_name_real_mutants(mutation):
    for module, entries in mutation.load_equivalents().items():
        keys = {m.key for m in mutation.find_mutants((ROOT / module).read_text())}
        assert set(entries) <= keys, f"{module}: {sorted(set(entries) - keys)}"
        assert all(reason.strip() for reason in entries.values())
