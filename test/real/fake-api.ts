// A fake Anthropic Messages API on 127.0.0.1 for the real Claude Code binary
// (../shared/reference/real-claude-code.md): streaming SSE answers, a Bash tool call, and on command
// the failures the pool must tell apart — a usage limit (five_hour, seven_day, with the unified
// rate-limit headers), 500, 529, 401, a transient 429, a usage warning. Each account authenticates
// with its own gateway token (a JWT whose `sub` is the account name), so the server knows which
// account every request is charged to.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

/** What the server answers to one main-conversation request. */
export type Answer =
  | {kind: 'text'; text: string; usage?: Usage}
  | {kind: 'bash'; command: string; description?: string}
  | {kind: 'limit'; window: 'five_hour' | 'seven_day'; resetsAt: number; overageDisabledReason?: string | null}
  | {kind: 'error'; status: 401 | 500 | 529; message?: string}
  | {kind: 'transient429'}
  | {kind: 'warning'; text: string; utilization: number; resetsAt: number}

/** The account's usage sent with an answer (unified rate-limit headers, status `allowed`): fractions 0–1, resets in epoch seconds. */
export interface Usage {
  fiveHour: number
  fiveHourReset: number
  sevenDay?: number
  sevenDayReset?: number
}

/** The unified rate-limit headers of an allowed answer: what 2.1.328 turns into the statusLine's `rate_limits`. */
function usageHeaders(usage: Usage | undefined): Record<string, string> {
  if (!usage) return {}
  return {
    'anthropic-ratelimit-unified-5h-reset': String(usage.fiveHourReset),
    'anthropic-ratelimit-unified-5h-utilization': String(usage.fiveHour),
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    'anthropic-ratelimit-unified-reset': String(usage.fiveHourReset),
    'anthropic-ratelimit-unified-status': 'allowed',
    ...(usage.sevenDay === undefined ? {} : {'anthropic-ratelimit-unified-7d-reset': String(usage.sevenDayReset ?? usage.fiveHourReset), 'anthropic-ratelimit-unified-7d-utilization': String(usage.sevenDay)}),
  }
}

export interface ApiRequest {
  account: string
  /** The last user message's text (tool results included as `[tool_result] …`). */
  lastUser: string
  /** Every user-message text in the request, oldest first: what the conversation carried. */
  userTexts: string[]
  /** True for Claude Code's own side requests (titles, topic checks), answered with plain text. */
  side: boolean
  sessionHeader: string | undefined
}

/** Decides the answer for a main-conversation request; the default answers as `defaultScript`. */
export type Script = (request: ApiRequest, api: FakeApi) => Answer

export interface FakeApi {
  url: string
  port: number
  requests: ApiRequest[]
  /** Sets the answer script (replaces the previous one). */
  script: (script: Script) => void
  /** Main-conversation requests charged to `account`. */
  mainRequests: (account: string) => ApiRequest[]
  close: () => Promise<void>
}

/** A JWT for the gateway auth path: Claude Code checks `aud`, never the signature. */
export function gatewayToken(account: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({alg: 'HS256', typ: 'JWT'})}.${part({aud: 'claude-gateway', exp: 4_102_444_800, sub: account})}.c2ln`
}

/**
 * The default behaviour: a prompt containing `BASH:<command>` asks for that Bash call first, then
 * answers `DONE <first words>` once the tool result comes back; anything else is answered at once.
 */
export const defaultScript: Script = (request) => {
  const bash = /BASH:(.+?)(?:$|\n)/.exec(request.lastUser)
  if (bash && !request.lastUser.startsWith('[tool_result]')) return {command: (bash[1] as string).trim(), kind: 'bash'}
  return {kind: 'text', text: `DONE ${request.userTexts.length} messages`}
}

/** Starts the fake API on a random loopback port. */
export async function startFakeApi(initial: Script = defaultScript): Promise<FakeApi> {
  let current = initial
  const requests: ApiRequest[] = []
  const api: FakeApi = {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    mainRequests: (account) => requests.filter((r) => r.account === account && !r.side),
    port: 0,
    requests,
    script: (script) => {
      current = script
    },
    url: '',
  }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      try {
        handle(req, res, body)
      } catch (error) {
        res.writeHead(500, {'content-type': 'application/json'})
        res.end(JSON.stringify({error: {message: String(error), type: 'api_error'}, type: 'error'}))
      }
    })
  })

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res.writeHead(404, {'content-type': 'application/json'})
      res.end(JSON.stringify({error: {message: `not found: ${req.url}`, type: 'not_found_error'}, type: 'error'}))
      return
    }

    const parsed = JSON.parse(body) as MessagesBody
    const request = describe(req, parsed)
    requests.push(request)
    if (request.side) return void sendText(res, parsed, 'ok', {})
    const answer = current(request, api)
    switch (answer.kind) {
      case 'text': {
        sendText(res, parsed, answer.text, usageHeaders(answer.usage))
        break
      }

      case 'bash': {
        sendToolUse(res, parsed, answer.command, answer.description ?? 'Run the command')
        break
      }

      case 'warning': {
        sendText(res, parsed, answer.text, {
          'anthropic-ratelimit-unified-5h-reset': String(answer.resetsAt),
          'anthropic-ratelimit-unified-5h-utilization': String(answer.utilization),
          'anthropic-ratelimit-unified-representative-claim': 'five_hour',
          'anthropic-ratelimit-unified-reset': String(answer.resetsAt),
          'anthropic-ratelimit-unified-status': 'allowed_warning',
        })
        break
      }

      case 'limit': {
        const short = answer.window === 'five_hour' ? '5h' : '7d'
        const headers: Record<string, string> = {
          [`anthropic-ratelimit-unified-${short}-reset`]: String(answer.resetsAt),
          [`anthropic-ratelimit-unified-${short}-utilization`]: '1.0',
          'anthropic-ratelimit-unified-overage-status': 'rejected',
          'anthropic-ratelimit-unified-representative-claim': answer.window,
          'anthropic-ratelimit-unified-reset': String(answer.resetsAt),
          'anthropic-ratelimit-unified-status': 'rejected',
        }
        if (answer.overageDisabledReason !== null) headers['anthropic-ratelimit-unified-overage-disabled-reason'] = answer.overageDisabledReason ?? 'org_level_disabled'
        sendError(res, 429, 'rate_limit_error', 'This request would exceed your account\'s rate limit. Please try again later.', headers)
        break
      }

      case 'transient429': {
        sendError(res, 429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', {'retry-after': '1'})
        break
      }

      case 'error': {
        const type = answer.status === 401 ? 'authentication_error' : answer.status === 529 ? 'overloaded_error' : 'api_error'
        const message = answer.message ?? (answer.status === 401 ? 'invalid x-api-key' : answer.status === 529 ? 'Overloaded' : 'Internal server error')
        sendError(res, answer.status, type, message, {})
        break
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api.port = (server.address() as AddressInfo).port
  api.url = `http://127.0.0.1:${api.port}`
  return api
}

