// Loopback HTTP servers standing in for the Telegram, Resend and webhook endpoints: each records
// every request (method, path, headers, body) and answers from a script of responses.
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: unknown
}

/** One scripted answer; `hang` never answers (the timeout test), `destroy` drops the connection. */
export type Reply = {status: number; body?: unknown} | 'hang' | 'destroy'

export interface Loopback {
  url: string
  requests: RecordedRequest[]
  close: () => Promise<void>
}

/** Starts a server on 127.0.0.1 with a random port; replies are used in order, the last one repeats. */
export async function loopback(replies: Reply[] = [{body: {ok: true}, status: 200}]): Promise<Loopback> {
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }

      requests.push({body, headers: req.headers, json, method: req.method ?? '', path: req.url ?? ''})
      const reply = replies[Math.min(requests.length - 1, replies.length - 1)] ?? {status: 200}
      if (reply === 'hang') return
      if (reply === 'destroy') {
        req.socket.destroy()
        return
      }

      res.writeHead(reply.status, {'content-type': 'application/json'})
      res.end(reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
    requests,
    url: `http://127.0.0.1:${port}`,
  }
}

/** A loopback URL where nothing listens: a server is opened on a random port and closed again. */
export async function deadEndpoint(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/** Servers started through `start` and closed together by `closeAll` (in an afterEach). */
export function loopbackPool(): {start: (...replies: Reply[]) => Promise<Loopback>; closeAll: () => Promise<void>} {
  let servers: Loopback[] = []
  return {
    async closeAll() {
      await Promise.all(servers.map((s) => s.close()))
      servers = []
    },
    async start(...replies: Reply[]) {
      const s = await loopback(replies.length > 0 ? replies : undefined)
      servers.push(s)
      return s
    },
  }
}

/** The notifications of one kind a webhook loopback received (the generic webhook's `event` field). */
export function webhookPosts(server: Loopback, kind: string): RecordedRequest[] {
  return server.requests.filter((r) => (r.json as {event?: string} | undefined)?.event === kind)
}
