"""Secrets stay out of what the agent sends to the model."""

from __future__ import annotations

import json

from jupyter_agents.agent.instructions import task_message
from jupyter_agents.kernel.namespace_summary import summarize_namespace
from jupyter_agents.safety.redact import REDACTED, Redactor, looks_secret


def test_known_credential_shapes_are_replaced():
    redact = Redactor(environ={})
    samples = [
        "sk-proj-abcdefghijklmnopqrstuvwxyz123456",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "xoxb-1234567890-abcdefghij",
        "AKIAABCDEFGHIJKLMNOP",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
        "hf_abcdefghijklmnopqrstuvwxyz",
        "Authorization: Bearer abc.def.ghijklmnopqrstuv",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    ]
    for secret in samples:
        cleaned = redact(f"before {secret} after")
        assert REDACTED in cleaned and "before" in cleaned and "after" in cleaned, secret
        assert secret.split()[-1] not in cleaned
    assert redact("sk-short and skeleton and tasks") == "sk-short and skeleton and tasks"


def test_secret_environment_values_are_replaced_wherever_they_appear():
    redact = Redactor(environ={"MY_SERVICE_TOKEN": "tok-0123456789", "HOME": "/home/someone-long"})
    assert redact("print(os.environ['MY_SERVICE_TOKEN']) -> tok-0123456789") == (
        f"print(os.environ['MY_SERVICE_TOKEN']) -> {REDACTED}"
    )
    assert redact("/home/someone-long/data.csv") == "/home/someone-long/data.csv"


def test_the_kernels_secret_named_variables_and_url_passwords_are_secrets_too():
    namespace = {
        "report_token": "kt-51Hw-Qe88-Rn20-Vb64",
        "vault_password": b"b-hunter22",
        "dsn": "mysql://app:My5ql-pw@db/sales",
        "author": "Jane Q. Public",  # not secret-named: left
        "token_notes": "x" * 5000,  # over 4,096 characters: data, not a credential
        "rows": 3,
    }
    redact = Redactor(environ={}, namespace=namespace)
    text = "kt-51Hw-Qe88-Rn20-Vb64 | kt-51Hw-Qe88-R... | b-hunter22 | My5ql-pw | Jane Q. Public"
    assert redact(text) == f"{REDACTED} | {REDACTED}... | {REDACTED} | {REDACTED} | Jane Q. Public"
    assert redact("x" * 40) == "x" * 40


def test_secret_looking_variables_are_summarised_without_their_value():
    namespace = {"db_password": "hunter2-but-longer", "author": "Jane", "api_key": 12345, "rows": 3}
    text = summarize_namespace(namespace, redact=Redactor(environ={}))
    assert "hunter2" not in text and "12345" not in text
    assert "- db_password: str (value hidden: the name looks secret)" in text
    assert "- author: str = 'Jane'" in text and "- rows: int = 3" in text
    assert looks_secret("GITHUB_TOKEN") and not looks_secret("authors")


def test_cells_in_the_context_are_redacted_but_the_task_is_not():
    redact = Redactor(environ={})
    message = task_message(
        "Use the key sk-proj-abcdefghijklmnopqrstuvwxyz as told",
        {},
        hidden=[],
        recent_cells=["client = Client(api_key='sk-proj-abcdefghijklmnopqrstuvwxyz99')"],
        redact=redact,
    )
    task, rest = message.split("Variables in the kernel now:")
    assert "sk-proj-abcdefghijklmnopqrstuvwxyz" in task  # the user's own words are sent as typed
    assert "sk-proj" not in rest and REDACTED in rest


def test_quoted_values_given_to_secret_names_are_replaced():
    redact = Redactor(environ={})
    assert redact("db_password='hunter2hunter2'") == "db_password='[redacted]'"
    assert redact('login(user="bob", password="hunter2x")') == (
        'login(user="bob", password="[redacted]")'
    )
    assert redact("{'api_key': 'abc123def', 'region': 'eu-west-1'}") == (
        "{'api_key': '[redacted]', 'region': 'eu-west-1'}"
    )
    # Comparisons, short placeholders and names that only contain the letters stay as they are.
    for text in [
        'if token == "abcdefgh": pass',
        'password = ""',
        "compass_heading = 'north-east'",
        "tokenizer_name = 'bert-base-uncased'",
        "author = 'Jane Austen'",
        "{'passenger': 'Braund, Mr. Owen'}",
        "{'token_pattern': '(?u)\\b\\w\\w+\\b', 'first_pass': 'complete'}",
        "secretary = 'Jane Smith'; tokens = 'the quick brown fox'",
        "{'token_count': '12345678', 'cookie_policy': 'accepted', 'pass_fail': 'failed'}",
    ]:
        assert redact(text) == text


