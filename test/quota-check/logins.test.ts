// Logins watched (issue 16 item 4), the pure part: which accounts a poll marks `login_required`,
// which marks it clears and why, which accounts a swap may move to, and when the pool leaves a
// marked active account.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import type {Transaction} from '../../src/lib/lock.js'

import {parseConfig} from '../../src/lib/config-schema.js'
import {describeLoginRequired, type LoginEvidence, type LoginObservation, loginSwapAway, observeLogins, planLogins, previewLogins, usableTargets} from '../../src/lib/logins.js'
import {accountLoginRequired, accountLoginRestored, allExhausted, planNotifications} from '../../src/lib/notify/notifier.js'
import {type LoginState, parseStateText, serializeState, type State, STATE_VERSION} from '../../src/lib/state.js'
import {appendSignal, signalFromHook} from '../../src/lib/signals.js'
import {chooseTarget} from '../../src/lib/swap/swap.js'

const config = parseConfig('accounts: [{name: main, home: /h/main}, {name: backup, home: /h/backup}, {name: spare, home: /h/spare}]\nshared: {root: /s}\n', '/c.yaml')
const NOW = new Date('2026-11-21T10:00:00Z')

function state(patch: Partial<State> = {}): State {
  return {accounts: {}, active_account: 'main', dispatch_paused_until: null, generation: 3, last_swap: null, notified: {}, sessions: {}, suspect: {}, swap_journal: null, updated_at: null, version: STATE_VERSION, ...patch}
}

function marked(since: string, evidenceAt = since, clearedAt: string | null = null): LoginState {
  return {cleared_at: clearedAt, required: {evidence_at: evidenceAt, pattern: 'hook_authentication_failed', session: 'ccl-auto-11', since, snippet: 'Not logged in · Please run /login', source: 'hook'}}
}

function evidence(account: string, at: string, session = 'ccl-auto-11'): LoginEvidence {
  return {account, at, pattern: 'hook_authentication_failed', session, snippet: 'Not logged in · Please run /login', source: 'hook'}
}

function observed(patch: Partial<LoginObservation> = {}): LoginObservation {
  return {credentials: {}, evidence: [], successes: [], ...patch}
}

const tx = (s: State) => ({state: s}) as unknown as Transaction

describe('planLogins: marking', () => {
  it('marks the account of a session whose login failed, once', () => {
    const plan = planLogins(state(), observed({evidence: [evidence('backup', '2026-11-21T09:59:00.000Z')]}))
    expect(plan).toEqual({clear: [], mark: [evidence('backup', '2026-11-21T09:59:00.000Z')]})
    // Already marked: the same sighting on the next poll marks nothing new.
    const again = planLogins(state({logins: {backup: marked('2026-11-21T09:59:30.000Z', '2026-11-21T09:59:00.000Z')}}), observed({evidence: [evidence('backup', '2026-11-21T09:59:00.000Z')]}))
    expect(again).toEqual({clear: [], mark: []})
  })

  it('two sessions of one account make one mark, from the newest failure', () => {
    const plan = planLogins(state(), observed({evidence: [evidence('main', '2026-11-21T09:50:00.000Z', 'ccl-auto-11'), evidence('main', '2026-11-21T09:55:00.000Z', 'ccl-auto-12')]}))
    expect(plan.mark).toEqual([evidence('main', '2026-11-21T09:55:00.000Z', 'ccl-auto-12')])
  })

  it('evidence from before the last clear never marks again (the pane keeps showing the old line)', () => {
    const cleared = state({logins: {main: {cleared_at: '2026-11-21T09:58:00.000Z', required: null}}})
    expect(planLogins(cleared, observed({evidence: [evidence('main', '2026-11-21T09:50:00.000Z')]})).mark).toEqual([])
    // A failure after the clear is a new loss.
    expect(planLogins(cleared, observed({evidence: [evidence('main', '2026-11-21T09:59:00.000Z')]})).mark).toHaveLength(1)
  })

  it('a turn that ended normally on the same account after the failure means the login works: no mark', () => {
    const plan = planLogins(state(), observed({evidence: [evidence('main', '2026-11-21T09:50:00.000Z')], successes: [{account: 'main', at: '2026-11-21T09:51:00.000Z', session: 'ccl-auto-12'}]}))
    expect(plan.mark).toEqual([])
    // A success on another account says nothing about this one.
    const other = planLogins(state(), observed({evidence: [evidence('main', '2026-11-21T09:50:00.000Z')], successes: [{account: 'backup', at: '2026-11-21T09:51:00.000Z', session: 'ccl-auto-12'}]}))
    expect(other.mark).toHaveLength(1)
  })
})

