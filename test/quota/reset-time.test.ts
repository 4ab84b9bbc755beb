import {describe, expect, it} from 'vitest'

import {isValidTimeZone, parseResetTime, processTimeZone} from '../../src/lib/quota/reset-time.js'

const iso = (text: string, now: string, timeZone?: string) => parseResetTime(text, {now: new Date(now), ...(timeZone ? {timeZone} : {})})?.toISOString() ?? null

describe('parseResetTime', () => {
  // [text, capture moment, zone of the claude process, expected instant]
  it.each([
    // Time only: the next occurrence after the capture, in the zone shown, else the process zone.
    ['resets 5pm', '2026-03-10T13:32:00Z', 'Europe/Paris', '2026-03-10T16:00:00.000Z'],
    ['resets 10am', '2026-03-10T13:32:00Z', 'Europe/Paris', '2026-03-11T09:00:00.000Z'],
    ['resets 8:30pm', '2026-03-10T13:32:00Z', 'UTC', '2026-03-10T20:30:00.000Z'],
    ['3:20am', '2026-03-10T13:32:00Z', 'UTC', '2026-03-11T03:20:00.000Z'],
    ['5pm', '2026-03-10T13:32:00Z', 'UTC', '2026-03-10T17:00:00.000Z'],
    ['resets 12am', '2026-03-10T13:32:00Z', 'UTC', '2026-03-11T00:00:00.000Z'],
    ['resets 12pm', '2026-03-10T08:00:00Z', 'UTC', '2026-03-10T12:00:00.000Z'],
    ['resets 1 PM', '2026-03-10T08:00:00Z', 'UTC', '2026-03-10T13:00:00.000Z'],
    ['resets 10am (Asia/Seoul)', '2025-11-30T03:00:00Z', 'Europe/Paris', '2025-12-01T01:00:00.000Z'],
    ['resets 3pm (America/Bogota)', '2025-06-23T16:24:00Z', 'UTC', '2025-06-23T20:00:00.000Z'],
    ['Your limit will reset at 1pm (Etc/GMT+5).', '2025-06-14T16:00:00Z', 'UTC', '2025-06-14T18:00:00.000Z'],
    ['resets 7am (UTC)', '2025-10-09T23:10:00Z', 'Asia/Tokyo', '2025-10-10T07:00:00.000Z'],
    ['resets 12:50am (America/Los_Angeles)', '2026-07-01T05:10:00Z', 'UTC', '2026-07-01T07:50:00.000Z'],
    ['resets 1am (Pacific/Kiritimati)', '2026-06-01T12:00:00Z', 'UTC', '2026-06-02T11:00:00.000Z'],
    ['resets 6am tomorrow', '2026-03-10T01:00:00Z', 'UTC', '2026-03-11T06:00:00.000Z'],
    // Exactly at the printed time: the next one, a day later.
    ['resets 3pm (UTC)', '2026-03-10T15:00:00Z', 'Europe/Paris', '2026-03-11T15:00:00.000Z'],
    // An unknown zone in the text falls back to the process zone given.
    ['resets 9am (Mars/Olympus_Mons)', '2026-03-10T13:00:00Z', 'Europe/Paris', '2026-03-11T08:00:00.000Z'],

    // DST, America/New_York: clocks go 2:00 → 3:00 on 2026-03-08 and 2:00 → 1:00 on 2026-11-01.
    ['resets 8am', '2026-03-07T20:00:00Z', 'America/New_York', '2026-03-08T12:00:00.000Z'],
    ['resets 3am', '2026-03-08T06:00:00Z', 'America/New_York', '2026-03-08T07:00:00.000Z'],
    ['resets 2:30am', '2026-03-08T06:00:00Z', 'America/New_York', '2026-03-08T07:30:00.000Z'],
    ['resets 1:30am', '2026-11-01T05:10:00Z', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['resets 1:30am', '2026-11-01T05:45:00Z', 'America/New_York', '2026-11-01T06:30:00.000Z'],
    ['resets 9am', '2026-11-01T03:00:00Z', 'America/New_York', '2026-11-01T14:00:00.000Z'],
    // DST, Europe/Paris: 2:00 → 3:00 on 2026-03-29, 3:00 → 2:00 on 2026-10-25.
    ['resets 2:30am (Europe/Paris)', '2026-03-29T00:30:00Z', 'UTC', '2026-03-29T01:30:00.000Z'],
    ['resets 10am (Europe/Paris)', '2026-03-28T22:00:00Z', 'UTC', '2026-03-29T08:00:00.000Z'],
    ['resets 2:30am (Europe/Paris)', '2026-10-25T00:10:00Z', 'UTC', '2026-10-25T00:30:00.000Z'],
    ['resets 2:30am (Europe/Paris)', '2026-10-25T00:40:00Z', 'UTC', '2026-10-25T01:30:00.000Z'],
    ['resets 5pm', '2026-10-24T20:00:00Z', 'Europe/Paris', '2026-10-25T16:00:00.000Z'],
    ['resets 3:45pm', '2026-04-05T02:00:00Z', 'Australia/Sydney', '2026-04-05T05:45:00.000Z'],

    // Dates: the year that puts the instant nearest the capture.
    ['resets Oct 6, 6pm', '2025-10-04T20:00:00Z', 'America/New_York', '2025-10-06T22:00:00.000Z'],
    ['resets Jan 30, 11:30am (Asia/Calcutta)', '2026-01-28T09:00:00Z', 'UTC', '2026-01-30T06:00:00.000Z'],
    ['resets Sep 15 at 7pm', '2026-09-10T16:00:00Z', 'America/Denver', '2026-09-16T01:00:00.000Z'],
    ['resets Oct 2 at 7am (America/Phoenix)', '2026-09-28T12:00:00Z', 'UTC', '2026-10-02T14:00:00.000Z'],
    ['Resets Jul 11 at 12pm (Asia/Singapore)', '2026-07-08T00:00:00Z', 'UTC', '2026-07-11T04:00:00.000Z'],
    ['resets Oct 24', '2025-10-20T10:00:00Z', 'Europe/London', '2025-10-23T23:00:00.000Z'],
    ['resets Oct 25, 2:30am (Europe/Paris)', '2026-10-24T12:00:00Z', 'UTC', '2026-10-25T00:30:00.000Z'],
    ['Approaching weekly usage limit — Resets Sun, Sep 20, 2:00 PM', '2026-09-16T12:00:00Z', 'America/Los_Angeles', '2026-09-20T21:00:00.000Z'],
    ['resets Jan 2, 9am (UTC)', '2026-12-30T10:00:00Z', 'UTC', '2027-01-02T09:00:00.000Z'],
    ['resets Dec 31, 9am (UTC)', '2027-01-02T10:00:00Z', 'UTC', '2026-12-31T09:00:00.000Z'],
    ['resets 12:30am (UTC)', '2026-12-31T23:30:00Z', 'UTC', '2027-01-01T00:30:00.000Z'],
    ['resets Feb 29 at 7pm (UTC)', '2028-02-27T00:00:00Z', 'UTC', '2028-02-29T19:00:00.000Z'],
    ['You will regain access on 2026-10-01 at 00:00 UTC.', '2026-09-20T00:00:00Z', 'Europe/Paris', '2026-10-01T00:00:00.000Z'],

    // Weekdays: the next such day after the capture (a week later when it is that very moment).
    ['resets Mon 12:00am', '2026-03-06T18:00:00Z', 'America/Chicago', '2026-03-09T05:00:00.000Z'],
    ['resets Mon 12:00am', '2026-03-09T05:00:00Z', 'America/Chicago', '2026-03-16T05:00:00.000Z'],
    ['resets Mon 9am', '2026-03-09T10:00:00Z', 'UTC', '2026-03-16T09:00:00.000Z'],
    ['resets Thu', '2026-03-10T13:32:00Z', 'Europe/Paris', '2026-03-11T23:00:00.000Z'],

    // Relative forms and the native auto-continue line.
    ['resets in 4m', '2026-03-10T13:32:00Z', 'UTC', '2026-03-10T13:36:00.000Z'],
    ['resets in 1h 15m', '2026-03-10T13:32:00Z', 'UTC', '2026-03-10T14:47:00.000Z'],
    ['resets in 1d 5h', '2026-03-10T13:32:00Z', 'UTC', '2026-03-11T18:32:00.000Z'],
    ['Usage limit reached · continuing automatically at 3:45pm · esc to cancel', '2026-03-10T13:32:00Z', 'Europe/Paris', '2026-03-10T14:45:00.000Z'],

    // The legacy epoch is exact, whatever the zones.
    ['Claude AI usage limit reached|1755615600', '2025-08-19T12:00:00Z', 'Asia/Tokyo', '2025-08-19T15:00:00.000Z'],
    ['Claude AI usage limit reached|1766502000', '2030-01-01T00:00:00Z', 'UTC', '2025-12-23T15:00:00.000Z'],
    ['limit|1755615600000', '2025-08-19T12:00:00Z', 'UTC', '2025-08-19T15:00:00.000Z'],
  ])('%s at %s in %s', (text, now, zone, expected) => {
    expect(iso(text, now, zone)).toBe(expected)
  })

  it.each([
    ['Please try again later.'],
    ['resets soon'],
    ['resets Feb 30 at 7pm'],
    ['resets 13pm'],
    ['resets 0am'],
    [''],
    ['Stop and wait for limit to reset'],
  ])('finds no instant in %j', (text) => {
    expect(iso(text, '2026-03-10T13:32:00Z', 'UTC')).toBeNull()
  })

  it('uses the zone shown over the process zone, and the process zone when none is given', () => {
    const now = '2026-03-10T13:32:00Z'
    expect(iso('resets 5pm (Asia/Tokyo)', now, 'Europe/Paris')).toBe(iso('resets 5pm', now, 'Asia/Tokyo'))
    expect(iso('resets 5pm', now)).toBe(iso('resets 5pm', now, processTimeZone()))
  })

  it('stops reading at the banner separator', () => {
    const now = '2025-11-30T03:00:00Z'
    expect(iso('Weekly limit reached · resets 10am (Asia/Seoul) · /upgrade to Max or turn on /extra-usage', now, 'UTC')).toBe('2025-12-01T01:00:00.000Z')
    expect(iso('5-hour limit reached ∙ resets 5am\n/upgrade to increase your usage limit. Try it at 9pm', '2025-08-28T23:40:00Z', 'Europe/Berlin')).toBe('2025-08-29T03:00:00.000Z')
  })

  it('never reads the clock: the same input gives the same instant', () => {
    const a = iso('resets 5pm', '2026-03-10T13:32:00Z', 'UTC')
    const b = iso('resets 5pm', '2026-03-10T13:32:00Z', 'UTC')
    expect(a).toBe(b)
  })
})

describe('isValidTimeZone', () => {
  it.each([
    ['Europe/Paris', true],
    ['UTC', true],
    ['Etc/GMT+5', true],
    ['Asia/Calcutta', true],
    ['Mars/Olympus', false],
    ['', false],
    ['../../etc/passwd', false],
  ])('%s → %s', (zone, valid) => {
    expect(isValidTimeZone(zone)).toBe(valid)
  })
})
