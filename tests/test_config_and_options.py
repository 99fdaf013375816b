"""Settings resolution, %agent line parsing, and the input transformers (real IPython)."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from jupyter_agents.core.errors import InvalidOption, NoModelConfigured
from jupyter_agents.crew.spec import build_crew_spec
from jupyter_agents.ipython.magic_options import parse_magic_line
from jupyter_agents.run.config import MODEL_ENV_VAR, SettingsStore, require_model

# -- settings --------------------------------------------------------------------------------


def config(**values) -> Config:
    cfg = Config()
    for name, value in values.items():
        setattr(cfg.JupyterAgents, name, value)
    return cfg


def test_defaults(monkeypatch):
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)
    settings = SettingsStore().resolve()
    assert settings.model is None and settings.sources["model"] == "default"
    assert (settings.max_steps, settings.approve, settings.observation_tokens) == (10, "each", 1000)
    assert settings.context_tokens == 12000


def test_resolution_order_option_then_magic_then_config_then_env(monkeypatch):
    monkeypatch.setenv(MODEL_ENV_VAR, "openai/env")
    store = SettingsStore(config(model="openai/config", max_steps=4))
    assert (store.resolve().model, store.resolve().sources["model"]) == ("openai/config", "config")
    assert store.resolve().max_steps == 4
    store.set_from_strings({"model": "openai/magic", "max_steps": "6"})
    resolved = store.resolve()
    assert (resolved.model, resolved.max_steps, resolved.sources["model"]) == (
        "openai/magic",
        6,
        "%agent_config",
    )
    resolved = store.resolve(model="openai/option", max_steps=None)
    assert (resolved.model, resolved.sources["model"], resolved.max_steps) == (
        "openai/option",
        "option",
        6,
    )


def test_env_var_is_the_last_resort(monkeypatch):
    monkeypatch.setenv(MODEL_ENV_VAR, "ollama_chat/qwen2.5-coder")
    settings = SettingsStore().resolve()
    assert settings.model == "ollama_chat/qwen2.5-coder"
    assert settings.sources["model"] == f"${MODEL_ENV_VAR}"


def test_no_model_names_every_way_to_set_one(monkeypatch):
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)
    with pytest.raises(NoModelConfigured) as caught:
        require_model(SettingsStore().resolve())
    message = str(caught.value)
    for way in ("--model", "%agent_config model=", "c.JupyterAgents.model", MODEL_ENV_VAR):
        assert way in message
    assert caught.value._render_traceback_() == [f"NoModelConfigured: {message}"]


@pytest.mark.parametrize(
    "assignment",
    [{"max_steps": "0"}, {"max_steps": "ten"}, {"approve": "sometimes"}, {"colour": "blue"}],
)
def test_bad_settings_are_refused_with_one_line(assignment):
    store = SettingsStore()
    with pytest.raises(InvalidOption) as caught:
        store.set_from_strings({"model": "openai/ok", **assignment})
    assert "\n" not in str(caught.value)
    assert store.overrides == {}  # nothing applied when any value is bad


HUGE = "9" * 1_000_000 + "x"  # a megabyte pasted into a cell


@pytest.mark.parametrize(
    "refuse",
    [
        lambda: SettingsStore().set_from_strings({"max_steps": HUGE}),
        lambda: SettingsStore().set_from_strings({"model_timeout": "\x1b[2K" + HUGE}),
        lambda: parse_magic_line(f"--max-steps {HUGE} task"),
        lambda: parse_magic_line(f"--cell-timeout {HUGE} task"),
        lambda: parse_magic_line(f"--{HUGE} task"),
        lambda: build_crew_spec({"task": "t", "process": HUGE, "agents": [{}]}),
        lambda: build_crew_spec({"task": "t", "agents": [{"role": "r", "goal": "g", HUGE: 1}]}),
    ],
)
def test_a_huge_value_is_echoed_clipped_in_one_line(refuse):
    with pytest.raises(InvalidOption) as caught:
        refuse()
    message = str(caught.value)
    assert len(message) < 600 and "\n" not in message and "\x1b" not in message, message[:600]
    assert "999…999" in message


def test_strings_become_typed_values():
    store = SettingsStore()
    store.set_from_strings({"stream": "False", "model_timeout": "30", "model": "openai/x"})
    resolved = store.resolve()
    assert (resolved.stream, resolved.model_timeout, resolved.model) == (False, 30.0, "openai/x")


# -- %agent line ------------------------------------------------------------------------------


def test_task_text_is_kept_verbatim():
    call = parse_magic_line('-m openai/gpt-4o-mini --max-steps 3 What\'s the mean of "order date"?')
    assert call.options == {"model": "openai/gpt-4o-mini", "max_steps": 3}
    assert call.task == 'What\'s the mean of "order date"?'


def test_equals_form_quotes_separator_and_tools():
    call = parse_magic_line(
        "--approve=auto --model 'openai/my model' --tools a,b --tools c -- -5 is odd?"
    )
    assert call.options == {"approve": "auto", "model": "openai/my model"}
    assert call.tools == ["a", "b", "c"]
    assert call.task == "-5 is odd?"


def test_cell_magic_task_is_the_body_plus_any_first_line_text():
    call = parse_magic_line("--approve auto Summarize:", "line one\nline two\n")
    assert call.task == "Summarize:\nline one\nline two"
    assert parse_magic_line("", "  body only  ").task == "body only"


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("--colour red task", "unknown option '--colour'"),
        ("--max-steps many task", "takes a whole number"),
        ("--approve sometimes task", "takes 'each', 'auto' or 'risky'"),
        ("--model", "needs a value"),
    ],
)
def test_bad_options_get_one_clear_line(line, fragment):
    with pytest.raises(InvalidOption) as caught:
        parse_magic_line(line)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_help_flag():
    assert parse_magic_line("--help").help


# -- input transformers, in a real IPython shell --------------------------------------------


@pytest.fixture(scope="module")
def shell():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_agents")
    return shell


@pytest.mark.parametrize(
    "cell, expected",
    [
        (
            "%agent How many rows?\n",
            "await get_ipython().run_line_magic('agent', 'How many rows?')\n",
        ),
        (
            "answer = %agent Why??\n",
            "answer = await get_ipython().run_line_magic('agent', 'Why??')\n",
        ),
        (
            "  %agent   spaced   task\n",
            "await get_ipython().run_line_magic('agent', 'spaced   task')\n",
        ),
        (
            "résultat = %agent tâche\n",
            "résultat = await get_ipython().run_line_magic('agent', 'tâche')\n",
        ),
        (
            "%%agent -m x\nbody?\n",
            "await get_ipython().run_cell_magic('agent', '-m x', 'body?\\n')\n",
        ),
        ("%agent?\n", "get_ipython().run_line_magic('pinfo', '%agent')\n"),
        ("%agent_config model=x\n", "get_ipython().run_line_magic('agent_config', 'model=x')\n"),
    ],
)
def test_agent_lines_become_awaited_calls(shell, cell, expected):
    assert shell.transform_cell(cell) == expected


def test_calls_that_cannot_await_are_left_alone(shell):
    inside_def = "def f():\n    %agent task\n"
    assert "await" not in shell.transform_cell(inside_def)
    in_string = 's = """\n%agent not a magic?\n"""\n'
    assert shell.transform_cell(in_string) == in_string
    already = "await get_ipython().run_line_magic('agent', 'x')\n"
    assert shell.transform_cell(already) == already


def test_an_empty_value_clears_this_kernels_setting(monkeypatch):
    monkeypatch.setenv(MODEL_ENV_VAR, "openai/env")
    store = SettingsStore()
    store.set_from_strings({"model": "openai/magic"})
    store.set_from_strings({"model": ""})
    assert store.resolve().model == "openai/env"
    with pytest.raises(InvalidOption):
        store.set_from_strings({"colour": ""})


def test_an_option_with_an_empty_value_is_an_error():
    with pytest.raises(InvalidOption, match="needs a value"):
        parse_magic_line("--model= Summarize the data")
