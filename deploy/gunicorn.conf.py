"""gunicorn settings for one ipledge app server (see docs/deployment.md).

Sync workers suit Django's blocking ORM; with 2 vCPU, 5 workers × 4 threads keeps both cores busy while some
requests wait on PostgreSQL. Override any value with GUNICORN_* environment variables in ipledge.env.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker stuck longer than this (a runaway report) is replaced; large imports run as background tasks.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak in a library never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# The app writes one JSON line per request itself (ipledge.request), with the request id and the user.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "ipledge.wsgi:application"
