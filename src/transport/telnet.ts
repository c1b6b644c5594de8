/**
 * Telnet's in-band commands, taken out of what a TCP client sends. A telnet
 * client sends IAC sequences (option negotiation, and on Ctrl-C `IAC IP` then
 * `IAC DO TIMING-MARK`, after which it discards all output until it gets an
 * answer). Byte 255 (IAC) never occurs in UTF-8, so any other client is left
 * alone at the cost of one `indexOf` per read; a 255 not followed by a telnet
 * command byte (240–255) is left in the data, where it decodes as U+FFFD.
 *
 * @module
 */

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const TIMING_MARK = 6;

/**
 * Where the filter is in an IAC sequence that a read may have cut, carried to
 * the next read: 0 in plain data.
 */
export type TelnetState = number;
const DATA = 0;
const AFTER_IAC = 1;
const IN_SUB = 2;
const IN_SUB_AFTER_IAC = 3;
/** After IAC WILL/WONT/DO/DONT the state is `VERB + verb`; the option byte comes next. */
const VERB = 1000;

/** The data left once the IAC sequences are taken out, and what to answer them with. */
export interface Filtered {
  data: Uint8Array;
  state: TelnetState;
  /** Bytes to send back (refusals of options), or `null`. */
  answer: Uint8Array | null;
}

/**
 * Takes telnet commands, option negotiation and subnegotiation out of `chunk`,
 * starting in `state` (the end state of the previous chunk). Every option the
 * client asks for is declined (`DO x` → `WONT x`, `WILL x` → `DONT x`), which
 * also answers the `DO TIMING-MARK` that telnet sends on Ctrl-C.
 */
export function filterTelnet(chunk: Uint8Array, state: TelnetState): Filtered {
  const data = new Uint8Array(chunk.length + 1); // + an IAC held over from the last chunk
  let length = 0;
  let answer: number[] | null = null;
  for (const byte of chunk) {
    switch (state) {
      case DATA:
        if (byte === IAC) state = AFTER_IAC;
        else data[length++] = byte;
        break;
      case AFTER_IAC:
        if (byte >= WILL && byte <= DONT) {
          state = VERB + byte;
        } else if (byte === SB) {
          state = IN_SUB;
        } else if (byte >= SE) {
          state = DATA; // a two-byte command (IP, AYT, NOP …) or IAC IAC
        } else {
          // Not telnet after all, just a stray 255 (invalid UTF-8): it stays, as data.
          data[length++] = IAC;
          data[length++] = byte;
          state = DATA;
        }
        break;
      case IN_SUB:
        if (byte === IAC) state = IN_SUB_AFTER_IAC;
        break;
      case IN_SUB_AFTER_IAC:
        state = byte === SE ? DATA : IN_SUB;
        break;
      default: { // the option byte after a verb
        const verb = state - VERB;
        if (verb === DO || verb === WILL) {
          (answer ??= []).push(IAC, verb === DO ? WONT : DONT, byte);
        }
        state = DATA;
      }
    }
  }
  return {
    data: data.subarray(0, length),
    state,
    answer: answer && new Uint8Array(answer),
  };
}

/** Whether `chunk` needs {@linkcode filterTelnet} at all, given the state the last one left. */
export function hasTelnet(chunk: Uint8Array, state: TelnetState): boolean {
  return state !== DATA || chunk.indexOf(IAC) !== -1;
}

/** IAC DO TIMING-MARK, as telnet sends it on Ctrl-C (after IAC IP). */
export const CTRL_C = new Uint8Array([IAC, 244, IAC, DO, TIMING_MARK]);
