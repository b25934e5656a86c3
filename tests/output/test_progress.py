"""The progress line and the output layer under it, in-process: what each line says,
how often a log gets one, and that a live line stays below everything else."""

from __future__ import annotations

import io

import pytest

from inkbox_sync.cli import output, progress
from inkbox_sync.cli.progress import Progress, clock_time
from inkbox_sync.client import ClientStats
from tests.support.cli import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (8.9, "0:08"), (750, "12:30"), (3723, "1:02:03")]
)
def test_clock_time(seconds: float, shown: str) -> None:
    assert clock_time(seconds) == shown


def test_the_line_says_done_total_rate_elapsed_and_eta() -> None:
    clock = Clock()
    line = Progress("applying", "writes", total=10000, terminal=True, clock=clock)
    assert line.line() == "applying: 0/10000 writes (0%), 0:00 elapsed"  # too early for a rate
    clock.now += 8
    line.update(3436, 10000)
    assert line.line() == "applying: 3436/10000 writes (34%), 430/s, 0:08 elapsed, ETA 0:15"


def test_a_total_not_known_yet_has_no_percentage_nor_eta() -> None:
    clock = Clock()
    line = Progress("reading live state", "requests", terminal=True, clock=clock)
    clock.now += 2
    line.update(300, None)
    assert line.line() == "reading live state: 300 requests, 150/s, 0:02 elapsed"


def test_the_rate_follows_the_last_seconds_not_the_whole_run() -> None:
    clock = Clock()
    line = Progress("applying", "writes", total=2000, terminal=True, clock=clock)
    for _ in range(30):  # 100 a second for 30 s, as the line is drawn
        clock.now += 1
        line.advance(30)
        line.line()
    for _ in range(15):  # then 10 a second (a rate limit)
        clock.now += 1
        line.advance(1)
        line.line()
    assert ", 1/s," in line.line()


def test_waiting_on_the_rate_limit_replaces_the_eta() -> None:
    """Issue 14: nothing said when the tool was waiting on a rate limit."""
    stats = ClientStats()
    clock = Clock()
    live = Progress("applying", "writes", total=100, stats=stats, terminal=True, clock=clock)
    clock.now += 2
    live.update(50, 100)
    assert live.line().endswith("ETA 0:02")
    stats.waiting = 3  # sends held back by pacing or a Retry-After, right now
    assert live.line().endswith("0:02 elapsed, waiting on the rate limit")
    stats.waiting = 0
    assert "waiting" not in live.line()


def test_in_a_log_a_wait_since_the_line_before_is_said_once() -> None:
    stats = ClientStats()
    clock = Clock()
    log = Progress("applying", "writes", total=100, stats=stats, terminal=False, clock=clock)
    clock.now += 5
    assert "waiting" not in log.line()
    stats.paced_waits += 1  # a send waited, and no longer does
    assert log.line().endswith("waiting on the rate limit")
    assert "waiting" not in log.line()


def test_without_a_terminal_a_line_comes_every_interval(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.05)
    with Progress("applying", "writes", total=10, terminal=False) as log:
        log.advance(4)
        wait_until(lambda: capsys.readouterr().err.count("applying: 4/10 writes (40%)") >= 1)
    after = capsys.readouterr()
    assert after.out == "" and "\r" not in after.err  # plain lines, on stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_live_line_stays_below_what_else_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setattr("sys.stderr", screen)
    output.live("applying: 1/3 writes")
    output.say("[2/3] create allow +14155550100 on +14155550001 (active) ... ok")
    output.live(None)
    assert screen.getvalue() == (
        "\rapplying: 1/3 writes\x1b[K"
        "\r\x1b[K[2/3] create allow +14155550100 on +14155550001 (active) ... ok\n"
        "\rapplying: 1/3 writes\x1b[K"
        "\r\x1b[K"
    )


def test_no_live_line_and_no_colour_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.live("applying: 1/3 writes")
    output.say("FAILED", fg="red")
    output.live(None)
    assert capsys.readouterr().out == "FAILED\n"


def test_annotations_are_redacted_then_escaped() -> None:
    output.protect("sk-live-annotation-key")
    line = output.github_annotation(
        "warning",
        "https://bot:pw@hooks.example.com/x?token=abc: 50%\nnext, sk-live-annotation-key",
        file="manifests/a,b.yaml",
        line=7,
        column=5,
        title="inkbox-sync plan",
    )
    assert line == (
        "::warning file=manifests/a%2Cb.yaml,line=7,col=5,title=inkbox-sync plan::"
        "https://***@hooks.example.com/x?token=***: 50%25%0Anext, ***"
    )


def test_failures_and_errors_are_red_on_a_terminal_unless_colour_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setattr(output, "_colour", True)
    output.say("[3/9] delete rule ... FAILED: 403", fg="red")
    output.use_color(False)  # --no-color / NO_COLOR
    output.say("[4/9] delete rule ... FAILED: 403", fg="red")
    assert screen.getvalue() == (
        "\x1b[31m[3/9] delete rule ... FAILED: 403\x1b[0m\n[4/9] delete rule ... FAILED: 403\n"
    )
