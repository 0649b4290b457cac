"""`ParameterFields`: a notebook action's parameters as fields of their kind, prefilled with
the values it runs with unless overridden; only what the user changes is sent."""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w

FIELD = w.Layout(width="auto")


def field_for(name: str, value: Any) -> w.Widget:
    """An input that keeps the value's kind: a whole number stays one, a list is JSON."""
    style = {"description_width": "initial"}
    if isinstance(value, bool):
        return w.Checkbox(value=value, description=name, indent=False, layout=FIELD)
    if isinstance(value, int):
        return w.IntText(value=value, description=name, style=style, layout=FIELD)
    if isinstance(value, float):
        return w.FloatText(value=value, description=name, style=style, layout=FIELD)
    if isinstance(value, str):
        return w.Text(value=value, description=name, style=style, layout=FIELD)
    return w.Text(value=json.dumps(value), description=f"{name} (JSON)", style=style, layout=FIELD)


class ParameterFields(w.VBox):
    """The parameters of one notebook action; `overrides()` are the changed ones."""

    def __init__(self, action: str, values: dict[str, Any]) -> None:
        self.action, self.values = action, dict(values)
        self.fields = {name: field_for(name, value) for name, value in self.values.items()}
        title = w.HTML(f"<small>Parameters of <b>{action}</b> (changes hold for this run)</small>")
        super().__init__([title, *self.fields.values()], layout=w.Layout(margin="0 0 0 2em"))

    def overrides(self) -> dict[str, Any]:
        """The values changed from what the action runs with; refused (ValueError) if a JSON
        field does not hold JSON."""
        changed = {}
        for name, field in self.fields.items():
            value = field.value
            if isinstance(field, w.Text) and not isinstance(self.values[name], str):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise ValueError(f"{name} of {self.action} must be JSON, like [1, 2]") from None
            if value != self.values[name]:
                changed[name] = value
        return changed
