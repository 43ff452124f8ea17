"""Large exports built once per data version, kept on disk, built in the background.

A territory's FHIR Bundle or its PDF diagnostic costs seconds to build and megabytes to hold;
requests must not rebuild them. :class:`Export` names one document (kind, what it is of, the data
version it reflects); :func:`~maillage.exports.cache.respond` serves it with ``ETag`` and
``Last-Modified`` when it exists, or starts one build (a lock file makes concurrent requests
share it) through Django's task framework and answers 202 with a page that follows the progress.
Any app can export this way: give a builder function ``builder(params, path, progress)``.
"""
