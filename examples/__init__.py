"""Runnable examples of baas_auth around plain WSGI, Flask, Django, Starlette and FastAPI apps."""
