// The lenient loader behind the runtime models, like the Python and Rust SDKs: a missing or
// null field gets its default ('' / false / 0 / [] / {} / an empty nested model; optional
// numbers and booleans stay undefined), a value of the wrong type its type's default, unknown
// fields are dropped (the raw JSON stays in `event.body()`).

/** A field type: `load(value)` gives the normalised value. */
const kind = (load) => ({ load });

export const str = kind((v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v)));
export const bool = kind((v) => (typeof v === 'boolean' ? v : false));
export const int = kind((v) => (Number.isInteger(v) ? v : 0));
export const optInt = kind((v) => (Number.isInteger(v) ? v : undefined));
export const optBool = kind((v) => (typeof v === 'boolean' ? v : undefined));
/** Any JSON value, kept as is (undefined when missing). */
export const any = kind((v) => (v === null ? undefined : v));
/** An object of strings (`i18n_names`…). */
export const strMap = kind((v) => {
  const out = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return out;
});
export const list = (item) => kind((v) => (Array.isArray(v) ? v.map((x) => item.load(x)) : []));

/**
 * A model: `fields` maps each JSON key to its field type (or to a nested model); instances are
 * made with `new Cls()` (default: a plain object) and get every field.
 */
export function model(fields, Cls = Object) {
  return kind((v) => {
    const src = v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    const out = Cls === Object ? {} : new Cls();
    for (const [key, type] of Object.entries(fields)) {
      const x = type.load(src[key]);
      if (x !== undefined) out[key] = x;
    }
    return out;
  });
}
