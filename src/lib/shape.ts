// Shape checks for the records this tool writes and reads back on every timer run (state.json,
// claim records, attempts ledgers, the swap journal). zod validates what people write (the config, task files); for
// these internal records it cost more start-up time (building its schema objects at load) than the
// rest of a run, so they are checked by these few functions instead. A check returns the value
// (with defaults filled in and unknown keys dropped, as zod's objects do) or throws a ShapeError
// naming where the value is wrong.

/** A value that does not have the expected shape: `path` is where (`sessions.ccl-auto-11.since`). */
class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

export type Check<T> = (value: unknown, path: string) => T
export type Checked<C> = C extends Check<infer T> ? T : never

function wrong(path: string, message: string): never {
  throw new ShapeError(path, message)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const at = (path: string, key: number | string) => (path === '' ? String(key) : `${path}.${key}`)

export const string: Check<string> = (value, path) => (typeof value === 'string' ? value : wrong(path, 'expected a string'))

export const boolean: Check<boolean> = (value, path) => (typeof value === 'boolean' ? value : wrong(path, 'expected true or false'))

/** An ISO-8601 time (anything Date.parse reads). */
export const isoTime: Check<string> = (value, path) =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : wrong(path, 'must be an ISO-8601 time')

/** An integer ≥ min. */
export function integer(min = Number.NEGATIVE_INFINITY): Check<number> {
  return (value, path) => (Number.isInteger(value) && (value as number) >= min ? (value as number) : wrong(path, `expected an integer ≥ ${min}`))
}

/** A string that `test` accepts (a name that becomes a path, an id); the message says what it must be. */
export function matching(test: (value: string) => boolean, message: string): Check<string> {
  return (value, path) => (typeof value === 'string' && test(value) ? value : wrong(path, `${message} (got ${JSON.stringify(String(value).slice(0, 60))})`))
}

export function literal<T extends boolean | number | string>(expected: T): Check<T> {
  return (value, path) => (value === expected ? expected : wrong(path, `expected ${JSON.stringify(expected)}`))
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (value, path) => (values.includes(value as T) ? (value as T) : wrong(path, `expected one of ${values.join(', ')}`))
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path))
}

/** A missing key (undefined) becomes `fallback`. */
export function withDefault<T>(check: Check<T>, fallback: () => NoInfer<T>): Check<T> {
  return (value, path) => (value === undefined ? fallback() : check(value, path))
}

/** A key that may be missing; it stays missing in the result. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path))
}

export function unknown(value: unknown): unknown {
  return value
}

export function array<T>(check: Check<T>): Check<T[]> {
  return (value, path) => (Array.isArray(value) ? value.map((item, i) => check(item, at(path, i))) : wrong(path, 'expected a list'))
}

/** An object used as a map from any string key to values of one shape. */
export function record<T>(check: Check<T>): Check<Record<string, T>> {
  return (value, path) => {
    if (!isRecord(value)) return wrong(path, 'expected an object')
    const out: Record<string, T> = {}
    for (const key of Object.keys(value)) {
      // defineProperty: a key named __proto__ stays a plain key.
      Object.defineProperty(out, key, {configurable: true, enumerable: true, value: check(value[key], at(path, key)), writable: true})
    }

    return out
  }
}

type Optional<S> = {[K in keyof S]: undefined extends Checked<S[K]> ? K : never}[keyof S]
type ObjectOf<S extends Record<string, Check<unknown>>> = {[K in Exclude<keyof S, Optional<S>>]: Checked<S[K]>} & {
  [K in Optional<S>]?: Exclude<Checked<S[K]>, undefined>
}

/** An object with these keys (in this order); keys it does not name are dropped. */
export function object<S extends Record<string, Check<unknown>>>(shape: S): Check<{[K in keyof ObjectOf<S>]: ObjectOf<S>[K]}> {
  const entries = Object.entries(shape)
  return ((value: unknown, path: string) => {
    if (!isRecord(value)) return wrong(path, 'expected an object')
    const out: Record<string, unknown> = {}
    for (const [key, check] of entries) {
      const checked = check(value[key], at(path, key))
      if (checked !== undefined) out[key] = checked
    }

    return out
  }) as never
}

/** Runs a check: `{ok: true, value}`, or `{ok: false, path, message}` (`sessions.x.since`, `must be an ISO-8601 time`). */
export function parseShape<T>(check: Check<T>, value: unknown): {ok: true; value: T} | {ok: false; path: string; message: string} {
  try {
    return {ok: true, value: check(value, '')}
  } catch (error) {
    if (error instanceof ShapeError) return {ok: false, message: error.message, path: error.path}
    throw error
  }
}
