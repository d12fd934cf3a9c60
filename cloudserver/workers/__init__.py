"""Several S3 worker processes (config.json ``clusters``; README "Several workers").

``twistd cloudserver`` with ``clusters: N > 1`` in ``--mode all`` is a
supervisor: it runs what ``--mode dmd`` runs (the metadata and data stores,
:9990/:9991, the lifecycle executor, the metrics port) plus the dmd's Unix
sockets, binds the S3 port, and keeps N workers running
(supervisor.py).  Each worker is ``python -m cloudserver.workers`` -- twistd
in ``--mode s3`` -- accepting on the inherited socket and reaching the dmd
over the Unix sockets (sockets.py, worker.py).
"""
