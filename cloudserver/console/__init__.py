"""The web console (README "Web console"): static HTML, CSS and JavaScript
served at ``/_/console/``; the page signs ordinary S3 requests in the
browser, so it has no server-side API of its own to authorize."""
