"""What every page test checks in Chromium: nothing reaches past the viewport, no console error,
and the full-page screenshots kept in tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# Elements wider than the viewport, or reaching past its right edge. Only a table's content may
# be wider, and only inside something that scrolls sideways by design (its card, a .table-scroll
# wrapper, or the table itself on a phone): that scroller is held to the viewport like the rest.
# A form, a figure or a line of text that spills out is reported even inside a scrolling card.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrollsSideways = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const scrollingTable = (el) => {
    if (!el.closest('table')) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrollsSideways(up)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getClientRects().length && !scrollingTable(el))
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.right > width + 1 || box.width > width + 1;
    })
    .map((el) => `${name(el)} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`);
  const page = document.documentElement.scrollWidth;
  return page > width + 1 ? [`the page is ${page} px wide`, ...wide] : wide;
}"""


# Each visible select narrower than it would be at its natural width (Chromium sizes a select
# with `width: auto` to show its longest option): measured on a hidden clone beside it.
NARROW_SELECTS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((select) => select.getClientRects().length)
  .map((select) => {
    const probe = select.cloneNode(true);
    probe.removeAttribute('id');
    probe.removeAttribute('name');
    Object.assign(probe.style, {position: 'absolute', visibility: 'hidden', width: 'auto',
                                minWidth: '0', maxWidth: 'none'});
    select.parentElement.appendChild(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    const longest = [...select.options].map((o) => o.text).sort((a, b) => b.length - a.length)[0];
    return {name: select.name, width: select.getBoundingClientRect().width, needed, longest};
  })
  .filter((select) => select.width + 2 < select.needed)
  .map((s) => `${s.name}: ${Math.round(s.width)} px for "${s.longest}"`
    + ` (${Math.round(s.needed)} px)`)
"""


def watch_console(page: Page) -> list[str]:
    """Collects the page's console errors, uncaught exceptions and failed (4xx/5xx) requests."""
    errors: list[str] = []

    def console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and errors.append(f"{response.status} {response.url}")
        ),
    )
    return errors


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot, tests/browser/artifacts/<name>.png, kept for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Every CSP violation the document reports, whether or not Chromium also logs it to the console
# (a violation inside an htmx swap, an inline handler, a style attribute set by a script).
_REPORT_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (event) => {
  window.__reportCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
    + (event.sample ? ` (${event.sample})` : ''));
});"""


def watch_csp(page: Page) -> list[str]:
    """Collects the CSP violations of every document the page loads, from the browser's own
    `securitypolicyviolation` events (the init script runs before any of the page's scripts)."""
    violations: list[str] = []
    page.expose_function("__reportCspViolation", lambda text: violations.append(text))
    page.add_init_script(_REPORT_VIOLATIONS)
    return violations
