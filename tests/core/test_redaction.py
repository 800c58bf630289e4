"""Secrets never reach a log line."""

from __future__ import annotations

import logging

import pytest

from baas_auth.redaction import RedactSecretsFilter, redact

SECRET = "AVziSd4VBkz-cdKIpuY6PCUbBF_99y3YFAAAAaJIknm"


@pytest.mark.parametrize(
    "line",
    [
        f'"GET /acme/shop/books?access_token={SECRET}&page=2 HTTP/1.1" 200',
        f'"GET /x?client_id=b3U6abc&client_secret={SECRET} HTTP/1.1" 200',
        f"GET /x?access%5Ftoken={SECRET}",
        f"GET /b?%61ccess_token={SECRET}",
        f"GET /b?acc%65ss_token={SECRET}&x=1",
        f"GET /x?ACCESS_TOKEN={SECRET}",
        f"POST /token grant_type=password&username=alice&password={SECRET}",
        f"PUT /users/me/revoketoken?token={SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"authorization=Basic {SECRET}",
        f"{{'authorization': 'Bearer {SECRET}'}}",
        f"headers: [(b'authorization', b'Bearer {SECRET}')]",
    ],
    ids=[
        "query-token",
        "client-secret",
        "encoded-name",
        "encoded-a",
        "encoded-e",
        "upper-name",
        "form-password",
        "revoke-token",
        "header",
        "basic",
        "dict-repr",
        "asgi-headers",
    ],
)
def test_secrets_are_masked(line: str):
    cleaned = redact(line)
    assert SECRET not in cleaned
    assert "***" in cleaned


@pytest.mark.parametrize(
    "line",
    ["GET /books?page=2&tokens_left=5 HTTP/1.1", "mytoken=abc", "the password policy changed"],
    ids=["other-params", "suffix-name", "prose"],
)
def test_other_text_is_untouched(line: str):
    assert redact(line) == line


def test_filter_rewrites_formatted_records_and_keeps_them(caplog: pytest.LogCaptureFixture):
    logger = logging.getLogger("baas-auth-test.access")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="baas-auth-test.access"):
        logger.info('%s - "GET %s HTTP/1.1" %d', "127.0.0.1", f"/x?access_token={SECRET}", 200)
    assert len(caplog.records) == 1
    assert SECRET not in caplog.records[0].getMessage()
    assert "access_token=***" in caplog.records[0].getMessage()


# Log records shaped like the servers' own: each server's formatter reads ``record.args`` in
# its own way, so the filter must mask inside the arguments and keep their shape.

UVICORN_ACCESS = '%s - "%s %s HTTP/%s" %d'
GUNICORN_ACCESS = '%(h)s "%(r)s" %(s)s'
WERKZEUG_ACCESS = '127.0.0.1 - - [29/Nov/2026 15:07:23] "%s" %s %s'


def _record(msg: object, *args: object, name: str = "baas-auth-test") -> logging.LogRecord:
    """A record as ``logger.info(msg, *args)`` makes it (a lone mapping becomes ``args``)."""
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def _filtered(record: logging.LogRecord) -> logging.LogRecord:
    assert RedactSecretsFilter().filter(record) is True
    return record


def test_uvicorn_access_record_keeps_its_five_arguments():
    from uvicorn.logging import AccessFormatter

    path = f"/acme/shop/books?access_token={SECRET}&page=2"
    record = _filtered(_record(UVICORN_ACCESS, "127.0.0.1:5000", "GET", path, "1.1", 200,
                               name="uvicorn.access"))
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                use_colors=False)
    assert formatter.format(record) == (
        '127.0.0.1:5000 - "GET /acme/shop/books?access_token=***&page=2 HTTP/1.1" 200 OK'
    )
    assert record.args == ("127.0.0.1:5000", "GET", "/acme/shop/books?access_token=***&page=2",
                           "1.1", 200)


@pytest.mark.parametrize(
    "path", ["/plans/basic", "/tokens/bearer", "/x?authorization=", "/x?proxy-authorization:"]
)
def test_a_request_line_ending_in_a_scheme_word_is_not_a_credential(path: str):
    """'basic HTTP/1.1' once looked like a Basic credential split across uvicorn's arguments,
    so the whole record was rewritten and uvicorn's formatter lost the line."""
    from uvicorn.logging import AccessFormatter

    record = _filtered(_record(UVICORN_ACCESS, "127.0.0.1:5000", "GET", path, "1.1", 200,
                               name="uvicorn.access"))
    assert record.args == ("127.0.0.1:5000", "GET", path, "1.1", 200)
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                use_colors=False)
    assert formatter.format(record) == f'127.0.0.1:5000 - "GET {path} HTTP/1.1" 200 OK'