# -- issue 15: secrets found by value, in every text form, across joined writes --------------

LONG = "svc-7f3a9b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081920a1b2c3d"
ENV = {
    "DATABASE_URL": "postgres://app:Pg7-Vault-x93Q@db.internal/sales",
    "SERVICE_TOKEN": LONG,
    "DB_PASSWORD": "hunt3r7",
    "HOME": "/home/someone",
}


def test_url_passwords_short_secrets_and_cut_reprs_are_redacted_by_value():
    redact = Redactor(environ=ENV)
    assert redact("dsn Pg7-Vault-x93Q.") == f"dsn {REDACTED}."
    assert redact("mysql://bob:pw4short@h/db") == f"mysql://bob:{REDACTED}@h/db"  # any URL
    assert redact("pw hunt3r7 ok") == f"pw {REDACTED} ok"
    assert redact(f"'{LONG[:47]}...'") == f"'{REDACTED}...'"  # pandas cuts at 50
    assert redact(f"'{LONG[:20]}...{LONG[-20:]}'") == f"'{REDACTED}...{REDACTED}'"  # reprlib
    assert redact(LONG[:11] + " /home/someone") == LONG[:11] + " /home/someone"


def test_every_text_mimetype_json_keys_and_metadata_are_redacted_but_not_images():
    from jupyter_agents.kernel.output_redaction import redacted_bundle
    from jupyter_agents.kernel.output_redaction import redacted_json as _redacted

    redact = Redactor(environ=ENV)
    secret = "Pg7-Vault-x93Q"
    bundle = {
        "image/svg+xml": f"<svg><text>{secret}</text></svg>",
        "application/javascript": f"var k = '{secret}';",
        "application/x-custom": [secret],
        "application/json": {secret: {"nested": secret}},
        "image/png": "iVBORhunt3r7Pg7-Vault-x93Q",
    }
    cleaned = redacted_bundle(bundle, redact)
    assert secret not in json.dumps({k: v for k, v in cleaned.items() if k != "image/png"})
    assert cleaned["image/png"] == bundle["image/png"]
    assert _redacted({"title": secret, secret: 1}, redact) == {"title": REDACTED, REDACTED: 1}


def test_a_key_written_in_two_pieces_is_redacted_where_the_pieces_join():
    from jupyter_agents.kernel.output_redaction import LineRedactor

    key = "sk-proj-" + "FAKE" * 5 + "1234"
    sent: list[str] = []
    stream = LineRedactor(sent.append, Redactor(environ={}))
    stream.write(key[:10])
    stream.write(key[10:] + "\nnext ")
    stream.write("line")
    assert "".join(sent) == f"{REDACTED}\n"
    stream.flush()
    assert "".join(sent) == f"{REDACTED}\nnext line"


def test_the_headless_frontend_redacts_an_agent_cells_stream_where_it_joins_it():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_agents.notebook.frontend import NotebookFrontend

    nb = new_notebook(cells=[new_code_cell("x", id="a")])
    frontend = NotebookFrontend(nb, redact=Redactor(environ={}))
    frontend._op_update_cell({"cell_id": "a", "capture": "m"})
    key = "sk-proj-" + "FAKE" * 5 + "1234"
    for piece in (key[:10], key[10:]):
        message = {
            "msg_type": "stream",
            "header": {"msg_type": "stream"},
            "parent_header": {"msg_id": "m"},
            "content": {"name": "stdout", "text": piece},
        }
        assert frontend.route_output(message)
    assert key not in nbformat.writes(nb) and REDACTED in nb.cells[0].outputs[0]["text"]


def test_names_bound_from_the_environment_or_holding_a_secret_are_summarised_without_value():
    import os

    namespace = {
        "pw": ENV["DB_PASSWORD"],
        "dsn": ENV["DATABASE_URL"],
        "tokens": [LONG],
        "home": os.environ.get("HOME", "/root"),
        "rows": 3,
    }
    text = summarize_namespace(namespace, redact=Redactor(environ=ENV))
    for secret in ("hunt3r7", "Pg7-Vault", LONG[:12], LONG[-12:]):
        assert secret not in text, text
    assert "- pw: str (value hidden" in text and "- tokens: list (value hidden" in text
    assert "- home: str (value hidden: it comes from the environment)" in text
    assert "- rows: int = 3" in text