interface ContentBlock {
  type: string
  text?: string
  content?: unknown
}

interface MessagesBody {
  model?: string
  messages?: {role: string; content: string | ContentBlock[]}[]
  tools?: unknown[]
  max_tokens?: number
}

function textOf(content: string | ContentBlock[] | undefined): string {
  if (typeof content === 'string') return content
  return (content ?? [])
    .map((block) => {
      if (block.type === 'text') return block.text ?? ''
      if (block.type === 'tool_result') return `[tool_result] ${typeof block.content === 'string' ? block.content : JSON.stringify(block.content)}`
      return ''
    })
    .filter(Boolean)
    // Claude Code wraps context in <system-reminder> blocks; they are not what the user typed.
    .filter((text) => !text.startsWith('<system-reminder>'))
    .join('\n')
}

function describe(req: IncomingMessage, body: MessagesBody): ApiRequest {
  const userTexts = (body.messages ?? []).filter((m) => m.role === 'user').map((m) => textOf(m.content)).filter(Boolean)
  return {
    account: accountOf(req.headers.authorization),
    lastUser: userTexts.at(-1) ?? '',
    // The main loop always offers tools; title and topic requests offer none.
    side: !Array.isArray(body.tools) || body.tools.length === 0,
    sessionHeader: req.headers['x-claude-code-session-id'] as string | undefined,
    userTexts,
  }
}

function accountOf(authorization: string | undefined): string {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
  const payload = token?.split('.')[1]
  if (!payload) return 'unknown'
  try {
    return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {sub?: string}).sub ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

let counter = 0

function sse(res: ServerResponse, events: [string, unknown][], headers: Record<string, string>): void {
  res.writeHead(200, {'cache-control': 'no-cache', 'content-type': 'text/event-stream', 'request-id': `req_fake_${++counter}`, ...headers})
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  res.end()
}

function start(body: MessagesBody): [string, unknown] {
  return [
    'message_start',
    {
      message: {content: [], id: `msg_fake_${++counter}`, model: body.model ?? 'claude-opus-4-5', role: 'assistant', stop_reason: null, stop_sequence: null, type: 'message', usage: {input_tokens: 12, output_tokens: 1}},
      type: 'message_start',
    },
  ]
}

function finish(stopReason: string): [string, unknown][] {
  return [
    ['message_delta', {delta: {stop_reason: stopReason, stop_sequence: null}, type: 'message_delta', usage: {output_tokens: 8}}],
    ['message_stop', {type: 'message_stop'}],
  ]
}

function sendText(res: ServerResponse, body: MessagesBody, text: string, headers: Record<string, string>): void {
  sse(
    res,
    [
      start(body),
      ['content_block_start', {content_block: {text: '', type: 'text'}, index: 0, type: 'content_block_start'}],
      ['content_block_delta', {delta: {text, type: 'text_delta'}, index: 0, type: 'content_block_delta'}],
      ['content_block_stop', {index: 0, type: 'content_block_stop'}],
      ...finish('end_turn'),
    ],
    headers,
  )
}

function sendToolUse(res: ServerResponse, body: MessagesBody, command: string, description: string): void {
  const id = `toolu_fake_${++counter}`
  sse(
    res,
    [
      start(body),
      ['content_block_start', {content_block: {id, input: {}, name: 'Bash', type: 'tool_use'}, index: 0, type: 'content_block_start'}],
      ['content_block_delta', {delta: {partial_json: JSON.stringify({command, description}), type: 'input_json_delta'}, index: 0, type: 'content_block_delta'}],
      ['content_block_stop', {index: 0, type: 'content_block_stop'}],
      ...finish('tool_use'),
    ],
    {},
  )
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string>): void {
  res.writeHead(status, {'content-type': 'application/json', 'request-id': `req_fake_${++counter}`, ...headers})
  res.end(JSON.stringify({error: {message, type}, type: 'error'}))
}
