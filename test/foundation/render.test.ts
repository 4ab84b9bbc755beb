import {describe, expect, it} from 'vitest'

import {table} from '../../src/lib/render.js'

describe('table', () => {
  it('pads the columns, but no row past its own last cell (one long reason does not widen every line)', () => {
    const reason = `waiting for ${'x'.repeat(200)}`
    const lines = table(['task', 'state', 'reason'], [['a', 'blocked', reason], ['bb', 'inbox', '']]).split('\n')
    expect(lines.every((line) => line === line.trimEnd())).toBe(true)
    expect(lines.at(-1)).toMatch(/^bb\s+inbox$/)
    expect(lines[1]?.indexOf('blocked')).toBe(lines[2]?.indexOf('inbox'))
  })
})
