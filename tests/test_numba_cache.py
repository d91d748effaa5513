"""hlemu.numba_cache: an edit to any compiled module drops every compiled module's cached code
(numba itself only notices edits to a function's own file)."""

from __future__ import annotations

from hlemu import numba_cache


def _tree(tmp_path):
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    made = [cache / "a.f-3.py311.nbi", cache / "a.f-3.py311.1.nbc", cache / "b.g-9.py311.nbi", cache / "other.pyc"]
    for path in made:
        path.write_bytes(b"x")
    return made


def test_an_edit_to_one_compiled_module_drops_the_cached_code_of_all(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    made = _tree(tmp_path)
    stamp = tmp_path / "stamp"
    files = ("a.py", "b.py")
    assert numba_cache.check(files, tmp_path, stamp) == 3  # no stamp yet: nothing is trusted
    assert [p.exists() for p in made] == [False, False, False, True]  # the .pyc stays
    for path in made[:3]:
        path.write_bytes(b"x")  # compiled again
    assert numba_cache.check(files, tmp_path, stamp) == 0  # unchanged sources: the cache stays
    assert all(p.exists() for p in made)
    (tmp_path / "b.py").write_text("# b.py, edited\n")
    assert numba_cache.check(files, tmp_path, stamp) == 3  # a's cache goes too: it may inline b
    assert not any(p.exists() for p in made[:3])


def test_a_cache_elsewhere_is_left_alone(tmp_path, monkeypatch):
    made = _tree(tmp_path)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert numba_cache.check(("a.py", "b.py"), tmp_path, tmp_path / "stamp") == 0
    assert all(p.exists() for p in made)


def test_the_list_names_every_module_that_compiles():
    found = {p.relative_to(numba_cache.ROOT).as_posix() for top in ("hlemu", "kernel", "gui")
             for p in (numba_cache.ROOT / top).rglob("*.py") if "from numba" in p.read_text()}
    assert found <= set(numba_cache.COMPILED)
