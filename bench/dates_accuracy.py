"""Accuracy of bare dateparser and of Coordo's date parser on the test corpus, on the corpus of
how people type dates, and the cost of a parse.

Run from the repository root:

    python bench/dates_accuracy.py [--show wrong,refused]

The corpus of how people type (``tests/commands/dates_typed.py``) is scored three ways
per language: correct (the expected value, or a refusal where one is expected), wrong (any
other value, or a value where a refusal is expected) and refused (a refusal where a value
was expected). ``--show`` lists the cases of the given kinds.

Bare dateparser reads each case with ``dateparser.parse(text, languages=[lang])``,
``PREFER_DATES_FROM`` future (past for the date of something done), ``DATE_ORDER`` DMY in
French and ``RELATIVE_BASE`` the case's time. It is given every chance: a date is compared
on the day alone when no time was meant, and an expected error counts as right when it
finds nothing. It cannot give a range or a recurrence, so those count as wrong.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dateparser

from commands.dates import find_when, parse_when
from tests.commands.dates_corpus import BASE, CORPUS, Case, outcome
from tests.commands.dates_typed import TYPED, verdict


def bare_dateparser(case: Case) -> bool:
    settings = {
        "PREFER_DATES_FROM": "past" if case.mode == "done" else "future",
        "RELATIVE_BASE": case.now.replace(tzinfo=None),
    }
    if case.lang == "fr":
        settings["DATE_ORDER"] = "DMY"
    found = dateparser.parse(case.text, languages=[case.lang], settings=settings)
    expected = case.expected
    if expected.startswith("!"):
        return found is None
    if found is None or expected.startswith("RRULE:") or expected.count(":") > 1:
        return False
    if " " in expected:  # a date and a time
        return found.strftime("%Y-%m-%d %H:%M") == expected
    return found.strftime("%Y-%m-%d") == expected


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timings(rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds per call: of a parse (wall clock, then CPU time of this thread, which a
    machine busy with other processes does not inflate), and of a search in a title."""
    parse_ms: list[float] = []
    parse_cpu_ms: list[float] = []
    for _ in range(rounds):
        for case in [*CORPUS, *TYPED]:
            start, cpu = time.perf_counter(), time.thread_time()
            outcome(case)
            parse_cpu_ms.append((time.thread_time() - cpu) * 1000)
            parse_ms.append((time.perf_counter() - start) * 1000)
    long_title = " ".join(["Préparer le bilan intermédiaire de l'atelier citoyen"] * 100)
    find_ms: list[float] = []
    for text in (
        "Lancer l'appel à projets vendredi prochain",
        "mardi 8 décembre 14h-16h Salle du conseil",
        long_title + " vendredi prochain",
    ):
        for _ in range(rounds * 20):
            start = time.perf_counter()
            find_when(text, now=BASE, lang="fr")
            find_ms.append((time.perf_counter() - start) * 1000)
    return parse_ms, parse_cpu_ms, find_ms


def typed_figures(show: set[str]) -> None:
    counts = Counter[tuple[str, str]]()
    totals = Counter[str]()
    listed: list[str] = []
    for case in TYPED:
        kind, got = verdict(case)
        counts[case.lang, kind] += 1
        totals[case.lang] += 1
        if kind in show:
            listed.append(
                f"  {kind:8} {case.lang} {case.mode:8} {case.text!r}: {got} (expected {case.expected})"
            )
    print(
        f"\ntyped corpus: {sum(totals.values())} phrasings ({totals['fr']} fr, {totals['en']} en)"
    )
    print(f"{'':12}{'correct':>10}{'wrong':>10}{'refused':>10}")
    for lang in ("fr", "en"):
        print(
            f"{lang:12}"
            + "".join(
                f"{counts[lang, kind] / totals[lang]:>10.1%}"
                for kind in ("correct", "wrong", "refused")
            )
        )
    if listed:
        print("\n".join(listed))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", default="", help="list these kinds: wrong,refused,correct")
    args = parser.parse_args()
    # warm-up: dateparser loads its language data on first use
    for case in CORPUS:
        outcome(case)
        bare_dateparser(case)
    for case in TYPED:
        outcome(case)
    parse_when("in a fortnight", now=BASE, lang="en")

    coordo_right = Counter[str]()
    bare_right = Counter[str]()
    totals = Counter[str]()
    misses: list[str] = []
    for case in CORPUS:
        totals[case.lang] += 1
        got = outcome(case)
        if got == case.expected:
            coordo_right[case.lang] += 1
        else:
            misses.append(f"  {case.lang} {case.text!r}: {got} (expected {case.expected})")
        if bare_dateparser(case):
            bare_right[case.lang] += 1

    n = sum(totals.values())
    print(f"corpus: {n} expressions ({totals['fr']} fr, {totals['en']} en)")
    print(f"{'':12}{'bare dateparser':>18}{'Coordo':>12}")
    for lang in ("fr", "en"):
        print(
            f"{lang:12}{bare_right[lang] / totals[lang]:>18.1%}"
            f"{coordo_right[lang] / totals[lang]:>12.1%}"
        )
    print(f"{'all':12}{sum(bare_right.values()) / n:>18.1%}{sum(coordo_right.values()) / n:>12.1%}")
    if misses:
        print("Coordo's misses:")
        print("\n".join(misses))

    typed_figures(set(filter(None, args.show.split(","))))

    parse_ms, parse_cpu_ms, find_ms = timings(rounds=5)
    print(
        f"parse_when, one parse after warm-up, both corpora ({len(parse_ms)} runs): "
        f"p50 {statistics.median(parse_ms):.3f} ms, p99 {percentile(parse_ms, 99):.3f} ms, "
        f"max {max(parse_ms):.3f} ms; CPU time p50 {statistics.median(parse_cpu_ms):.3f} ms, "
        f"p99 {percentile(parse_cpu_ms, 99):.3f} ms (goal: p99 under 1 ms)"
    )
    slow = sum(ms > 1 for ms in parse_cpu_ms) / len(parse_cpu_ms)
    print(f"  parses over 1 ms of CPU: {slow:.2%}")
    print(
        f"find_when, including a 5,000-character title ({len(find_ms)} runs): "
        f"p50 {statistics.median(find_ms):.3f} ms, p99 {percentile(find_ms, 99):.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
