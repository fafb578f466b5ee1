// A compact summary of what the page shows, for an agent to act on. Bounded in size: at most
// `maxElements` interactive elements (those in the viewport first), `maxText` characters of text.
(opts) => {
  const reg = REFS;
  const refOf = (el) => {
    let r = reg.byEl.get(el);
    if (!r) {
      r = "e" + reg.next++;
      reg.byEl.set(el, r);
      reg.byRef.set(r, new WeakRef(el));
    }
    return r;
  };
  const vw = window.innerWidth, vh = window.innerHeight;
  const clip = (s, n) => {
    s = (s || "").replace(/\s+/g, " ").trim();
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return null;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none" || Number(st.opacity) === 0) return null;
    return r;
  };
  const labelOf = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const t = by.split(/\s+/).map((id) => document.getElementById(id)?.innerText || "").join(" ");
      if (t.trim()) return t;
    }
    if (el.labels && el.labels.length) return el.labels[0].innerText;
    if (el.tagName === "IMG") return el.alt || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) {
      return el.placeholder || el.name || el.title || "";
    }
    return el.innerText || el.value || el.title || el.alt || "";
  };
  const roleOf = (el) => {
    const role = el.getAttribute("role");
    if (role) return role;
    const t = el.tagName;
    if (t === "A") return "link";
    if (t === "BUTTON" || t === "SUMMARY") return "button";
    if (t === "SELECT") return "combobox";
    if (t === "TEXTAREA") return "textbox";
    if (t === "INPUT") {
      const ty = (el.type || "text").toLowerCase();
      if (["button", "submit", "reset", "image"].includes(ty)) return "button";
      if (ty === "checkbox") return "checkbox";
      if (ty === "radio") return "radio";
      if (ty === "range") return "slider";
      return "textbox";
    }
    if (el.isContentEditable) return "textbox";
    return "generic";
  };
  const valueOf = (el) => {
    if (el.tagName === "SELECT") return el.options[el.selectedIndex]?.text ?? "";
    if (el.type === "password") return el.value ? "••••" : "";
    if (el.isContentEditable) return clip(el.innerText, 200);
    return typeof el.value === "string" ? clip(el.value, 200) : undefined;
  };

  const sel = "a[href],button,input:not([type=hidden]),select,textarea,summary,[role=button],[role=link],[role=checkbox],[role=radio],[role=tab],[role=menuitem],[role=switch],[role=option],[contenteditable=''],[contenteditable=true],[onclick],[tabindex]:not([tabindex='-1'])";
  const all = [];
  for (const el of document.querySelectorAll(sel)) {
    const r = visible(el);
    if (!r) continue;
    const inView = r.bottom > 0 && r.right > 0 && r.top < vh && r.left < vw;
    all.push({ el, r, inView });
  }
  all.sort((a, b) => (b.inView - a.inView) || (a.r.top - b.r.top) || (a.r.left - b.r.left));
  const elements = all.slice(0, opts.maxElements).map(({ el, r, inView }) => {
    const e = {
      ref: refOf(el),
      role: roleOf(el),
      tag: el.tagName.toLowerCase(),
      name: clip(labelOf(el), 80),
      in_viewport: inView,
      x: Math.round(r.left + r.width / 2),
      y: Math.round(r.top + r.height / 2),
    };
    if (el.tagName === "INPUT") e.type = (el.type || "text").toLowerCase();
    const v = valueOf(el);
    if (v !== undefined && v !== "" && e.role !== "button") e.value = v;
    if (el.tagName === "A") e.href = clip(el.href, 200);
    if (el.type === "checkbox" || el.type === "radio") e.checked = !!el.checked;
    if (el.disabled) e.disabled = true;
    if (el.required) e.required = true;
    if (document.activeElement === el) e.focused = true;
    return e;
  });

  const headings = [];
  for (const h of document.querySelectorAll("h1,h2,h3,h4,h5,h6")) {
    if (headings.length >= opts.maxHeadings) break;
    if (!visible(h)) continue;
    headings.push({ level: Number(h.tagName[1]), text: clip(h.innerText, 120) });
  }

  const forms = [];
  for (const f of document.forms) {
    if (forms.length >= 10) break;
    const fields = [];
    for (const el of f.elements) {
      if (fields.length >= 30) break;
      if (!["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) continue;
      if (el.type === "hidden" || !visible(el)) continue;
      const fd = { ref: refOf(el), name: el.name || "", label: clip(labelOf(el), 80), type: el.tagName === "INPUT" ? (el.type || "text").toLowerCase() : el.tagName.toLowerCase() };
      const v = valueOf(el);
      if (v !== undefined) fd.value = v;
      if (el.type === "checkbox" || el.type === "radio") fd.checked = !!el.checked;
      if (el.required) fd.required = true;
      fields.push(fd);
    }
    forms.push({ ref: refOf(f), name: f.getAttribute("name") || f.id || "", action: f.action || "", method: (f.method || "get").toLowerCase(), fields });
  }

  // Visible text: the viewport's text first, then the rest, up to the budget.
  const body = document.body;
  let text = body ? body.innerText || "" : "";
  text = text.replace(/[ \t]+/g, " ").replace(/\n\s*\n+/g, "\n").trim();
  const textTruncated = text.length > opts.maxText;
  if (textTruncated) text = text.slice(0, opts.maxText - 1) + "…";

  return {
    url: location.href,
    title: document.title,
    ready_state: document.readyState,
    viewport: { width: vw, height: vh },
    scroll: {
      x: Math.round(window.scrollX), y: Math.round(window.scrollY),
      max_x: Math.max(0, document.documentElement.scrollWidth - vw),
      max_y: Math.max(0, document.documentElement.scrollHeight - vh),
    },
    headings,
    elements,
    forms,
    text,
    truncated: {
      elements_omitted: Math.max(0, all.length - elements.length),
      text: textTruncated,
    },
  };
}
