"""The per-request shell shared by the WSGI and ASGI adapters: the gate that decides, the
endpoints it serves, the decisions it remembers and the events it reports.
"""
