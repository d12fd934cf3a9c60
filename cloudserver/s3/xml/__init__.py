# -*- test-case-name: tests.unit.test_xmlresponses -*-
"""The S3 XML toolkit in one import: hardened parsing and serializers.

The code lives in small modules (``parse`` for request bodies,
``responses``, ``listing``, ``versions`` and ``multipart`` for response
documents, ``build`` for the shared lxml plumbing, ``stream`` for
listings written entry by entry); this package only gathers their public
names so operations can ``from cloudserver.s3 import xml as s3xml``.
"""

from cloudserver.s3.xml.build import S3_NS, XML_DECLARATION, iso8601, url_encode
from cloudserver.s3.xml.listing import (
    ListEntry,
    ListObjectsV1,
    ListObjectsV2,
    ListResult,
    list_objects_v1_xml,
    list_objects_v2_xml,
    list_objects_xml,
)
from cloudserver.s3.xml.parse import (
    MAX_BUCKET_TAGS,
    MAX_DELETE_OBJECTS,
    MAX_OBJECT_TAGS,
    child,
    children,
    local_name,
    parse_complete_multipart,
    parse_create_bucket_configuration,
    parse_delete_request,
    parse_tagging,
    parse_versioning,
    parse_xml,
    text,
)
from cloudserver.s3.xml.multipart import (  # noqa: F401
    ListPartsResult, ListUploadsResult, ObjectAttributes, PartEntry, Person, UploadEntry,
    list_multipart_uploads_xml, list_parts_xml, object_attributes_xml)
from cloudserver.s3.xml.responses import (
    acl_xml,
    complete_multipart_xml,
    copy_object_result_xml,
    copy_part_result_xml,
    delete_result_xml,
    error_xml,
    initiate_multipart_xml,
    list_buckets_xml,
    location_constraint_xml,
    tagging_xml,
    versioning_xml,
)

__all__ = [
                                       "MAX_BUCKET_TAGS",
                                       "MAX_DELETE_OBJECTS",
                                       "MAX_OBJECT_TAGS",
                                       "S3_NS",
                                       "XML_DECLARATION",
                                       "ListEntry",
                                       "ListObjectsV1",
                                       "ListObjectsV2",
    "ListResult",
                                       "acl_xml",
                                       "child",
                                       "children",
                                       "complete_multipart_xml",
                                       "copy_object_result_xml",
                                       "copy_part_result_xml",
                                       "delete_result_xml",
                                       "error_xml",
                                       "initiate_multipart_xml",
                                       "iso8601",
                                       "list_buckets_xml",
                                       "list_objects_v1_xml",
                                       "list_objects_v2_xml",
    "list_objects_xml",
                                       "local_name",
                                       "location_constraint_xml",
                                       "parse_complete_multipart",
                                       "parse_create_bucket_configuration",
                                       "parse_delete_request",
                                       "parse_tagging",
                                       "parse_versioning",
                                       "parse_xml",
                                       "tagging_xml",
                                       "text",
                                       "url_encode",
                                       "versioning_xml",
]
