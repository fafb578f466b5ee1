// Find the element a selector or ref names, scroll it into the middle of the viewport and return
// the point to click. Errors carry a machine-readable prefix the engine maps to its error codes.
(args) => {
  const reg = REFS;
  // Whether clicking this element is likely to load another page: a link, or a form's submit.
  function navigates(el) {
    const a = el.closest("a[href]");
    if (a) {
      const href = a.getAttribute("href") || "";
      return !href.startsWith("#") && !href.startsWith("javascript:");
    }
    const b = el.closest("button, input[type=submit], input[type=image]");
    return !!b && !!b.form && (b.tagName !== "BUTTON" || (b.type || "submit") === "submit");
  }
  let el = null;
  if (args.point) {
    el = document.elementFromPoint(args.point[0], args.point[1]);
    return { x: args.point[0], y: args.point[1], tag: el ? el.tagName.toLowerCase() : "", navigates: !!el && navigates(el) };
  }
  if (args.ref) {
    const w = reg.byRef.get(args.ref);
    el = w ? w.deref() : null;
    if (!el || !el.isConnected) return { error: "not_found", detail: `ref ${args.ref} (refs change when the page changes; read the screen content again)` };
  } else {
    try { el = document.querySelector(args.selector); }
    catch (e) { return { error: "bad_selector", detail: `${args.selector}: ${e.message}` }; }
    if (!el) return { error: "not_found", detail: `selector ${args.selector}` };
  }
  if (args.scroll !== false) el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
  const r = el.getBoundingClientRect();
  const st = getComputedStyle(el);
  if (r.width <= 0 || r.height <= 0 || st.visibility === "hidden" || st.display === "none") {
    return { error: "not_visible", detail: args.ref ? `ref ${args.ref}` : `selector ${args.selector}` };
  }
  if (args.focus) {
    el.focus();
    if (args.clear) {
      if (typeof el.select === "function") el.select();
      else if (el.isContentEditable) { const rg = document.createRange(); rg.selectNodeContents(el); const s = getSelection(); s.removeAllRanges(); s.addRange(rg); }
    } else if (typeof el.setSelectionRange === "function" && typeof el.value === "string") {
      try { el.setSelectionRange(el.value.length, el.value.length); } catch (_) {}
    }
  }
  return { x: r.left + r.width / 2, y: r.top + r.height / 2, tag: el.tagName.toLowerCase(), navigates: navigates(el) };
}
