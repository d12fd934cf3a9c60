"""Object lifecycle: the rules of a bucket (``rules``, pure) and the
executor that applies them in the process owning the metadata.  Nothing
here imports the S3 front (the dmd runs it)."""