def test_gunicorn_access_record_keeps_its_atoms_and_their_type():
    from gunicorn.glogging import SafeAtoms

    atoms = SafeAtoms({
        "h": "127.0.0.1",
        "r": f"GET /x?client_id=b3U6abc&client_secret={SECRET}&page=2 HTTP/1.1",
        "U": "/x",
        "q": f"client_id=b3U6abc&client_secret={SECRET}&page=2",
        "f": f"https://example.com/from?access_token={SECRET}",
        "s": "200",
        "T": 0,
    })
    record = _filtered(_record(GUNICORN_ACCESS, atoms, name="gunicorn.access"))
    args = record.args
    assert isinstance(args, dict)
    assert type(args) is SafeAtoms
    assert args is not atoms  # the caller's mapping is not rewritten behind its back
    assert atoms["q"].endswith(f"client_secret={SECRET}&page=2")
    assert args.keys() == atoms.keys()
    assert args["q"] == "client_id=b3U6abc&client_secret=***&page=2"
    assert args["f"] == "https://example.com/from?access_token=***"
    assert (args["U"], args["T"], args["absent"]) == ("/x", 0, "-")  # SafeAtoms still answers
    assert logging.Formatter("%(message)s").format(record) == (
        '127.0.0.1 "GET /x?client_id=b3U6abc&client_secret=***&page=2 HTTP/1.1" 200'
    )


def test_werkzeug_access_record_keeps_its_arguments():
    line = f"GET /x?access_token={SECRET}&page=2 HTTP/1.1"
    record = _filtered(_record(WERKZEUG_ACCESS, line, "200", "-", name="werkzeug"))
    assert record.msg == WERKZEUG_ACCESS
    assert record.args == ("GET /x?access_token=***&page=2 HTTP/1.1", "200", "-")
    assert logging.Formatter("%(message)s").format(record) == (
        '127.0.0.1 - - [29/Nov/2026 15:07:23] "GET /x?access_token=***&page=2 HTTP/1.1" 200 -'
    )


def test_a_message_without_arguments_is_masked_itself():
    record = _filtered(_record(f"GET /x?access_token={SECRET}&page=2"))
    assert (record.msg, record.args) == ("GET /x?access_token=***&page=2", ())


def test_a_secret_in_the_format_string_is_masked_there():
    record = _filtered(_record(f"GET /x?access_token={SECRET} %s %d", "OK", 200))
    assert (record.msg, record.args) == ("GET /x?access_token=*** %s %d", ("OK", 200))
    assert record.getMessage() == "GET /x?access_token=*** OK 200"


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        ("%s=%s&page=%d", ("access_token", SECRET, 2), "access_token=***&page=2"),
        ("password=%s and %d more", (SECRET, 5), "password=*** and 5 more"),
        ("%(name)s: Bearer %(value)s", {"name": "Authorization", "value": SECRET},
         "Authorization: Bearer ***"),
    ],
    ids=["name-and-value-apart", "placeholder-is-the-value", "mapping"],
)
def test_a_secret_split_across_arguments_masks_the_whole_message(
    msg: str, args: tuple[object, ...] | dict[str, object], shown: str
):
    record = _filtered(_record(msg, args) if isinstance(args, dict) else _record(msg, *args))
    assert (record.msg, record.args) == (shown, ())
    assert logging.Formatter("%(message)s").format(record) == shown


def test_records_without_secrets_are_left_as_they_came():
    args = ("127.0.0.1:5000", "GET", "/books?page=2&tokens_left=5", "1.1", 200)
    record = _filtered(_record(UVICORN_ACCESS, *args))
    assert (record.msg, record.args) == (UVICORN_ACCESS, args)


def test_other_arguments_keep_their_types():
    marker = object()
    record = _filtered(_record("%s %r %s %d", f"token={SECRET}", marker, None, 7))
    assert record.args == ("token=***", marker, None, 7)


def test_a_record_that_cannot_be_formatted_is_left_to_logging():
    # Logging reports such a record itself (Handler.handleError), quoting its msg and args;
    # the filter must neither raise nor hide it, only mask what it can without reshaping it.
    record = _filtered(_record("%d %s", "not a number", f"access_token={SECRET}"))
    assert (record.msg, record.args) == ("%d %s", ("not a number", "access_token=***"))
    with pytest.raises(TypeError):
        record.getMessage()


def test_password_change_parameters_are_masked():
    line = "PUT /acme/shop/users/alice/password?oldpassword=old-one&newpassword=new-one HTTP/1.1"
    redacted = redact(line)
    assert "old-one" not in redacted
    assert "new-one" not in redacted
    assert "oldpassword=***" in redacted
