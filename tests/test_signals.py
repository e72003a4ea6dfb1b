"""The stop signals' installer (vidclear.core.signals.stop_signals)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from vidclear import _sigint
from vidclear.core.signals import STOP_SIGNALS, call_until, stop_signals


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler between bytecodes of the main thread


def test_every_stop_signal_reaches_the_handler_and_the_old_handlers_come_back():
    seen: list[int] = []
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    try:
        with stop_signals(lambda signum, _frame: seen.append(signum)):
            for s in STOP_SIGNALS:
                _deliver(s)
        after = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    finally:  # the rest of the suite gets its own handlers back
        for s, h in before.items():
            signal.signal(s, h)
    assert seen == list(STOP_SIGNALS)
    if hasattr(signal, "SIGHUP"):  # one arrived: it stays ignored (the terminal is gone)
        assert after.pop(signal.SIGHUP) == signal.SIG_IGN
        del before[signal.SIGHUP]
    assert after == before


def test_a_sigint_the_command_took_before_is_handed_to_the_run():
    # The command's SIGINT before a run's handlers raises KeyboardInterrupt;
    # swallowed by a library call (PyAV's open makes it an error of its own),
    # it was lost and the run went on (trial 141 F2).
    before = signal.getsignal(signal.SIGINT)
    seen: list[int] = []
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _sigint.take()
        with pytest.raises(KeyboardInterrupt):
            _deliver(signal.SIGINT)
        assert _sigint.interrupted_by(ValueError("any error now"))
        with stop_signals(lambda signum, _frame: seen.append(signum)):
            pass
        assert not _sigint.interrupted_by(ValueError("forgotten once handed on"))
    finally:
        signal.signal(signal.SIGINT, before)
    assert seen == [signal.SIGINT]


def test_an_error_caused_by_a_keyboard_interrupt_is_one():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__") from exc
    except RuntimeError as err:
        assert _sigint.interrupted_by(err)
    assert not _sigint.interrupted_by(RuntimeError("plain"))


def test_sighup_comes_back_when_none_arrived():
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    seen: list[int] = []
    with stop_signals(lambda signum, _frame: seen.append(signum)):
        _deliver(signal.SIGTERM)
    assert seen == [signal.SIGTERM]
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == before


def test_outside_the_main_thread_nothing_is_installed():
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    during: list[dict[int, object]] = []

    def body() -> None:
        with stop_signals(lambda signum, _frame: None):
            during.append({s: signal.getsignal(s) for s in STOP_SIGNALS})

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert during == [before]


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_hangup_the_process_started_ignoring_stays_ignored():
    # nohup ignores SIGHUP so that a job outlives its terminal: vidclear
    # installed its handler over that, and `nohup vidclear run` stopped at
    # the first hangup (trial 60). An ignored SIGINT is still taken (a
    # background batch must stop on `kill -INT`, as FFmpeg does).
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    seen: list[int] = []
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with stop_signals(lambda signum, _frame: seen.append(signum)):
            during = signal.getsignal(signal.SIGHUP)
            _deliver(signal.SIGHUP)
            _deliver(signal.SIGINT)
        after = signal.getsignal(signal.SIGHUP)
    finally:
        for s, h in before.items():
            signal.signal(s, h)
    assert during == signal.SIG_IGN and after == signal.SIG_IGN
    assert seen == [signal.SIGINT]


def test_call_until_gives_up_on_a_stop_and_discards_what_comes_later():
    release, discarded = threading.Event(), []
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    done, result = call_until(lambda: release.wait(10) and "late", stop.is_set,
                              discard=discarded.append)
    assert (done, result) == (False, None) and time.monotonic() - t0 < 2.0
    release.set()
    deadline = time.monotonic() + 5
    while not discarded and time.monotonic() < deadline:
        time.sleep(0.01)
    assert discarded == ["late"]  # (a connection that opened too late is closed)
    assert call_until(lambda: 7, lambda: False) == (True, 7)
    with pytest.raises(ZeroDivisionError):  # the call's error, in the waiting thread
        call_until(lambda: 1 / 0, lambda: False)
