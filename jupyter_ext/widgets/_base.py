"""What the widgets share: a client, a live feed in a thread, and a text form."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from ..client import Client, JobServerError


def default_client(client: Client | None) -> Client:
    return client if client is not None else Client()


class Feed:
    """Consume a (blocking) iterator of live things in a daemon thread, handing each to a
    callback; `stop()` ends it at the next thing (event streams ping regularly)."""

    def __init__(
        self,
        items: Callable[[], Iterable[Any]],
        on_item: Callable[[Any], bool | None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self._stopped = threading.Event()
        self._items, self._on_item, self._on_error = items, on_item, on_error
        self.thread = threading.Thread(target=self._run, daemon=True, name="jupyter-ext-feed")
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self._items():
                if self._stopped.is_set() or self._on_item(item) is False:
                    return
        except Exception as exc:  # shown in the widget, never raised into the kernel's thread
            self._on_error(exc)

    def stop(self) -> None:
        self._stopped.set()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


class TextForm(w.VBox):
    """A VBox whose plain text form (for frontends without widgets) is `text()`."""

    def text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = self.text()
        return bundle

    def __repr__(self) -> str:
        return self.text()


def error_text(exc: Exception) -> str:
    if isinstance(exc, JobServerError):
        return f"The job server said: {exc.detail}"
    return f"{type(exc).__name__}: {exc}"


STATE_STYLE = {  # the colours JupyterLab's own status uses
    "pending": "var(--jp-warn-color1, #f57c00)",
    "running": "var(--jp-brand-color1, #1976d2)",
    "succeeded": "var(--jp-success-color1, #388e3c)",
    "failed": "var(--jp-error-color1, #d32f2f)",
    "cancelled": "var(--jp-ui-font-color2, #757575)",
}


def state_html(state: str) -> str:
    colour = STATE_STYLE.get(state, "inherit")
    return f'<span style="color:{colour};font-weight:600">{state}</span>'
