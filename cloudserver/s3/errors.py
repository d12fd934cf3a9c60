"""The S3 error catalog, as data, and the one exception the S3 front raises.

Codes, HTTP statuses and default messages follow AWS's "Error responses"
reference.  Internal layers raise their own domain errors (cloudserver.errors);
``translate`` is the one place they become S3 errors.
"""
from __future__ import annotations

from cloudserver.errors import DomainError

# code -> (HTTP status, default message)
CATALOG: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "AccountProblem": (403, "There is a problem with your AWS account that prevents the "
                       "operation from completing successfully."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "Error parsing the X-Amz-Credential parameter."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available. The bucket "
                            "namespace is shared by all users of the system. Please select a "
                            "different name and try again."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket "
                                "succeeded and you already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "ConditionalRequestConflict": (409, "A conflicting operation occurred."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed "
                       "object size."),
    "ExpiredToken": (400, "The provided token has expired."),
    "IllegalLocationConstraintException": (400, "The unspecified location constraint is "
                                           "incompatible for the region specific endpoint "
                                           "this request was sent to."),
    "IllegalVersioningConfigurationException": (400, "Indicates that the versioning "
                                                "configuration specified in the request "
                                                "is invalid."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the "
                       "Content-Length HTTP header."),
    "InlineDataTooLarge": (400, "Inline data exceeds the maximum allowed size."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS access key Id you provided does not exist in our "
                           "records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketAclWithObjectOwnership": (400, "Bucket cannot have ACLs set with "
                                            "ObjectOwnership's BucketOwnerEnforced setting"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidBucketState": (409, "The request is not valid with the current state of the "
                           "bucket."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidEncryptionAlgorithmError": (400, "The encryption request you specified is not "
                                        "valid. The valid value is AES256."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidObjectState": (403, "The operation is not valid for the current state of the "
                           "object."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part "
                    "may not have been uploaded, or the specified entity tag may not match "
                    "the part's entity tag."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. The parts list "
                         "must be specified in order by part number."),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRedirectLocation": (400, "The website redirect location must have a prefix of "
                                "'http://' or 'https://' or '/'."),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidRetentionPeriod": (400, "Default retention period must be a positive integer "
                               "value."),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidTag": (400, "The tag provided was not a valid tag."),
    "InvalidTargetBucketForLogging": (400, "The target bucket for logging does not exist."),
    "InvalidToken": (400, "The provided token is malformed or otherwise invalid."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KMS.NotFoundException": (400, "The specified KMS key does not exist."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not "
                          "validate against our published schema."),
    "MalformedPolicy": (400, "Policies must be valid JSON and the first byte must be '{'"),
    "MalformedPOSTRequest": (400, "The body of your POST request is not well-formed "
                             "multipart/form-data."),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate "
                     "against our published schema."),
    "MaxMessageLengthExceeded": (400, "Your request was too big."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata "
                         "size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingRequestBodyError": (400, "Request Body is empty"),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist."),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchUpload": (404, "The specified upload does not exist. The upload ID may be "
                     "invalid, or the upload may have been aborted or completed."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NoSuchWebsiteConfiguration": (404, "The specified bucket does not have a website "
                                   "configuration"),
    "NotImplemented": (501, "A header you provided implies functionality that is not "
                       "implemented."),
    "NotModified": (304, "Not Modified."),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not "
                                             "exist for this bucket"),
    "OperationAborted": (409, "A conflicting conditional operation is currently in progress "
                         "against this resource. Try again."),
    "PermanentRedirect": (301, "The bucket you are attempting to access must be addressed "
                          "using the specified endpoint. Please send all future requests "
                          "to this endpoint."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not "
                           "hold."),
    "ReplicationConfigurationNotFoundError": (404, "The replication configuration was not "
                                              "found"),
    "RequestHeaderSectionTooLarge": (400, "Your request header section exceeds the "
                                     "maximum allowed size."),
    "RequestIsNotMultiPartContent": (400, "Bucket POST must be of the enclosure-type "
                                     "multipart/form-data."),
    "RequestTimeout": (400, "Your socket connection to the server was not read from or "
                       "written to within the timeout period."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the "
                             "server's time is too large."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                              "signature you provided. Check your key and signing method."),
    "ServiceUnavailable": (503, "Reduce your request rate."),
    "SlowDown": (503, "Please reduce your request rate."),
    "TooManyBuckets": (400, "You have attempted to create more buckets than allowed."),
    "UnexpectedContent": (400, "This request does not support content."),
    "UnresolvableGrantByEmailAddress": (400, "The email address you provided does not "
                                        "match any account on record."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does "
                                  "not match what was computed."),
    "InvalidChunkSizeError": (403, "Only the last chunk is allowed to have a size less "
                              "than 8192 bytes"),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "ServerSideEncryptionConfigurationNotFoundError": (404, "The server side encryption "
                                                       "configuration was not found"),
    "NoSuchPublicAccessBlockConfiguration": (404, "The public access block configuration "
                                             "was not found"),
    # object lock: a version without retention or legal hold (Get*Retention/LegalHold)
    "NoSuchObjectLockConfiguration": (404, "The specified object does not have a "
                                      "ObjectLock configuration"),
    # CORS preflights and browser-based uploads (POST Object)
    "AccessForbidden": (403, "CORSResponse: This CORS request is not allowed. This is usually "
                        "because the evalution of Origin, request method / "
                        "Access-Control-Request-Method or Access-Control-Request-Headers are "
                        "not whitelisted by the resource's CORS spec."),
    "BadRequest": (400, "Bad Request"),
    "InvalidPolicyDocument": (400, "The content of the form does not meet the conditions "
                              "specified in the policy document."),
    "IncorrectNumberOfFilesInPostRequest": (400, "POST requires exactly one file upload per "
                                            "request."),
    "MaxPostPreDataLengthExceededError": (400, "Your POST request fields preceding the "
                                          "upload file were too large."),
}

# Standard reason phrases for the statuses above (RFC 9110).
REASONS: dict[int, bytes] = {
    200: b"OK", 204: b"No Content", 206: b"Partial Content", 301: b"Moved Permanently",
    304: b"Not Modified", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found",
    405: b"Method Not Allowed", 409: b"Conflict", 411: b"Length Required",
    412: b"Precondition Failed", 416: b"Requested Range Not Satisfiable",
    500: b"Internal Server Error", 501: b"Not Implemented", 503: b"Service Unavailable",
}


class S3Error(Exception):
    """An S3 error to send to the client.

    ``extra`` holds additional elements for the error XML (e.g.
    ``BucketName``, ``Key``, ``ArgumentName``), in the order given, and
    ``headers`` extra response headers (e.g. ``x-amz-delete-marker``).
    """

    def __init__(self, code: str, message: str | None = None, *,
                 headers: dict[str, str] | None = None, **extra: object):
        status, default = CATALOG[code]
        self.code = code
        self.status = status
        self.message = message if message is not None else default
        self.extra = extra
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")


def translate(exc: BaseException) -> S3Error | None:
    """The S3 error for an exception, or None when it is a bug (-> InternalError).

    The one place where the lower layers' domain errors (metadata, data,
    daemon clients: cloudserver.errors.DomainError) become S3 errors.
    """
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, DomainError):
        return S3Error(exc.code, exc.message or None, **exc.s3_fields)
    return None
