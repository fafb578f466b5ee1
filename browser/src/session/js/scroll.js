// Scroll the scrollable element under (x, y), or the window, by (dx, dy); return the new offsets.
(a) => {
  let el = document.elementFromPoint(a.x, a.y);
  const canScroll = (e) => {
    if (!e || e === document.body || e === document.documentElement) return false;
    const st = getComputedStyle(e);
    const y = /(auto|scroll)/.test(st.overflowY) && e.scrollHeight > e.clientHeight;
    const x = /(auto|scroll)/.test(st.overflowX) && e.scrollWidth > e.clientWidth;
    return (a.dy !== 0 && y) || (a.dx !== 0 && x);
  };
  while (el && !canScroll(el)) el = el.parentElement;
  if (el) {
    el.scrollBy({ left: a.dx, top: a.dy, behavior: "instant" });
    return { target: "element", x: Math.round(el.scrollLeft), y: Math.round(el.scrollTop) };
  }
  window.scrollBy({ left: a.dx, top: a.dy, behavior: "instant" });
  return { target: "window", x: Math.round(window.scrollX), y: Math.round(window.scrollY) };
}
