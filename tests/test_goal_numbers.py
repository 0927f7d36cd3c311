"""Number words in goals, English and Russian, read as the digits a person means."""

from __future__ import annotations

import pytest

from agent.goal_numbers import find_numbers, number_at, ordinal_value, spelled_numbers, words_to_digits


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("rank 16 alpha 32", [16, 32]),
        ("alpha thirty-two", [32]),
        ("alpha thirty two", [32]),
        ("one hundred and twenty-eight", [128]),
        ("lr 2e-5, dropout 0.05", [2e-5, 0.05]),
        ("zero point one", [0.1]),
        ("twelve twelve", [12, 12]),
        ("ранг шестнадцать", [16]),
        ("с альфой восемь", [8]),
        ("сто двадцать восемь", [128]),
        ("двадцатью пятью", [25]),
        ("за пять эпох", [5]),
        ("шестидесяти четырех", [64]),
        ("no numbers here", []),
    ],
)
def test_find_numbers(text: str, values: list[float]) -> None:
    assert [n.value for n in find_numbers(text)] == pytest.approx(values)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("seventy percent ours", "70%             ours"),  # then one spelling of a percentage, "70%"
        ("тридцать процентов базе", "30%                базе"),
        ("thirty-two layers", "thirty-two layers"),  # a number word not said as a percentage is left to its reader
    ],
)
def test_number_words_said_as_a_percentage_are_digits_in_place(text: str, read: str) -> None:
    assert spelled_numbers(text) == read


def test_word_spans_and_rewrite() -> None:
    n = number_at("alpha thirty-two on data", 6)
    assert n is not None and (n.start, n.end, n.value, n.words) == (6, 16, 32.0, True)
    assert words_to_digits("ранг шестнадцать, с альфой восемь") == "ранг 16, с альфой 8"
    assert number_at("alpha of", 6) is None


@pytest.mark.parametrize(
    ("word", "value"),
    [("third", 3), ("3rd", 3), ("первого", 1), ("второго", 2), ("пятый", 5), ("третьего", 3), ("третью", 3),
     ("пятью", None), ("семью", None), ("rank", None)],
)  # fmt: skip
def test_ordinals(word: str, value: int | None) -> None:
    assert ordinal_value(word) == value
