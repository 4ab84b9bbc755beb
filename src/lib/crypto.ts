// node:crypto, loaded on first use: most timer runs never hash or draw an id, and loading the
// module (and OpenSSL behind it) is a measurable part of a run's start-up.
import {createRequire} from 'node:module'

let crypto: typeof import('node:crypto') | undefined
const load = () => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'))

/** SHA-256 of a text, as hex. */
export function sha256Hex(text: string): string {
  return load().createHash('sha256').update(text).digest('hex')
}

/** A random (v4) UUID. */
export function randomUUID(): string {
  return load().randomUUID()
}
