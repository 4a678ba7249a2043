"""What the tests (``tests/``) and the benchmark (``bench/``) both drive the app with.

* :mod:`harness.cdp`: headless Chromium over the Chrome DevTools Protocol;
* :mod:`harness.net`: free ports, action ids and the app's forms over HTTP.

Only ``tests`` and ``bench`` import it, from the repository root (``pytest``,
``python -m bench``); the ``facilitator`` package never does.
"""
