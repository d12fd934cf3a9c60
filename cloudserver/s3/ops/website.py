# -*- test-case-name: tests.unit.test_website_config -*-
"""Put, Get and DeleteBucketWebsite: the bucket's website configuration
(``BucketRecord.WEBSITE``, the model of ``xml/website.py``), served by
``ops/website_serve.py`` on the ``websiteEndpoints`` hosts.

Owner-only (the routes declare ``owner(...)``); the document is validated
whole before anything is stored; GET of a bucket without one answers
NoSuchWebsiteConfiguration.
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.ops.bucket_config import ConfigDocument, config_handlers
from cloudserver.s3.xml.website import (
    MAX_BODY, parse_website_configuration, website_configuration_xml)

#: The WebsiteConfiguration document.
WEBSITE = ConfigDocument(
    field=Bkt.WEBSITE, parse=parse_website_configuration,
    to_xml=website_configuration_xml, not_found="NoSuchWebsiteConfiguration",
    max_body=MAX_BODY, check_md5=True)

HANDLERS = config_handlers(WEBSITE, get="GetBucketWebsite", put="PutBucketWebsite",
                           delete="DeleteBucketWebsite")
