// Started by the first state read in each document: counts DOM mutations so the engine can
// report `dom_change` after an action without shipping the DOM around.
(() => {
  if (window.__basObserved) return;
  Object.defineProperty(window, "__basObserved", { value: true, enumerable: false });
  Object.defineProperty(window, "__basMutations", { value: 0, writable: true, enumerable: false });
  const start = () => {
    new MutationObserver((list) => { window.__basMutations += list.length; })
      .observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
  };
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
