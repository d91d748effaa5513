#!/usr/bin/env python3
"""Mutation testing of the kernel's IPC, SVCs and services, the memory paths and the GUI models.

A mutant is the module with one small change (``<`` made ``<=``, ``+`` made ``-``, ``and``
made ``or``, a number plus one, a ``not`` dropped...). The module's tests should fail on it:
then the mutant is *killed*; if they pass it *survived*, and either a test is missing or the
change makes no difference (an *equivalent* mutant, listed with its reason in
``tests/mutation_equivalents.toml``)::

    python scripts/mutation.py                        # every module below (hours)
    python scripts/mutation.py kernel/ipc.py kernel/svc   # a file, or every listed file in a folder
    python scripts/mutation.py --today                # one module, picked by the day of the year
    python scripts/mutation.py --today kernel/ipc.py gui/models   # ... among these (CI)
    python scripts/mutation.py kernel/ipc.py --survivors   # also list each survivor
    python scripts/mutation.py --json out.json        # the table as JSON too
    python scripts/mutation.py kernel/ipc.py --resume out.json   # out.json's survivors and pending again
    nice -n 10 python scripts/mutation.py kernel/ipc.py --timeout-scale 4   # a shared, loaded machine

It prints a table per module: mutants, killed, survived, timeout, equivalent, skipped, pending
(not reached within --max-seconds), score = (killed + timeout) / (mutants - equivalent - skipped -
pending); it exits 1 when a module scores under 90%. The measured tables and what was learnt are in
the closing note of issue 18.

Why not mutmut or cosmic-ray: mutmut 3 leaves every decorated function alone (its trampoline
wraps plain functions), and here nearly all the code under test is decorated -- ``@svc(...)``
handlers, the services' ``@command(...)`` tables, properties -- so it would have mutated almost
none of ``kernel/svc`` and ``kernel/services``. cosmic-ray rewrites the file and starts a new
test process per mutant, which costs the import of numba, Unicorn and Qt (seconds) every time.
This script does what both do, in one process per module: it imports the module and its tests
once, then for each mutant forks, swaps the mutated function's code object into the live
function objects (``function.__code__``, so decorator registries, bound methods and
``from ... import`` copies all run the mutant), and runs the module's tests with ``pytest -x``
in the child. Only code inside functions is mutated (class and module bodies run once at import,
before the swap); functions compiled by numba (``@njit``, ``@cfunc``) are skipped, as the
compiled code would not change.

Each module runs the test files that exercise it (MODULES below), not the whole suite, so a
module takes minutes. Tests that start ``hlemu`` in a subprocess run the unmutated code and
kill nothing; they are left out of the lists.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import gc
import glob
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import types
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
TARGET_SCORE = 0.90

_KERNEL_BASE = ["tests/kernel/test_handles.py", "tests/kernel/test_info_svcs.py"]

# module (a file) -> the tests that exercise it (paths or globs, relative to the repository).
MODULES: dict[str, list[str]] = {
    "kernel/ipc.py": ["tests/ipc", "tests/kernel/test_mutants_ipc*.py"],
    "kernel/ipc_codec.py": ["tests/ipc"],
    "kernel/state/rewind.py": ["tests/state/test_rewind.py", "tests/state/test_rewind_ring.py"],
    "hlemu/memory/paths.py": ["tests/memory"],
    "hlemu/memory/pagetable.py": ["tests/memory/test_pagetable.py", "tests/memory/test_reference_model.py",
                                  "tests/memory/test_mutants_*.py"],
    "hlemu/memory/space.py": ["tests/memory"],
    "gui/models/base.py": ["tests/gui/test_models.py", "tests/gui/test_mutants_models.py"],
    "gui/models/pages.py": ["tests/gui/test_models.py", "tests/gui/test_mutants_models.py"],
    "gui/models/tables.py": ["tests/gui/test_models.py", "tests/gui/test_mutants_models.py"],
    "gui/models/inspect.py": ["tests/gui/test_models.py", "tests/gui/test_mutants_models.py"],
    "gui/models/gpu.py": ["tests/gui/test_gpu_dock.py", "tests/gui/test_models.py", "tests/gui/test_mutants_models.py"],
    "kernel/svc/__init__.py": [*_KERNEL_BASE, "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/_args.py": [*_KERNEL_BASE, "tests/kernel/test_sync_svcs.py", "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/debug.py": [*_KERNEL_BASE, "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/ipc.py": ["tests/ipc", "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/listeners.py": [*_KERNEL_BASE, "tests/kernel/test_run_control.py", "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/memory.py": ["tests/kernel/test_memory_svcs.py", "tests/kernel/test_reliability.py",
                             "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/process.py": [*_KERNEL_BASE, "tests/kernel/test_processes.py", "tests/kernel/test_lifecycle.py",
                              "tests/kernel/test_threads.py", "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/sync.py": ["tests/kernel/test_sync_svcs.py", "tests/kernel/test_threads.py",
                           "tests/kernel/test_reliability.py", "tests/kernel/test_mutants_svc*.py"],
    "kernel/svc/thread.py": ["tests/kernel/test_threads.py", "tests/kernel/test_sync_svcs.py",
                             "tests/kernel/test_reliability.py", "tests/kernel/test_mutants_svc*.py"],
    "kernel/services/__init__.py": ["tests/services/test_trace_ipc.py", "tests/ipc",
                                    "tests/services/test_mutants_*.py"],
    "kernel/services/ac.py": ["tests/services/test_network.py", "tests/services/test_mutants_*.py"],
    "kernel/services/apt.py": ["tests/services/test_apt.py", "tests/services/test_mutants_*.py"],
    "kernel/services/buffers.py": ["tests/services/test_fs.py", "tests/services/test_mutants_*.py"],
    "kernel/services/cfg.py": ["tests/services/test_cfg.py", "tests/services/test_mutants_*.py"],
    "kernel/services/fs.py": ["tests/services/test_fs.py", "tests/services/test_mutants_*.py"],
    "kernel/services/fs_archive.py": ["tests/services/test_fs.py", "tests/services/test_mutants_*.py"],
    "kernel/services/fs_paths.py": ["tests/services/test_fs.py", "tests/services/test_mutants_*.py"],
    "kernel/services/gsp.py": ["tests/services/test_gx.py", "tests/kernel/test_display.py",
                               "tests/services/test_mutants_*.py"],
    "kernel/services/gx.py": ["tests/services/test_gx.py", "tests/services/test_mutants_*.py"],
    "kernel/services/gx_kernels.py": ["tests/services/test_gx.py", "tests/services/test_mutants_*.py"],
    "kernel/services/hid.py": ["tests/services/test_input.py", "tests/services/test_mutants_*.py"],
    "kernel/services/irrst.py": ["tests/services/test_input.py", "tests/services/test_mutants_*.py"],
    "kernel/services/ndm.py": ["tests/services/test_network.py", "tests/services/test_mutants_*.py"],
    "kernel/services/ptm.py": ["tests/services/test_ptm.py", "tests/services/test_mutants_*.py"],
    "kernel/services/srv.py": ["tests/ipc", "tests/services/test_mutants_*.py"],
    "kernel/services/shared_font.py": ["tests/services/test_shared_font.py", "tests/services/test_mutants_*.py"],
}

_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitOr,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.And: ast.Or, ast.Or: ast.And,
}
_SYMBOLS = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.In: "in",
    ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
    ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|",
    ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.And: "and", ast.Or: "or",
}
_COMPILED = {"njit", "jit", "cfunc", "vectorize", "generated_jit"}


@dataclass
class Mutant:
    index: int
    line: int
    function: str  # qualified name of the innermost function holding the change
    change: str  # e.g. "< -> <=", "0x10 -> 17", "drop not"
    code: str  # the source line, stripped
    nth: int = 1  # the same change on the same line of the same function: its place among them
    status: str = "pending"  # killed, survived, timeout, skipped, equivalent, pending
    tests: int = 0  # how many tests ran it

    @property
    def key(self) -> str:
        return _key(self.function, self.code, self.change, self.nth)


def _key(function: str, code: str, change: str, nth: int = 1) -> str:
    return f"{function} | {code} | {change}" + (f" | #{nth}" if nth > 1 else "")


@dataclass
class Report:
    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    equivalent: int = 0
    skipped: int = 0
    pending: int = 0
    seconds: float = 0.0
    survivors: list[dict] = field(default_factory=list)

    @property
    def score(self) -> float:
        tested = self.mutants - self.equivalent - self.skipped - self.pending
        return 1.0 if tested <= 0 else (self.killed + self.timeout) / tested


# -- finding the mutation points ---------------------------------------------------------------

class _Points:
    """Walks a module's AST in a fixed order, yielding (node, change, apply) for each mutation point
    inside a function body; the same walk over a fresh parse finds the same points by index."""

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.tree, self.lines = tree, lines

    def __iter__(self):
        yield from self._body(self.tree.body, [])

    def _body(self, statements: list[ast.stmt], chain: list[ast.AST]):
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(_decorator_name(d) in _COMPILED for d in statement.decorator_list):
                    continue
                body = statement.body
                if body and _is_docstring(body[0]):
                    body = body[1:]
                for node in body:
                    yield from self._expressions(node, [*chain, statement])
            elif isinstance(statement, ast.ClassDef):
                yield from self._body(statement.body, [*chain, statement])
            else:  # a module or class statement: only the lambdas in it run after the import
                for lam in _outer_lambdas(statement):
                    yield from self._expressions(lam, chain)

    def _expressions(self, root: ast.AST, chain: list[ast.AST]):
        # Depth-first, children in field order; annotations, f-strings and pragma'd lines are left.
        if isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            chain = [*chain, root]
        if isinstance(root, ast.JoinedStr):
            return
        line = getattr(root, "lineno", None)
        if line is not None and "pragma: no mutate" in self.lines[line - 1]:
            return
        yield from self._changes(root, chain)
        for name, value in ast.iter_fields(root):
            if name in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)) and name == "body":
                value = value[1:] if value and _is_docstring(value[0]) else value
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    yield from self._expressions(child, chain)

    def _changes(self, node: ast.AST, chain: list[ast.AST]):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _SWAPS:
                    yield node, chain, _swap_text(op), _set_compare(i)
        elif isinstance(node, (ast.BinOp, ast.AugAssign, ast.BoolOp)) and type(node.op) in _SWAPS:
            yield node, chain, _swap_text(node.op), _set_op
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.Invert)):
            yield node, chain, f"drop {ast.unparse(node.op).strip() or type(node.op).__name__}", None
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, chain, f"{node.value} -> {not node.value}", _flip_bool
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, chain, f"{_number(node, self.lines)} -> {node.value + 1}", _plus_one


def _outer_lambdas(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Lambda):
            yield child
        elif not isinstance(child, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            yield from _outer_lambdas(child)


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def _swap_text(op: ast.AST) -> str:
    return f"{_SYMBOLS[type(op)]} -> {_SYMBOLS[_SWAPS[type(op)]]}"


def _number(node: ast.Constant, lines: list[str]) -> str:
    if node.lineno == node.end_lineno:
        return lines[node.lineno - 1][node.col_offset:node.end_col_offset]
    return str(node.value)


def _set_compare(i: int):
    def apply(node: ast.Compare) -> ast.AST:
        node.ops[i] = _SWAPS[type(node.ops[i])]()
        return node
    return apply


def _set_op(node) -> ast.AST:
    node.op = _SWAPS[type(node.op)]()
    return node


def _flip_bool(node: ast.Constant) -> ast.AST:
    node.value = not node.value
    return node


def _plus_one(node: ast.Constant) -> ast.AST:
    node.value += 1
    return node


def _qualname(chain: list[ast.AST]) -> str:
    parts: list[str] = []
    for node in chain:
        name = "<lambda>" if isinstance(node, ast.Lambda) else node.name  # type: ignore[attr-defined]
        parts += [name, "<locals>"] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
            else [name]
    return ".".join(parts[:-1] if parts and parts[-1] == "<locals>" else parts)


def find_mutants(source: str) -> list[Mutant]:
    lines = source.splitlines()
    mutants: list[Mutant] = []
    seen: dict[str, int] = {}
    for index, (node, chain, change, _apply) in enumerate(_Points(ast.parse(source), lines)):
        mutant = Mutant(index, node.lineno, _qualname(chain), change, lines[node.lineno - 1].strip())
        first = mutant.key  # with nth 1: the key the count is kept under (mutant.key changes with nth)
        mutant.nth = seen[first] = seen.get(first, 0) + 1
        mutants.append(mutant)
    return mutants


def mutated_tree(source: str, index: int) -> tuple[ast.Module, list[tuple[str, int]]]:
    """The module's AST with mutation ``index`` applied, and the (qualname, first line) of each
    function enclosing it, innermost last."""
    tree = ast.parse(source)
    for i, (node, chain, _change, apply) in enumerate(_Points(tree, source.splitlines())):
        if i != index:
            continue
        if apply is None:  # drop a unary operator: put its operand in its place
            _replace(tree, node, node.operand)
        else:
            apply(node)
        functions = []
        for depth, fn in enumerate(chain):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                first = fn.decorator_list[0].lineno if getattr(fn, "decorator_list", None) else fn.lineno
                functions.append((_qualname(chain[:depth + 1]), first if not isinstance(fn, ast.Lambda) else fn.lineno))
        return tree, functions
    raise IndexError(index)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return


# -- running one module ------------------------------------------------------------------------

def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _live_functions(filename: str) -> list[types.FunctionType]:
    return [obj for obj in gc.get_objects()
            if isinstance(obj, types.FunctionType) and obj.__code__.co_filename == filename]


def _by_key(code: types.CodeType) -> dict[tuple[str, int], list[types.CodeType]]:
    found: dict[tuple[str, int], list[types.CodeType]] = {}
    for c in _code_objects(code):
        found.setdefault((c.co_qualname, c.co_firstlineno), []).append(c)
    return found


def _swap_in(source: str, filename: str, index: int, live: list[types.FunctionType]) -> bool:
    """Gives every live function the mutant changes (and those enclosing it) its mutated code.
    Functions are matched by qualified name and first line, then (two lambdas on one line) by
    which of the unmutated code objects they run."""
    tree, chain = mutated_tree(source, index)
    original = _by_key(compile(source, filename, "exec"))
    mutated = _by_key(compile(tree, filename, "exec"))
    swapped = False
    for function in live:
        key = (function.__code__.co_qualname, function.__code__.co_firstlineno)
        if key not in chain:
            continue
        for before, after in zip(original[key], mutated[key], strict=True):
            if function.__code__ == before:
                function.__code__ = after
                swapped = True
                break
    return swapped


def _tests_for(module: str) -> list[str]:
    paths = []
    for pattern in MODULES[module]:
        paths += sorted(glob.glob(str(ROOT / pattern)))
    return [*dict.fromkeys(paths)]


def _pytest_args(tests: list[str]) -> list[str]:
    return [*tests, "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-W",
            "ignore::pytest.PytestAssertRewriteWarning"]


class _Callers:
    """A pytest plugin for the unmutated run: which tests call each function of the module.

    A global trace function that only looks at 'call' events of the module's file (returning None,
    so no line tracing) is cheap enough for one run; each mutant then runs only the tests that
    call the function it changes."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.current = ""
        self.callers: dict[str, set[str]] = {}
        self.seconds: dict[str, float] = {}  # each test's duration

    def _trace(self, frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename == self.filename and self.current:
            self.callers.setdefault(f"{code.co_qualname}:{code.co_firstlineno}", set()).add(self.current)

    def pytest_runtest_protocol(self, item, nextitem):
        self.current = item.nodeid
        import threading
        sys.settrace(self._trace)
        threading.settrace(self._trace)

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration

    def pytest_runtest_logfinish(self, nodeid, location):
        import threading
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        self.current = ""


def _fork_run(run, timeout: float) -> str:
    """Runs ``run()`` (which returns a pytest exit code) in a forked child with its output dropped."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 70
        try:
            os.setpgid(0, 0)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = run()
        except BaseException:
            code = 71
        finally:
            os._exit(int(code))
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)
    if os.WIFSIGNALED(status):
        return "killed"
    code = os.WEXITSTATUS(status)
    return {0: "survived", 72: "skipped", 5: "survived"}.get(code, "killed")


def _baseline(module: str, filename: str, tests: list[str]) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Runs the tests on the unmutated module (in a child); returns who calls what, and how long each
    test took."""
    import pytest

    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"mutation-callers-{os.getpid()}.json"

    def run() -> int:
        callers = _Callers(filename)
        code = int(pytest.main(_pytest_args(tests), plugins=[callers]))
        # Fastest first: pytest -x stops at the first failure, so most mutants die in the quickest test.
        order = {nodeid: (seconds, nodeid) for nodeid, seconds in callers.seconds.items()}
        out.write_text(json.dumps({"callers": {k: sorted(v, key=lambda n: order.get(n, (0.0, n)))
                                               for k, v in callers.callers.items()},
                                   "seconds": callers.seconds}))
        return code

    if _fork_run(run, 3600) != "survived":
        raise SystemExit(f"{module}: the tests fail on the unmutated code: python -m pytest {' '.join(tests)}")
    found = json.loads(out.read_text())
    out.unlink()
    return found["callers"], found["seconds"]


def _quick_hypothesis() -> None:
    """A mutant only has to fail: Hypothesis need not shrink the failing example (which takes far
    longer than finding it) nor remember it in its database."""
    try:
        from hypothesis import Phase, settings
    except ImportError:
        return
    settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None)
    settings.load_profile("mutation")


