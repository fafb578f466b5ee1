// Stable element references for one document: the same element keeps the same ref for as long as
// the document lives. Kept on a non-enumerable property so page scripts do not trip over it.
(() => {
  const KEY = "__basRefs";
  if (!Object.prototype.hasOwnProperty.call(window, KEY)) {
    Object.defineProperty(window, KEY, {
      value: { byEl: new WeakMap(), byRef: new Map(), next: 1 },
      enumerable: false,
    });
  }
  return window[KEY];
})()
