// Installed before any script of each document a render loads: counts the work a page still has
// in flight, so the renderer can tell when it is drawn. Counted: fetch() and XMLHttpRequest calls
// not yet answered, and timers set for up to 2 s not yet fired (the usual "render after a moment";
// repeating timers and animation frames are left out, or an animated page would never settle).
(() => {
  if (window.__basPending) return;
  const pending = { requests: 0, timers: new Set() };
  window.__basPending = () => pending.requests + pending.timers.size;
  const origFetch = window.fetch;
  if (origFetch) {
    window.fetch = function (...args) {
      pending.requests++;
      let p;
      try {
        p = origFetch.apply(this, args);
      } catch (e) {
        pending.requests--;
        throw e;
      }
      const done = () => { pending.requests--; };
      p.then(done, done);
      return p;
    };
  }
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    pending.requests++;
    let counted = true;
    const done = () => {
      if (counted) { counted = false; pending.requests--; }
    };
    this.addEventListener("loadend", done);
    try {
      return send.apply(this, args);
    } catch (e) {
      done();
      throw e;
    }
  };
  const setT = window.setTimeout;
  const clearT = window.clearTimeout;
  window.setTimeout = function (fn, delay, ...rest) {
    const short = !(Number(delay) > 2000);
    let id;
    const run = function () {
      pending.timers.delete(id);
      return typeof fn === "function" ? fn.apply(this, rest) : undefined;
    };
    id = setT.call(window, typeof fn === "function" ? run : fn, delay);
    if (short && typeof fn === "function") pending.timers.add(id);
    return id;
  };
  window.clearTimeout = function (id) {
    pending.timers.delete(id);
    return clearT.call(window, id);
  };
})();
