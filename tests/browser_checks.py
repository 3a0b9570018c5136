"""Checks the browser tests run in the page (Playwright's ``page.evaluate``)."""

# Every visible control a finger aims at: links, buttons, summaries, and the labels around checkboxes
# (the label is the target; the box inside it is drawn smaller). Hidden inputs and the skip link
# (off-screen until focused) are not targets.
SMALL_TARGETS = """(tap) => {
  const small = [];
  const targets = document.querySelectorAll('a[href], button, summary, select, input:not([type=hidden]):not([type=checkbox]), label:has(> input[type=checkbox])');
  for (const el of targets) {
    if (el.closest('.skip') || el.closest('[hidden]')) continue;
    const rect = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden' || rect.right < 0) continue;
    if (rect.width < tap - 0.5 || rect.height < tap - 0.5) {
      small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}" ${Math.round(rect.width)}x${Math.round(rect.height)}`);
    }
  }
  return small;
}"""
