"""The management API (``management_api=True``): the original system's paths for roles,
permissions, memberships, client credentials and token lifetime, served by the middleware.

``table`` (rows and matching), ``authorize`` (who may call a row), ``dispatch`` (serving a
request), ``shapes`` (Usergrid's JSON), and one module of rows per subject, gathered in
``rows``.
"""
