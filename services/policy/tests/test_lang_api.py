"""The public API of agentgov.policy.lang is what others code against; pin it."""

from __future__ import annotations

from agentgov.policy import lang


def test_public_names() -> None:
    """__all__ lists exactly the public names, and each exists."""
    assert sorted(lang.__all__) == sorted(
        [
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
    )
    assert all(hasattr(lang, name) for name in lang.__all__)


def test_bundle_invalid_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a bundle that does not validate."""
    assert issubclass(lang.BundleInvalid, ValueError)
    assert issubclass(lang.BundleInvalid, lang.PolicyLangError)