describe('planLogins: clearing', () => {
  const s = state({logins: {backup: marked('2026-11-21T09:40:00.000Z', '2026-11-21T09:39:00.000Z')}})

  it('a Stop on that account after the failing record clears it', () => {
    const plan = planLogins(s, observed({successes: [{account: 'backup', at: '2026-11-21T09:45:00.000Z', session: 'ccl-auto-12'}]}))
    expect(plan.clear).toEqual([{account: 'backup', at: '2026-11-21T09:45:00.000Z', reason: 'session_succeeded', session: 'ccl-auto-12'}])
  })

  it('a Stop from before the failure does not', () => {
    expect(planLogins(s, observed({successes: [{account: 'backup', at: '2026-11-21T09:30:00.000Z', session: 'ccl-auto-12'}]})).clear).toEqual([])
  })

  it('credentials rewritten after the mark (a /login) clear it; older ones do not', () => {
    expect(planLogins(s, observed({credentials: {backup: '2026-11-21T09:50:00.000Z'}})).clear).toEqual([{account: 'backup', at: '2026-11-21T09:50:00.000Z', reason: 'credentials_renewed', session: null}])
    expect(planLogins(s, observed({credentials: {backup: '2026-11-01T00:00:00.000Z'}})).clear).toEqual([])
  })

  it('a login cleared and failing again in the same poll is marked again', () => {
    const plan = planLogins(s, observed({credentials: {backup: '2026-11-21T09:50:00.000Z'}, evidence: [evidence('backup', '2026-11-21T09:55:00.000Z')]}))
    expect(plan.clear.map((c) => c.account)).toEqual(['backup'])
    expect(plan.mark.map((m) => m.account)).toEqual(['backup'])
  })
})

describe('previewLogins (quota check --dry-run)', () => {
  it('lists the accounts marked after the poll: kept, newly marked, not the cleared', () => {
    const s = state({logins: {backup: marked('2026-11-21T09:40:00.000Z', '2026-11-21T09:39:00.000Z'), spare: marked('2026-11-21T09:40:00.000Z')}})
    const preview = previewLogins(s, observed({credentials: {backup: '2026-11-21T09:50:00.000Z'}, evidence: [evidence('main', '2026-11-21T09:59:00.000Z')]}))
    expect(preview.required).toEqual(['spare', 'main'])
    expect(preview.clear.map((c) => c.account)).toEqual(['backup'])
  })
})

describe('swap targets', () => {
  it('a marked account is never a target; the next usable one is', () => {
    const s = state({logins: {backup: marked('2026-11-21T09:40:00.000Z')}})
    expect(usableTargets(config, s, NOW)).toEqual(['spare'])
    expect(chooseTarget(config, tx(s), {}, NOW)).toEqual({account: config.accounts[2]})
  })

  it('with no usable account the choice says why, naming the fix for each marked one', () => {
    const s = state({accounts: {spare: {exhausted_until: '2026-11-21T15:00:00.000Z', last_hit: null}}, logins: {backup: marked('2026-11-21T09:40:00.000Z')}})
    expect(usableTargets(config, s, NOW)).toEqual([])
    expect(chooseTarget(config, tx(s), {}, NOW)).toEqual({
      earliest: '2026-11-21T15:00:00.000Z',
      loginRequired: ['backup'],
      none: 'no account to swap to: backup needs a login (CLAUDE_CONFIG_DIR=/h/backup claude, then /login); spare is exhausted until 2026-11-21T15:00:00.000Z; dispatch is paused until 2026-11-21T15:00:00.000Z',
    })
  })

  it('without marks the all-exhausted wording is unchanged', () => {
    const s = state({accounts: {backup: {exhausted_until: '2026-11-21T14:00:00.000Z', last_hit: null}, spare: {exhausted_until: '2026-11-21T15:00:00.000Z', last_hit: null}}})
    expect(chooseTarget(config, tx(s), {}, NOW)).toEqual({earliest: '2026-11-21T14:00:00.000Z', none: 'all accounts are exhausted until 2026-11-21T14:00:00.000Z; dispatch is paused until then'})
  })

  it('the operator may still name a marked account with --to (its mark is cleared by that swap)', () => {
    const s = state({logins: {backup: marked('2026-11-21T09:40:00.000Z')}})
    expect(chooseTarget(config, tx(s), {to: 'backup'}, NOW)).toEqual({account: config.accounts[1]})
  })
})

