"""Waiting for a condition in a page of ours, for the browser tests.

Playwright's ``wait_for_function`` checks its expression once, then polls it from inside the page,
where it is compiled with ``eval``: the pages' Content-Security-Policy (``script-src 'self'``, no
``'unsafe-eval'``, backend/web/headers.py) refuses that, so a wait whose condition is not already
true fails with an EvalError (seen on a loaded CI machine). ``page.evaluate`` is the DevTools
protocol's own evaluation, which the policy does not govern: the polling is done from here.
"""
from __future__ import annotations

import time


def wait_until(page, expression: str, timeout: float = 15.0, interval: float = 0.05):
    """Evaluates ``expression`` in ``page`` until it is truthy; returns its value, or fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout:.0f} s: {expression}")
        time.sleep(interval)
