"""The static linter: rules over the template model, config, noqa, fixes, output."""
