"""The app as wsgi.py makes it, with the crash tests' pause installed (tests/faults/pause_hook.py):
`gunicorn -c gunicorn.conf.py tests.faults.crash_wsgi:app` with BAODAO_TEST_PAUSE=<seconds>."""
import os

from tests.faults.pause_hook import ENV, install, parse_seconds
from wsgi import app  # noqa: F401  (what gunicorn serves)

_seconds = parse_seconds(os.environ.get(ENV))
if _seconds:
    install(_seconds)
