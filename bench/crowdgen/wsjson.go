// The subprotocol chat.v1.json, for WebSocket clients with -ws-json: the client asks for it in
// its handshake (Sec-WebSocket-Protocol) and fails the handshake unless the server's 101 answer
// echoes it; it then says {"type":"hello","name":NAME} (no name prompt comes), sends each line
// as {"type":"line","text":LINE}, and reads every text message as one JSON object. A chat
// message is {"type":"message","id":…,"time":…,"room":…,"from":NAME,"text":LINE}: its text
// is checked and timed as a payload line is, unless it is the client's own message come back
// (from its own name, or with a "ref": the server echoes a JSON sender's room message to it),
// which is counted apart as an echo, never as a delivery; {"type":"error",…} is a server
// error; any other
// object is the welcome if it is the first after the hello (the client is then in the room),
// and a notice after that.
//
// Objects are read without encoding/json (no allocation per message): only the string fields
// "type", "text", "from" and "ref" are looked up, and the payload needs no escaping (it is "~", digits,
// spaces and "x"), so a text holding an escape is not a payload.
package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync/atomic"
)

// wsJSONProtocol is the subprotocol -ws-json clients ask for.
const wsJSONProtocol = "chat.v1.json"

// noJSONProtocol is the handshake failure of a server that did not agree to wsJSONProtocol.
const noJSONProtocol = "websocket handshake: the server did not agree to the subprotocol " +
	wsJSONProtocol + " (no Sec-WebSocket-Protocol in its 101 answer)"

var (
	jsonKeyType = []byte(`"type"`)
	jsonKeyText = []byte(`"text"`)
	jsonKeyFrom = []byte(`"from"`)
	jsonKeyRef  = []byte(`"ref"`)
	lineObject  = []byte(`{"type":"line","text":"`)
	objectEnd   = []byte(`"}`)
)

// writeHello sends the client's {"type":"hello","name":NAME}.
func (g *gen) writeHello(c *client) error {
	hello, err := json.Marshal(struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}{"hello", g.cfg.name + strconv.Itoa(c.idx)})
	if err != nil {
		return err
	}
	c.ws.out = appendFrame(c.ws.out[:0], opText, hello, &c.ws.rng)
	_, err = c.conn.Write(c.ws.out)
	return err
}

// appendLineObject appends {"type":"line","text":TEXT} to dst; TEXT must need no escaping.
func appendLineObject(dst, text []byte) []byte {
	dst = append(dst, lineObject...)
	dst = append(dst, text...)
	return append(dst, objectEnd...)
}

// jsonFeed appends a text frame's payload to the object being read (in the line buffer).
func (g *gen) jsonFeed(c *client, payload []byte) {
	k := copy(c.buf[c.have:], payload)
	c.have += k
	if k < len(payload) {
		c.ws.jsonLong = true
	}
}

// jsonEnd handles the object a text message ended: a chat message, an error, the welcome or a
// notice.
func (g *gen) jsonEnd(c *client, s *stats, nowUs, delayUs int64) {
	obj := c.buf[:c.have]
	c.have = 0
	if c.ws.jsonLong {
		c.ws.jsonLong = false
		atomic.AddInt64(&s.corrupted, 1)
		return
	}
	kind, ok := jsonString(obj, jsonKeyType)
	if !ok {
		atomic.AddInt64(&s.corrupted, 1)
		return
	}
	switch string(kind) {
	case "message":
		text, ok := jsonString(obj, jsonKeyText)
		if !ok || len(text) == 0 || text[0] != magic {
			atomic.AddInt64(&s.corrupted, 1)
			return
		}
		if g.ownEcho(c, obj) {
			atomic.AddInt64(&s.echoes, 1)
			return
		}
		before := atomic.LoadInt64(&s.delivered)
		g.line(s, c, text, nowUs, delayUs)
		if atomic.LoadInt64(&s.delivered) != before {
			atomic.StoreInt64(&s.lastDeliveryUs, nowUs)
		}
	case "error":
		s.noteError(obj)
	default:
		if atomic.LoadInt32(&c.state) == waitReady {
			g.markReady(c)
			return
		}
		atomic.AddInt64(&s.notices, 1)
		atomic.StoreInt64(&g.lastNoticeUs, monoUs())
	}
}

// ownEcho: whether the message object obj is c's own, come back: it carries a "ref" (only
// the sender's copy does) or is from c's own name.
func (g *gen) ownEcho(c *client, obj []byte) bool {
	if _, ok := jsonString(obj, jsonKeyRef); ok {
		return true
	}
	from, ok := jsonString(obj, jsonKeyFrom)
	return ok && isName(from, g.cfg.name, c.idx)
}

// isName: whether b is prefix followed by idx in decimal (a client's name), without allocating.
func isName(b []byte, prefix string, idx int) bool {
	if len(b) <= len(prefix) || string(b[:len(prefix)]) != prefix {
		return false
	}
	n := 0
	for _, d := range b[len(prefix):] {
		if d < '0' || d > '9' || n > idx {
			return false
		}
		n = n*10 + int(d-'0')
	}
	return n == idx && (b[len(prefix)] != '0' || len(b) == len(prefix)+1)
}

// jsonString finds the string field key (with its quotes) in obj and returns its value as it
// is on the wire (escapes left in); false if there is none.
func jsonString(obj, key []byte) ([]byte, bool) {
	for from := 0; ; {
		i := bytes.Index(obj[from:], key)
		if i < 0 {
			return nil, false
		}
		from += i + len(key)
		j := skipSpace(obj, from)
		if j == len(obj) || obj[j] != ':' {
			continue // the key's text inside a value
		}
		j = skipSpace(obj, j+1)
		if j == len(obj) || obj[j] != '"' {
			return nil, false
		}
		for k := j + 1; k < len(obj); k++ {
			switch obj[k] {
			case '\\':
				k++
			case '"':
				return obj[j+1 : k], true
			}
		}
		return nil, false
	}
}

// skipSpace is the index of the first byte of obj at or after i that is not JSON whitespace.
func skipSpace(obj []byte, i int) int {
	for i < len(obj) && (obj[i] == ' ' || obj[i] == '\t' || obj[i] == '\n' || obj[i] == '\r') {
		i++
	}
	return i
}