def run_module(module: str, equivalents: dict[str, str], max_seconds: float | None,
               previous: dict | None = None, timeout_scale: float = 1.0) -> Report:
    """Mutates ``module`` and runs its tests on each mutant. With ``previous`` (this module's report
    from an earlier run of the same source), only its survivors run again: tests were added, so a
    mutant killed then is killed now."""
    import pytest

    started = time.monotonic()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    filename = str(ROOT / module)
    source = Path(filename).read_text()
    mutants = find_mutants(source)
    report = Report(module, mutants=len(mutants))
    stale = set(equivalents) - {m.key for m in mutants}
    for key in sorted(stale):  # the source changed under an entry of tests/mutation_equivalents.toml
        print(f"  {module}: no mutant matches the equivalent {key!r}", file=sys.stderr)
    tests = [*_tests_for(module), filename]  # the module's own doctests too
    _quick_hypothesis()
    # Import the module, its tests and their conftests once, in this process; the children inherit them.
    __import__(module.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    with open(os.devnull, "w") as null:
        saved = sys.stdout
        sys.stdout = null
        try:
            pytest.main([*_pytest_args(tests), "--collect-only"])
        finally:
            sys.stdout = saved
    callers, seconds = _baseline(module, filename, tests)
    live = _live_functions(filename)

    def child(index: int, selected: list[str]) -> int:
        if not _swap_in(source, filename, index, live):
            return 72
        return int(pytest.main(_pytest_args(selected)))

    rerun = None
    if previous is not None:
        if previous["mutants"] != len(mutants):
            raise SystemExit(f"{module}: {len(mutants)} mutants, the earlier report had {previous['mutants']}: "
                             "the source changed, run it whole")
        rerun = rerun_keys(previous, mutants, equivalents)
        for status in ("killed", "timeout", "skipped"):
            setattr(report, status, previous[status])
    for mutant in mutants:
        if rerun is not None and mutant.key not in rerun and mutant.key not in equivalents:
            continue
        _tree, chain = mutated_tree(source, mutant.index)
        selected = callers.get(f"{chain[-1][0]}:{chain[-1][1]}", [])
        mutant.tests = len(selected)
        if mutant.key in equivalents:
            mutant.status = "equivalent"
        elif max_seconds is not None and time.monotonic() - started > max_seconds:
            mutant.status = "pending"
        elif not selected:
            mutant.status = "survived"  # no test calls the function
        else:
            # A mutant that loops forever (i += 2 made i -= 2) costs this long: the tests' time, doubled
            # (times --timeout-scale on a loaded machine, where a slow child is not a hung one).
            timeout = (2 * sum(seconds.get(n, 1.0) for n in selected) + 15) * timeout_scale
            mutant.status = _fork_run(lambda m=mutant, t=selected: child(m.index, t), timeout)
        setattr(report, mutant.status, getattr(report, mutant.status) + 1)
        if mutant.index % 50 == 49:
            print(f"  {module}: {mutant.index + 1}/{len(mutants)} mutants, {report.survived} survived, "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        if mutant.status == "survived":
            report.survivors.append(asdict(mutant))
    report.seconds = round(time.monotonic() - started, 1)
    return report


# -- the table ---------------------------------------------------------------------------------

def rerun_keys(previous: dict, mutants: list[Mutant], equivalents: Collection[str]) -> set[str]:
    """What ``--resume`` runs again: the earlier report's survivors and the mutants it never
    reached. Those are its last ``pending`` mutants that are not equivalent: a run that hits
    ``--max-seconds`` leaves every later one pending (equivalents are still counted as such),
    so a long module can be finished in more than one sitting."""
    keys = {_key(s["function"], s["code"], s["change"], s["nth"]) for s in previous["survivors"]}
    if previous.get("pending"):
        reachable = [m.key for m in mutants if m.key not in equivalents]
        keys.update(reachable[-previous["pending"]:])
    return keys


def load_equivalents() -> dict[str, dict[str, str]]:
    """{module: {mutant key: reason}} from tests/mutation_equivalents.toml."""
    data = tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    found: dict[str, dict[str, str]] = {}
    for entry in data.get("equivalent", []):
        key = _key(entry["function"], entry["code"], entry["change"], entry.get("nth", 1))
        found.setdefault(entry["module"], {})[key] = entry["reason"]
    return found


def table(reports: list[Report]) -> str:
    header = f"{'module':32} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'equiv':>5} " \
             f"{'skipped':>7} {'pending':>7} {'score':>6}"
    rows = [header, "-" * len(header)]
    for r in reports:
        rows.append(f"{r.module:32} {r.mutants:7} {r.killed:6} {r.survived:8} {r.timeout:7} {r.equivalent:5} "
                    f"{r.skipped:7} {r.pending:7} {r.score:6.1%}")
    return "\n".join(rows)


def pick_today(day: int | None = None, modules: list[str] | None = None) -> str:
    """One of ``modules`` (default: all), by the day of the year: over a year each gets its days."""
    day = day if day is not None else datetime.date.today().timetuple().tm_yday
    names = sorted(modules or MODULES)
    return names[day % len(names)]


def _expand(names: list[str]) -> list[str]:
    chosen = []
    for name in names:
        name = name.rstrip("/")
        matches = [m for m in MODULES if m == name or m.startswith(name + "/")]
        if not matches:
            raise SystemExit(f"not a module mutation.py knows: {name} (see MODULES in scripts/mutation.py)")
        chosen += matches
    return [*dict.fromkeys(chosen)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="files or folders (default: every module)")
    parser.add_argument("--today", action="store_true",
                        help="one of the modules (default: all), picked by the day of the year")
    parser.add_argument("--json", type=Path, help="write the reports as JSON to this file")
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant")
    parser.add_argument("--max-seconds", type=float, help="per module: leave the rest pending after this long")
    parser.add_argument("--resume", type=Path, help="an earlier --json report of the same sources: run only "
                        "its survivors (after adding tests) and the mutants it did not reach")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply each mutant's time limit (twice its tests' time + 15 s) by this, on a "
                        "loaded machine: a timeout counts as killed, so a false one inflates the score")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one module in this process
    args = parser.parse_args(argv)
    equivalents = load_equivalents()
    if args.one:
        previous = None
        if args.resume:
            previous = {r["module"]: r for r in json.loads(args.resume.read_text())}.get(args.one)
        report = run_module(args.one, equivalents.get(args.one, {}), args.max_seconds, previous,
                            args.timeout_scale)
        args.json.write_text(json.dumps(asdict(report)))
        return 0
    modules = _expand(args.modules or list(MODULES))
    if args.today:
        modules = [pick_today(modules=modules)]
    reports = []
    for module in modules:
        out = Path(os.environ.get("TMPDIR", "/tmp")) / f"mutation-{os.getpid()}.json"
        command = [sys.executable, __file__, "--one", module, "--json", str(out)]
        if args.max_seconds:
            command += ["--max-seconds", str(args.max_seconds)]
        if args.resume:
            command += ["--resume", str(args.resume.resolve())]
        if args.timeout_scale != 1.0:
            command += ["--timeout-scale", str(args.timeout_scale)]
        print(f"mutation: {module} ({len(_tests_for(module))} test paths)", flush=True)
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            return 2
        data = json.loads(out.read_text())
        out.unlink()
        reports.append(Report(**data))
        if args.survivors:
            for s in reports[-1].survivors:
                print(f"  survived {module}:{s['line']} {s['function']}: {s['change']}"
                      f"{'' if s['nth'] == 1 else ' #' + str(s['nth'])} ({s['tests']} tests)   {s['code']}")
    print(table(reports))
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "score": r.score} for r in reports], indent=1))
    low = [r.module for r in reports if r.score < TARGET_SCORE]
    if low:
        print(f"mutation: under {TARGET_SCORE:.0%}: {', '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
