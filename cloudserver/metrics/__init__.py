"""Prometheus metrics of a cloudserver process (README "Metrics").

``families.Metrics`` owns one CollectorRegistry per server (never the
library's global one, so several servers in one process do not share
counters) and the families observed on the request path; ``collectors``
read the plain counters the lower layers keep (lifecycle, dmd RPC) at
scrape time, so those cost nothing per call; ``site`` serves them on the
metrics port beside the healthcheck.
"""
