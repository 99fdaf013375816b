"""Settings: traitlets configuration, ``%agent_config`` overrides, and how they are resolved.

A value is taken from the first place that sets it:
magic option / ``Agent(...)`` argument > ``%agent_config`` > traitlets config
(``c.JupyterAgents.x`` in ipython_config.py) > environment (``JUPYTER_AGENTS_MODEL`` for the
model) > the default. :class:`Settings` remembers where each value came from, because "why is
it using that model?" is the first question a user asks.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Integer, TraitError, Unicode
from traitlets.config import Config, Configurable

from ..core.errors import InvalidOption, NoModelConfigured
from ..safety.approval import POLICIES as APPROVE_POLICIES
from ..text.terminal_text import one_line, quoted

MODEL_ENV_VAR = "JUPYTER_AGENTS_MODEL"


class JupyterAgents(Configurable):
    """Defaults for ``%agent`` and :class:`~jupyter_agents.Agent` (``c.JupyterAgents.*``)."""

    model = Unicode(
        None,
        allow_none=True,
        help="litellm model string, e.g. 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', "
        "'ollama_chat/qwen2.5-coder'. Keys and endpoints come from litellm's own env vars.",
    ).tag(config=True)
    max_steps = Integer(10, min=1, help="Most cells the model may propose in one run.").tag(
        config=True
    )
    approve = Enum(
        list(APPROVE_POLICIES),
        default_value="each",
        help="'each': a human approves every cell. 'auto': cells run without approval. "
        "'risky': cells the risk review flags wait for a human, the others run.",
    ).tag(config=True)
    observation_tokens = Integer(
        1000, min=100, help="Budget (about, in tokens) for what one cell's outputs tell the model."
    ).tag(config=True)
    context_tokens = Integer(
        12000,
        min=1000,
        help="Budget (about, in tokens) for the conversation the model is sent. It grows "
        "append-only, so a provider's prompt cache reuses each prompt's start; past this "
        "budget the older steps are folded into short forms at once, and the widget says so.",
    ).tag(config=True)
    history_cells = Integer(
        5, min=0, help="How many of the user's recent cells the model sees at the start."
    ).tag(config=True)
    stream = Bool(True, help="Stream the model's reply into the widget as it arrives.").tag(
        config=True
    )
    model_timeout = Float(
        120.0, min=1.0, help="Seconds one model request may take before it is retried."
    ).tag(config=True)
    model_retries = Integer(
        3, min=0, help="Retries on 429, 5xx, timeouts and broken connections, with backoff."
    ).tag(config=True)
    cell_timeout = Float(
        0.0,
        min=0.0,
        help="Seconds an approved cell may run before it is interrupted, as the stop button "
        "does; the model is told and the run goes on. 0: no limit. Unset, where nobody can "
        "press stop (jupyter agents run, nbclient, papermill): 600.",
    ).tag(config=True)
    max_output_bytes = Integer(
        1_000_000,
        min=0,
        help="Most bytes one output of an agent cell keeps (its stdout, its stderr, each "
        "display or result); the rest is cut with a note. 0: no limit.",
    ).tag(config=True)
    max_proposal_chars = Integer(
        100_000,
        min=0,
        help="Most characters of code one proposed cell may have. A longer one does not run "
        "(nor is it shown or reviewed): the model is asked for a smaller cell, and the reply "
        "counts as a step. 0: no limit.",
    ).tag(config=True)
    frontend_timeout = Float(
        3.0,
        min=0.1,
        help="Seconds to wait for the notebook frontend to show it can display the approval "
        "widget. Without an answer, approval cannot happen and the run fails fast.",
    ).tag(config=True)
    keep_rejected = Bool(
        False,
        help="With the notebook extension: keep rejected proposals as collapsed markdown "
        "records instead of removing them from the notebook.",
    ).tag(config=True)
    model_kwargs = Dict(
        help="Extra keyword arguments for litellm.acompletion (temperature, api_base, ...)."
    ).tag(config=True)
    transcripts = Bool(
        True,
        help="Store each run's model calls (redacted, size-capped) in the notebook's metadata, "
        "so a reader can audit why a cell was proposed.",
    ).tag(config=True)
    transcript_chars = Integer(
        200_000, min=1000, help="Budget in characters for one run's stored transcript."
    ).tag(config=True)
    undo_memory_mb = Integer(
        512,
        min=0,
        help="Memory in MB one run may use for copies of objects its cells change in place "
        "(df['c'] = ..., items.append(...)), so that undo can restore them. Objects past it "
        "are listed as not restorable. 0: no copies (undo still restores names).",
    ).tag(config=True)
    undo_depth = Integer(
        1,
        min=0,
        help="How many of the latest runs stay undoable; an older run's snapshots are dropped "
        "when a new run starts. 0: no run can be undone.",
    ).tag(config=True)
    rerun = Bool(
        False,
        help="Ask the model again even when the prompt cell's recorded run is in the notebook, "
        "replacing that run's cells.",
    ).tag(config=True)
    offline = Bool(
        False,
        help="Never call a model: a prompt cell without a recorded run fails (used by "
        "`jupyter agents replay`).",
    ).tag(config=True)


#: Settings a user may change with ``%agent_config name=value``.
SETTABLE = (
    "model",
    "max_steps",
    "approve",
    "observation_tokens",
    "context_tokens",
    "history_cells",
    "stream",
    "model_timeout",
    "model_retries",
    "cell_timeout",
    "max_output_bytes",
    "max_proposal_chars",
    "frontend_timeout",
    "keep_rejected",
    "transcripts",
    "transcript_chars",
    "undo_memory_mb",
    "undo_depth",
)


@dataclass
class Settings:
    """The values in force for one run, and where each came from."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


