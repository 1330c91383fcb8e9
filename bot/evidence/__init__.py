"""Validation and evidence: the audit trail turned into the pack an auditor reads."""
