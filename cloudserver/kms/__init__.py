"""Key management: master keys that wrap the data keys of encrypted objects.

``interfaces.IKms`` is the one interface every backend provides (memory,
file, aws); nothing here imports the S3 front.
"""