class SettingsStore:
    """Holds the traitlets defaults and the session's ``%agent_config`` overrides."""

    def __init__(self, config: Config | None = None) -> None:
        self.configurable = JupyterAgents(config=_valid_config(config or Config()))
        self.overrides: dict[str, Any] = {}
        #: Set by a headless runner (``jupyter agents run --model ...``): above %agent_config.
        self.command_line: dict[str, Any] = {}

    def set_from_strings(self, assignments: dict[str, str]) -> None:
        """Apply ``%agent_config name=value`` pairs; validate all before changing any.

        An empty value (``model=``) removes this kernel's value, so the config file or the
        environment applies again.
        """
        cleared = [_settable(name) for name, text in assignments.items() if not text.strip()]
        parsed = {
            name: self.parse(name, text) for name, text in assignments.items() if text.strip()
        }
        for name in cleared:
            self.overrides.pop(name, None)
        self.overrides.update(parsed)

    def parse(self, name: str, text: str) -> Any:
        """Turn a user's string into a valid value for setting ``name``."""
        trait = self.configurable.traits()[_settable(name)]
        try:
            value = trait.from_string(text)
            return trait.validate(self.configurable, value)
        except (TraitError, ValueError) as error:
            raise InvalidOption(
                f"{name}={quoted(text)} is not valid: {_problem(error, text)}"
            ) from None

    def resolve(self, **options: Any) -> Settings:
        """The settings for a run: options given to this run win over everything else."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        configured = self.configurable.config.get("JupyterAgents", {})
        for name, trait in self.configurable.traits(config=True).items():
            option = options.get(name)
            if option is not None:
                values[name], sources[name] = self._validated(name, option), "option"
            elif name in self.command_line:
                values[name], sources[name] = self.command_line[name], "command line"
            elif name in self.overrides:
                values[name], sources[name] = self.overrides[name], "%agent_config"
            elif name in configured:
                values[name], sources[name] = getattr(self.configurable, name), "config"
            elif name == "model" and os.environ.get(MODEL_ENV_VAR):
                values[name], sources[name] = os.environ[MODEL_ENV_VAR], f"${MODEL_ENV_VAR}"
            else:
                values[name], sources[name] = trait.default(), "default"
        return Settings(values, sources)

    def check(self, options: dict[str, Any], known: Sequence[str] | None = None) -> None:
        """Refuse bad options now (``Agent(approve="bogus")``), not when a run starts.

        ``known``: the names accepted (default: every configurable setting).
        """
        known = list(self.configurable.traits(config=True)) if known is None else known
        unknown = sorted(name for name in options if name not in known)
        if unknown:
            raise InvalidOption(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}."
            )
        for name, value in options.items():
            if value is not None:
                self._validated(name, value)

    def _validated(self, name: str, value: Any) -> Any:
        trait = self.configurable.traits()[name]
        try:
            return trait.validate(self.configurable, value)
        except TraitError as error:
            problem = _problem(error, value)
            raise InvalidOption(f"{name}={quoted(value)} is not valid: {problem}") from None


def require_model(settings: Settings, crew: dict[str, Any] | None = None) -> None:
    """A run that will call a model cannot start without one.

    Checked when a run is about to call a model, not when settings are resolved: a cell whose
    recorded run is in the notebook replays it without any model configured. A crew (its
    recorded spec) needs no crew-wide model when every role, and a hierarchical crew's manager,
    names its own.
    """
    if settings.model:
        return
    if crew is not None:
        roles_have_models = all(role.get("model") for role in crew.get("roles", []))
        manager_has_model = crew.get("process") != "hierarchical" or crew.get("manager_model")
        if roles_have_models and manager_has_model:
            return
    raise NoModelConfigured()


def _settable(name: str) -> str:
    if name in SETTABLE:
        return name
    if name in JupyterAgents.class_traits(config=True):
        raise InvalidOption(
            f"{name} cannot be set with %agent_config: set c.JupyterAgents.{name} in your "
            f"IPython config file, or pass {name}=... to Agent(...)."
        )
    raise InvalidOption(f"unknown setting {quoted(name)}; settable: {', '.join(SETTABLE)}.")


def _valid_config(config: Config) -> Config:
    """``config`` without the ``c.JupyterAgents.*`` values its traits refuse, each one reported.

    A bad value in ipython_config.py must not stop ``%load_ext``: the extension loads, says
    in one line which setting is wrong, and uses that setting's default. Each value is tried
    the way traitlets itself applies it (command-line strings, ``.update(...)``), one at a time.
    """
    section = config.get("JupyterAgents")
    if not section:
        return config
    try:
        JupyterAgents(config=config)
        return config
    except TraitError:
        pass
    traits = JupyterAgents.class_traits(config=True)
    cleaned = copy.deepcopy(config)
    for name, value in dict(section).items():
        alone = Config()
        alone.JupyterAgents[name] = copy.deepcopy(value)
        try:
            JupyterAgents(config=alone)
        except TraitError as error:
            del cleaned.JupyterAgents[name]
            default = traits[name].default() if name in traits else None
            print(
                f"jupyter-agents: c.JupyterAgents.{name} = {quoted(value)} in your IPython config "
                f"is not valid ({_problem(error, value)}); using the default {default!r}.",
                file=sys.stderr,
            )
    return cleaned


def _problem(error: BaseException, value: Any) -> str:
    """traitlets' message in a user's words: no "trait of a JupyterAgents instance"."""
    text = str(error).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    text = re.sub(r"^The value of the '\w+' trait of an? \w+ instance ", "", text)
    text = re.sub(r"^The '\w+' trait of an? \w+ instance ", "", text)
    return one_line(text.replace("%r", repr(value)).rstrip("."))
