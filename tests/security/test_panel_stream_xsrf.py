"""The Jobs panel's event stream takes the page's XSRF token as `_xsrf` (an EventSource cannot
send headers): that must not open it to anything JupyterHub's cookie check refused before.
Through the demo hub's proxy, a request the page makes with the user's cookies but without
the token, with a wrong one, or with another user's, is refused; only the page's own opens."""

from __future__ import annotations

import pytest

from ..lab.conftest import browser, jp_asyncio_loop, jp_server_cleanup, lab_tmp, page, shots  # noqa: F401
from ..lab.test_jobs_panel import demo, open_through_the_hub  # noqa: F401 (fixtures above too)

pytestmark = pytest.mark.slow

# a request made by the page (Sec-Fetch-Mode: cors, as an EventSource's), with its cookies
STATUS = """async url => {
  const response = await fetch(url, {credentials: 'include', redirect: 'manual'});
  if (response.type === 'opaqueredirect') { return 'redirected'; }
  const status = response.status;
  await response.body?.cancel();
  return status;
}"""
XSRF = """() => document.cookie.split(';').map(c => c.trim()).filter(c => c.startsWith('_xsrf='))
  .map(c => c.slice(6)).pop()"""


def test_the_stream_opens_only_with_the_pages_own_xsrf_token(demo, page, browser):  # noqa: F811
    from jupyter_ext.cli.demo import WORKSPACE

    url, _ = demo
    open_through_the_hub(page, url, "analyst", WORKSPACE)
    events = f"{url}user/analyst/{WORKSPACE}/jupyter-ext/api/events?workspace={WORKSPACE}"
    mine = page.evaluate(XSRF)
    assert mine
    assert page.evaluate(STATUS, f"{events}&_xsrf={mine}") == 200
    assert page.evaluate(STATUS, events) == 403  # no token: the cookie alone is not taken
    assert page.evaluate(STATUS, f"{events}&_xsrf={mine[:-4]}AAAA") == 403  # forged
    assert page.evaluate(STATUS, f"{events}&_xsrf=") == 403

    # another user's page, holding the analyst's token, cannot open the analyst's stream, nor
    # its own with the analyst's token
    context = browser.new_context()
    try:
        other = context.new_page()
        open_through_the_hub(other, url, "checker", WORKSPACE)
        assert other.evaluate(STATUS, f"{events}&_xsrf={mine}") in ("redirected", 403)
        own = f"{url}user/checker/{WORKSPACE}/jupyter-ext/api/events?workspace={WORKSPACE}"
        assert other.evaluate(STATUS, f"{own}&_xsrf={mine}") == 403
        assert other.evaluate(STATUS, f"{own}&_xsrf={other.evaluate(XSRF)}") == 200
    finally:
        context.close()
