// The host's imports as the SDK modules reach them, and the one reading of a refused call's
// reason (the engines report an import's `err` differently: QuickJS throws the string itself,
// StarlingMonkey an Error carrying it as `payload`).

/**
 * The host functions the build installed; throws when `fn` (if given) is not among them, i.e.
 * the handler was not built with `aviary-js build`. `what` names them in that error.
 */
export function hostFunctions(fn, what = 'host functions') {
  const h = globalThis.__aviaryHost;
  if (!h || (fn !== undefined && typeof h[fn] !== 'function')) {
    throw new Error(`aviary-js: no ${what}; build the handler with \`aviary-js build\``);
  }
  return h;
}

/** The reason a host call was refused, as text, whichever engine threw it. */
export function hostErrorText(e) {
  if (typeof e === 'string') return e;
  if (e && typeof e.payload === 'string') return e.payload;
  if (e && typeof e.message === 'string') return e.message;
  return String(e);
}

/** `fn()`, with whatever it throws turned into an `ErrorType` carrying the host's reason. */
export function callHost(ErrorType, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ErrorType) throw e;
    throw new ErrorType(hostErrorText(e));
  }
}
