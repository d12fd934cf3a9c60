"""The operator tools of bin/ that work on a running server through its
dmd's :9990 metadata RPC (served in --mode all and --mode dmd):
``cloudserver-usage`` (usage.py) and ``cloudserver-metadata``
(metadata_io.py); dmd.py connects them."""