describe('leaving a marked active account', () => {
  it('swaps away once when some account is usable, never back into a marked one', () => {
    // main (active) lost its login: the pool goes to backup.
    const s = state({logins: {main: marked('2026-11-21T09:40:00.000Z')}})
    expect(loginSwapAway(config, s, NOW)).toBe('login: main needs a login since 2026-11-21T09:40:00.000Z (ccl-auto-11)')
    // Then backup is active and fine: nothing more to do.
    expect(loginSwapAway(config, {...s, active_account: 'backup'}, NOW)).toBeNull()
    // backup loses its login too: the next target skips main (still marked), never a ping-pong.
    const both = {...s, active_account: 'backup', logins: {...s.logins, backup: marked('2026-11-21T09:50:00.000Z')}}
    expect(loginSwapAway(config, both, NOW)).toMatch(/^login: backup needs a login/)
    expect(usableTargets(config, both, NOW)).toEqual(['spare'])
  })

  it('stays when no account is usable (no swap attempted, so no loop)', () => {
    const s = state({
      accounts: {backup: {exhausted_until: '2026-11-21T15:00:00.000Z', last_hit: null}},
      logins: {main: marked('2026-11-21T09:40:00.000Z'), spare: marked('2026-11-21T09:41:00.000Z')},
    })
    expect(loginSwapAway(config, s, NOW)).toBeNull()
    // Once backup's reset passes it is usable again, and the pool leaves main then.
    expect(loginSwapAway(config, s, new Date('2026-11-21T15:00:01Z'))).toMatch(/^login: main/)
  })

  it('an unmarked active account never swaps for a login', () => {
    expect(loginSwapAway(config, state(), NOW)).toBeNull()
  })
})

describe('the messages', () => {
  it('status --check names the account, the evidence and the exact fix', () => {
    expect(describeLoginRequired(config, 'backup', marked('2026-11-21T09:40:00.000Z').required as NonNullable<LoginState['required']>)).toBe(
      'account backup needs a login since 2026-11-21T09:40:00.000Z (hook on ccl-auto-11: "Not logged in · Please run /login"): it is never swapped to until then; fix: CLAUDE_CONFIG_DIR=/h/backup claude, then /login',
    )
  })

  it('the notification is sent once, the recovery only after it, and it clears the key', () => {
    const lost = accountLoginRequired({account: 'backup', fix: 'CLAUDE_CONFIG_DIR=/h/backup claude, then /login', home: '/h/backup', next: 'Next: x.', session: 'ccl-auto-11', since: NOW.toISOString(), snippet: 'Not logged in'})
    expect(lost.text).toContain('Fix: CLAUDE_CONFIG_DIR=/h/backup claude, then /login.')
    expect(planNotifications({}, [lost], NOW).due).toHaveLength(1)
    const sent = {[lost.key]: {at: NOW.toISOString(), message: lost.title}}
    expect(planNotifications(sent, [lost], new Date('2026-11-22T10:00:00Z')).due).toHaveLength(0)
    const back = accountLoginRestored({account: 'backup', reason: 'a turn on ccl-auto-12 ended normally'})
    expect(planNotifications({}, [back], NOW).due).toHaveLength(0)
    expect(planNotifications(sent, [back], NOW).due).toEqual([back])
    expect(back.clears).toEqual([lost.key])
  })

  it('the all-exhausted notice tells a lost login from a limit', () => {
    const n = allExhausted({accounts: [{exhaustedUntil: '2026-11-21T15:00:00.000Z', name: 'main'}], loginRequired: [{fix: 'CLAUDE_CONFIG_DIR=/h/backup claude, then /login', name: 'backup'}]})
    expect(n.title).toMatch(/^No account to swap to: backup needs a login, main is back at /)
    expect(n.text).toMatch(/^No account can take the pool: main until .*, backup needs a login \(fix: CLAUDE_CONFIG_DIR=\/h\/backup claude, then \/login\)\./)
  })
})

