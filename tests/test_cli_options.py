"""Bad numbers on the command line are refused by argparse, naming the option, exit status 2."""

from __future__ import annotations

import pytest

from hlemu.cli import build_parser, main


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--frames", "-1", "hello"], "argument --frames: expected a whole number of at least 1, got -1"),
    (["run", "--frames", "0", "hello"], "argument --frames: expected a whole number of at least 1, got 0"),
    (["run", "--max-instructions", "0", "hello"], "argument --max-instructions: expected a whole number of at least 1"),
    (["run", "--max-instructions", "-5", "hello"], "argument --max-instructions: expected a whole number of at least"),
    (["run", "--quantum", "0"], "argument --quantum: expected a whole number of at least 1, got 0"),
    (["run", "--quantum", "-1"], "argument --quantum: expected a whole number of at least 1, got -1"),
    (["run", "--quantum", "2.5"], "argument --quantum: expected a whole number, got '2.5'"),
    (["run", "--host-page-size", "12345"], "argument --host-page-size: 12345 is not a power of two of at least 4096"),
    (["run", "--host-page-size", "2048"], "argument --host-page-size: 2048 is not a power of two of at least 4096"),
    (["info", "--host-page-size", "banana"], "argument --host-page-size: 'banana' is not a number of bytes"),
    (["repl", "--host-page-size", "0"], "argument --host-page-size: 0 is not a power of two"),
    (["gui", "--frames", "-1"], "argument --frames: expected a whole number of at least 1, got -1"),
    (["gui", "--host-page-size", "65537"], "argument --host-page-size: 65537 is not a power of two"),
    (["gui", "--scale", "banana"], "argument --scale: invalid int value: 'banana'"),
    (["bench", "memory", "--reads", "0"], "argument --reads: expected a whole number of at least 1, got 0"),
    (["bench", "memory", "--copies", "-3"], "argument --copies: expected a whole number of at least 1, got -3"),
    (["bench", "memory", "--repeats", "many"], "argument --repeats: expected a whole number, got 'many'"),
])
def test_bad_numbers_name_the_option_and_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "<lambda>" not in err


@pytest.mark.parametrize(("args", "attribute", "value"), [
    (["run", "--host-page-size", "16384"], "host_page_size", 16384),
    (["run", "--host-page-size", "0x10000"], "host_page_size", 65536),
    (["info", "--host-page-size", "4096"], "host_page_size", 4096),
    (["run", "--max-instructions", "1_000_000"], "max_instructions", 1_000_000),
    (["run", "--quantum", "1"], "quantum", 1),
    (["gui", "--frames", "120"], "frames", 120),
    (["bench", "memory", "--reads", "1000"], "reads", 1000),
])
def test_good_numbers_are_parsed(args, attribute, value):
    assert getattr(build_parser().parse_args(args), attribute) == value


# Subcommands whose options another module defines (hlemu/fuzz/cli.py); its owner was asked to
# use hlemu.options' types. Remove a name here once its options are checked.
DEFINED_ELSEWHERE: set[str] = set()


def test_every_numeric_option_has_a_checking_type():
    """No option is left with a bare ``int`` (which takes -1) or a lambda (whose error says '<lambda>')."""
    parser = build_parser()
    unchecked = []

    def walk(p, where):
        if where.split()[-1] in DEFINED_ELSEWHERE:
            return
        for action in p._actions:
            if action.type in (int, float) and not action.choices:
                unchecked.append(f"{where} {action.option_strings}")
            if getattr(action.type, "__name__", "") == "<lambda>":
                unchecked.append(f"{where} {action.option_strings}")
            if isinstance(action.choices, dict):  # a subcommand's parsers
                for name, sub in action.choices.items():
                    walk(sub, f"{where} {name}")

    walk(parser, "hlemu")
    assert not unchecked
