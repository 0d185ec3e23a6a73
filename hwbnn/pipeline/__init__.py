"""The step runner: the flow as data, its config, resumable builds."""
