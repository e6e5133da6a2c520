"""The python -m entry points' shared ending (videogen3d.utils.entry.run_main)."""

import pytest

from videogen3d.utils.entry import run_main


def _raise(exc):
    def main():
        raise exc
    return main


@pytest.mark.parametrize("returned, status", [(0, 0), (3, 3), ([1, 2], 0), (None, 0), (True, 0)])
def test_the_exit_status_is_mains_int_else_zero(returned, status):
    with pytest.raises(SystemExit) as done:
        run_main(lambda: returned, "prog")
    assert done.value.code == status


@pytest.mark.parametrize("exc", [FileNotFoundError("no checkpoint at 'x.ckpt'"), ValueError("--rows 0 must be >= 1")])
def test_a_refusal_is_one_line_naming_it_and_status_1(exc, capsys):
    with pytest.raises(SystemExit) as done:
        run_main(_raise(exc), "videogen3d.synthesis.reconstruction")
    assert done.value.code == 1
    assert capsys.readouterr().err == f"videogen3d.synthesis.reconstruction: {exc}\n"


def test_other_errors_are_not_swallowed():
    with pytest.raises(KeyError):
        run_main(_raise(KeyError("bug")), "prog")
