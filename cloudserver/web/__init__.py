"""The streaming HTTP machinery both HTTP fronts share: the S3 front (:8000)
and the data daemon's /DataFile service (:9991).

``site`` (StreamingSite, its channel and request: request bodies that are
not spooled, a deferred 100-continue, raw URIs), ``connection`` (HTTP/1.1
connection rules and timeouts), ``body`` (RequestBody: channel bytes ->
decoder -> consumer, with backpressure).  Nothing here knows S3.
"""
