"""Bucket replication: a bucket's rules (``rules``, pure), the write hook
that marks and enqueues new versions in their own batch (``hook``), and the
replicator that copies them to their destination location (``replicator``,
``service``) in the process owning the metadata.  Nothing here imports the
S3 front (the dmd runs it)."""
