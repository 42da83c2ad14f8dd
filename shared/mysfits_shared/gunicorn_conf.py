"""gunicorn settings shared by every service (container and one-machine stack alike).

    gunicorn -c python:mysfits_shared.gunicorn_conf 'catalog:create_app()'

The application is the command line's, or else MYSFITS_APP's (a service image names its own).

Every value can be overridden from the environment; `--bind` on the command line wins. This is
the one module that reads the environment when it is loaded, by design: it is gunicorn's
configuration file, which gunicorn loads once as it starts, never imported by the services' code.
"""

import multiprocessing
import os

wsgi_app = os.environ.get("MYSFITS_APP") or None
bind = os.environ.get("BIND", "0.0.0.0:8080")
# Two workers per core keeps both cores busy while one worker waits on DynamoDB.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# Sync workers: every client is API Gateway (through the VPC link), which sends whole requests
# quickly, so the slow-client weakness of sync workers does not apply; measured on 2 cores they
# keep catalog list p99 near 15 ms where gthread workers' p99 reached 40-90 ms (docs/decisions.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 10
# Build the app once in the master: a configuration error stops start-up at once, with its message.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# No control socket: nothing uses `gunicornc`, the service user has no home directory for it, and
# two services on one machine would share its default path.
control_socket_disable = True


def post_worker_init(worker):
    """Build the DynamoDB client in each worker before it takes traffic (never before fork)."""
    from mysfits_shared.models import warm_up

    warm_up()
