"""The backend decision, including hosts whose pages are not 4 KiB."""

from __future__ import annotations

import pytest

from hlemu.memory import BackendError, MemorySystem, choose_backend


def test_auto_picks_fastmem_on_a_4k_host_that_can_reserve():
    choice = choose_backend("auto", page_size=4096, can_reserve=lambda: (True, "ok"))
    assert choice.name == "fastmem"


@pytest.mark.parametrize("page_size", [16384, 65536])
def test_auto_falls_back_to_semifastmem_on_large_page_hosts(page_size, caplog):
    caplog.set_level("INFO")
    choice = choose_backend("auto", page_size=page_size)
    assert choice.name == "semifastmem"
    assert f"host pages are {page_size // 1024} KiB" in choice.reason
    assert "semifastmem, because host pages" in caplog.text


def test_auto_falls_back_when_the_slab_cannot_be_reserved():
    choice = choose_backend("auto", page_size=4096, can_reserve=lambda: (False, "no address space"))
    assert (choice.name, choice.reason) == ("semifastmem", "no address space")


def test_explicit_fastmem_on_an_impossible_host_is_a_clear_error():
    with pytest.raises(BackendError, match="fastmem is impossible here: host pages are 16 KiB"):
        choose_backend("fastmem", page_size=16384)


@pytest.mark.parametrize("name", ["semifastmem", "slowmem"])
def test_explicit_choices_are_honoured(name):
    assert choose_backend(name, page_size=65536).name == name


def test_unknown_backend():
    with pytest.raises(BackendError, match="unknown backend 'turbo'"):
        choose_backend("turbo")


def test_environment_variable_simulates_a_16k_host(monkeypatch):
    monkeypatch.setenv("HLEMU_HOST_PAGE_SIZE", "16384")
    assert choose_backend("auto").name == "semifastmem"
    monkeypatch.setenv("HLEMU_HOST_PAGE_SIZE", "lots")
    with pytest.raises(BackendError, match="not a number"):
        choose_backend("auto")


@pytest.fixture
def semifast_system():
    """A memory system on a simulated 16 KiB host, closed (its memfd released) pass or fail."""
    system = MemorySystem(backend="auto", host_page_size=16384)
    yield system
    system.close()


def test_a_semifastmem_system_gives_spaces_no_slab_and_mem_is_semifast(semifast_system):
    space = semifast_system.create_space(1)
    assert space.slab is None and space.fast is None
    assert space.mem is space.semifast


def test_fastmem_trap_is_chosen_only_on_request_and_needs_what_fastmem_needs():
    from hlemu.memory.backend import BACKENDS, CHOICES
    from hlemu.options import MEMORY_BACKENDS

    assert "fastmem_trap" in BACKENDS and MEMORY_BACKENDS == CHOICES  # the CLI lists every backend
    assert choose_backend("auto", page_size=4096, can_reserve=lambda: (True, "ok")).name == "fastmem"
    with pytest.raises(BackendError, match="fastmem_trap is impossible here: host pages are 16 KiB"):
        choose_backend("fastmem_trap", page_size=16384)
    with pytest.raises(BackendError, match="fastmem_trap is impossible here: no address space"):
        choose_backend("fastmem_trap", page_size=4096, can_reserve=lambda: (False, "no address space"))
