"""The agentgov policy language: parse → validate → compile (once per revision) → evaluate (pure).

::

    diagnostics = check_bundle(text, "acme.yaml")        # every error and warning at once
    bundle = load_bundle(text, "acme.yaml")              # BundleInvalid(diagnostics) on any error
    compiled = compile_bundle(bundle, revision=7)
    evaluation = compiled.evaluate(EvalInput(action=..., agent=AgentFacts(...), now_ns=...))

The language is documented in ``services/policy/docs/language.md``.
"""

from agentgov.policy.lang.compile import CompiledBundle, compile_bundle
from agentgov.policy.lang.diagnostics import CODES, Diagnostic
from agentgov.policy.lang.errors import BundleInvalid, PolicyLangError
from agentgov.policy.lang.inputs import AgentFacts, BudgetView, EvalInput, Evaluation, full_id
from agentgov.policy.lang.model import Bundle
from agentgov.policy.lang.parse import check_bundle, load_bundle
from agentgov.policy.lang.sanitize import sanitize
from agentgov.policy.lang.scanner import DEFAULT_SCANNER, Detector, Finding, Scanner

__all__ = [
    "CODES",
    "DEFAULT_SCANNER",
    "AgentFacts",
    "BudgetView",
    "Bundle",
    "BundleInvalid",
    "CompiledBundle",
    "Detector",
    "Diagnostic",
    "EvalInput",
    "Evaluation",
    "Finding",
    "PolicyLangError",
    "Scanner",
    "check_bundle",
    "compile_bundle",
    "full_id",
    "load_bundle",
    "sanitize",
]
