// The page's state after an action: cheap enough to read after every action.
(() => ({
  url: location.href,
  title: document.title,
  ready_state: document.readyState,
  scroll_x: Math.round(window.scrollX),
  scroll_y: Math.round(window.scrollY),
  viewport: { width: window.innerWidth, height: window.innerHeight },
  page_width: document.documentElement ? document.documentElement.scrollWidth : 0,
  page_height: document.documentElement ? document.documentElement.scrollHeight : 0,
  mutations: window.__basMutations || 0,
}))()