describe('state.json', () => {
  it('keeps the marks and clears through a write and a read; an older file without them still reads', () => {
    const s = state({logins: {backup: marked('2026-11-21T09:40:00.000Z'), main: {cleared_at: '2026-11-21T09:00:00.000Z', required: null}}})
    const read = parseStateText(serializeState(s))
    expect(read).toMatchObject({kind: 'ok', state: {logins: s.logins}})
    const old = parseStateText(serializeState(state()))
    expect(old.kind === 'ok' && old.state.logins).toBeUndefined()
  })
})

describe('observeLogins (hook records in a real state folder)', () => {
  const stuckEntry = (pattern: string) => ({account: 'main', pattern, since: '2026-11-21T09:58:00.000Z', snippet: 'x', verdict: 'auth_error' as const})

  it('attributes a failure to the home its record ran under, at the record\'s time; reads nothing when no login is in question', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-logins-'))
    try {
      const cfg = parseConfig(`accounts: [{name: main, home: /h/main}, {name: backup, home: /h/backup}]\nshared: {root: /s}\nautonomous: {start_index: 11, min: 1, max: 2}\nstate_dir: ${dir}\n`, '/c.yaml')
      const hook = async (event: Record<string, unknown>, home: string, at: string) => {
        const record = signalFromHook(JSON.stringify(event), {CLAUDE_CONFIG_DIR: home, CLAUDE_FAILOVER_SESSION: 'ccl-auto-11'}, new Date(at))
        if (record) await appendSignal(dir, record)
      }
      await hook({hook_event_name: 'SessionStart', session_id: '7d35e220-c435-4cf7-b9b9-f40426042847', source: 'startup'}, '/h/backup', '2026-11-21T09:50:00.000Z')
      await hook({error: 'authentication_failed', hook_event_name: 'StopFailure', last_assistant_message: 'Not logged in · Please run /login'}, '/h/backup', '2026-11-21T09:51:00.000Z')
      expect(await observeLogins(cfg, {}, {}, [], NOW)).toEqual({credentials: {}, evidence: [], successes: []})
      const seen = await observeLogins(cfg, {}, {'ccl-auto-11': stuckEntry('auth_login_required')}, [{session: 'ccl-auto-11', source: 'hook'}], NOW)
      // backup (the record's home), not main (the stuck entry's guess from the active account).
      expect(seen.evidence).toEqual([{account: 'backup', at: '2026-11-21T09:51:00.000Z', pattern: 'auth_login_required', session: 'ccl-auto-11', snippet: 'x', source: 'hook'}])
      // The conversation resumed under main's home, its pane still showing the old line: no fresh
      // record agrees, so that is no evidence against main.
      await hook({hook_event_name: 'SessionStart', session_id: '7d35e220-c435-4cf7-b9b9-f40426042847', source: 'resume'}, '/h/main', '2026-11-21T09:52:00.000Z')
      expect((await observeLogins(cfg, {}, {'ccl-auto-11': stuckEntry('auth_login_required')}, [{session: 'ccl-auto-11', source: 'pane', sources: ['pane']}], NOW)).evidence).toEqual([])
      // A Stop under backup's home later is the proof its login works.
      await hook({hook_event_name: 'Stop', last_assistant_message: 'done'}, '/h/backup', '2026-11-21T09:55:00.000Z')
      const later = await observeLogins(cfg, {logins: {backup: marked('2026-11-21T09:52:00.000Z', '2026-11-21T09:51:00.000Z')}}, {}, [], NOW)
      expect(later.successes).toEqual([{account: 'backup', at: '2026-11-21T09:55:00.000Z', session: 'ccl-auto-11'}])
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('without hook records the pane is the only witness, but a pane still retrying an API-key 401 is no evidence yet (Claude Code has not given up)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-logins-'))
    try {
      const cfg = parseConfig(`accounts: [{name: main, home: /h/main}]\nshared: {root: /s}\nautonomous: {start_index: 11, min: 1, max: 2}\nstate_dir: ${dir}\n`, '/c.yaml')
      expect((await observeLogins(cfg, {}, {'ccl-auto-11': stuckEntry('retrying_api_error_401')}, [], NOW)).evidence).toEqual([])
      expect((await observeLogins(cfg, {}, {'ccl-auto-11': stuckEntry('auth_login_required')}, [], NOW)).evidence).toEqual([expect.objectContaining({account: 'main', at: '2026-11-21T09:58:00.000Z', source: 'pane'})])
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
