"""The product's rules, once: who sees what, what links where, what a delete removes, how a reason reads.

Every function here takes the database session and the acting user (an ``Actor``) or the company
as arguments; nothing reads ``flask.g`` or the request. The REST API, the pages, the add-in and
Gmail card endpoints, the pipeline stages, the provider fetches and the CLI call these functions
and only translate their input and output.
"""
