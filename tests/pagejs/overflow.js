// Evaluated in a page by tests/test_browser_a11y.py: every control cut off or reaching
// out of the viewport, the page's width against the viewport's, and the root font size.
(() => {
  const width = window.innerWidth;
  const controls = [...document.querySelectorAll(
    'button, a.button, input, select, textarea, label, [data-bind="stage-title"], .notice')]
    .filter((el) => el.getClientRects().length && !el.closest('.board-area, .grid-area'));
  const bad = [];
  for (const el of controls) {
    const r = el.getBoundingClientRect();
    const name = `${el.tagName.toLowerCase()} "${(el.textContent || el.value || '').trim().slice(0, 40)}"`;
    if (r.left < -1 || r.right > width + 1) bad.push(`${name} spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
    // A field's own text scrolls within it; an ellipsis is a deliberate cut.
    const field = ['SELECT', 'INPUT', 'TEXTAREA'].includes(el.tagName);
    if (!field && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).textOverflow !== 'ellipsis')
      bad.push(`${name} cut off: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
  }
  return {width, scroll: document.scrollingElement.scrollWidth,
          root: getComputedStyle(document.documentElement).fontSize, bad};
})()
