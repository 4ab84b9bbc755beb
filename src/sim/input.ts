// Key-level input from the pane's TTY (raw mode, so Down, Esc and Ctrl-C arrive as keys), or from a
// pipe when stdin is not a terminal (each line then submits, as if typed).
import {emitKeypressEvents} from 'node:readline'

/** One key press: a name (`return`, `down`, `escape`, `c`…) and the text it types, if any. */
export interface Key {
  name: string
  ctrl: boolean
  meta: boolean
  text: string
}

/** Starts delivering keys to `onKey` and the end of input to `onEnd`; returns the stop function. */
export function startKeyInput(stdin: NodeJS.ReadStream, onKey: (key: Key) => void, onEnd: () => void): () => void {
  emitKeypressEvents(stdin)
  const raw = stdin.isTTY === true
  if (raw) stdin.setRawMode(true)
  const keypress = (text: string | undefined, key: {name?: string; ctrl?: boolean; meta?: boolean; sequence?: string} | undefined): void => {
    onKey({ctrl: key?.ctrl === true, meta: key?.meta === true, name: key?.name ?? '', text: text ?? key?.sequence ?? ''})
  }

  stdin.on('keypress', keypress)
  stdin.on('end', onEnd)
  stdin.resume()
  return () => {
    stdin.off('keypress', keypress)
    stdin.off('end', onEnd)
    if (raw) stdin.setRawMode(false)
    stdin.pause()
  }
}
