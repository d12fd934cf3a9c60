"""Bucket notifications, delivered by this server itself (no Kafka, no
Backbeat): the configuration model (rules.py), the destinations of
config.json (cloudserver.config.notifications), the write hook that queues
an event in the object's own batch (hook.py), the AWS event record
(record.py) and the delivery service of the metadata owner (delivery.py).
"""
