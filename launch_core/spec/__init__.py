"""The job's spec: queue definitions, launch specs, template variables, macros,
the merge of resource args, and the guardrail engine that checks them."""
