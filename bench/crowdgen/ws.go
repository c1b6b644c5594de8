// WebSocket clients (RFC 6455), for servers that serve the chat over a WebSocket too (ours, at
// /ws of its --web port): -ws N of the -clients connect there instead of to -addr. Each one is
// the same client as a TCP one, with a frame layer in between: it sends the handshake with a
// random Sec-WebSocket-Key and checks the server's Sec-WebSocket-Accept, then reads unmasked
// server frames (text, continuation, close, ping, pong; a text message may come in fragments,
// with control frames between them) and hands the text to the same line parser, as one stream;
// it answers a ping with a pong and a close with a close; it sends every line (its name, and a
// sender's messages) as one masked text frame, without a newline. No Origin header is sent: a
// program, not a page, which the server lets in. No extension is asked for.
//
// It stays as light as a TCP client: one read buffer for the raw bytes, whose payload is copied
// into the line buffer; a partial frame header is kept in a 14-byte array; no allocation per
// read or per frame.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// wsGUID is the fixed string of RFC 6455 section 1.3 that the accept key hashes with.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsPath is where ours serves its WebSocket.
const wsPath = "/ws"

// Opcodes (RFC 6455 section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// wsConn is the WebSocket state of a client: written and read by its reader goroutine only.
type wsConn struct {
	// raw[:rawHave] is what was read and not yet handled (the handshake response, until it
	// is whole); after the handshake every read is handled at once and rawHave stays 0.
	raw     []byte
	rawHave int
	// accept is the Sec-WebSocket-Accept the server must answer with; open once it has.
	accept string
	open   bool
	// hdr[:hdrHave]: a frame header read in part. inPayload: its payload is being read,
	// left bytes of it to go.
	hdr       [14]byte
	hdrHave   int
	inPayload bool
	left      uint64
	op        byte
	fin       bool
	// frag: a text message began in a frame without FIN; continuation frames follow.
	frag bool
	// ctrl[:ctrlHave]: a control frame's payload (at most 125 bytes).
	ctrl     [125]byte
	ctrlHave int
	// closing: the server sent a close frame, and it was answered.
	closing bool
	// rng draws the masks of the frames the reader writes (name, pong, close).
	rng uint32
	out []byte
	// json: the client asked for the subprotocol chat.v1.json (-ws-json, see wsjson.go): each
	// text message is one JSON object, not lines. jsonLong: the message being read outgrew the
	// line buffer; it is counted as corrupted at its end.
	json     bool
	jsonLong bool
}

// newWsConn makes a client's WebSocket state and the handshake request it must send; with
// json, the request asks for the subprotocol chat.v1.json.
func newWsConn(host string, json bool) (*wsConn, []byte, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nil, err
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])
	w := &wsConn{raw: make([]byte, readBuffer), accept: wsAccept(key), rng: seed(), json: json}
	request := "GET " + wsPath + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if json {
		request += "Sec-WebSocket-Protocol: " + wsJSONProtocol + "\r\n"
	}
	return w, []byte(request + "\r\n"), nil
}

// wsAccept is the Sec-WebSocket-Accept that answers key.
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// seed is a random non-zero state for nextMask.
func seed() uint32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0x9e3779b9
		}
		if s := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24; s != 0 {
			return s
		}
	}
}

// nextMask draws a masking key (xorshift32: unpredictable enough for a load generator, whose
// masks only have to vary; RFC 6455 asks for them to stop a browser's page from choosing the
// bytes on the wire, which no page can do here).
func nextMask(state *uint32) uint32 {
	x := *state
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	*state = x
	return x
}

// appendFrame appends one masked client frame (FIN set) with payload to dst.
func appendFrame(dst []byte, op byte, payload []byte, rng *uint32) []byte {
	n := len(payload)
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	m := nextMask(rng)
	key := [4]byte{byte(m), byte(m >> 8), byte(m >> 16), byte(m >> 24)}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i, b := range dst[start:] {
		dst[start+i] = b ^ key[i&3]
	}
	return dst
}

// checkResponse checks the server's handshake response (its head, without the empty line).
func (w *wsConn) checkResponse(head []byte) error {
	lines := strings.Split(string(head), "\r\n")
	status := lines[0]
	if !strings.HasPrefix(status+" ", "HTTP/1.1 101 ") {
		if len(status) > 100 {
			status = status[:100]
		}
		return fmt.Errorf("websocket handshake refused: %q", status)
	}
	var upgrade, connection, accept, protocol bool
	for _, line := range lines[1:] {
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "upgrade":
			upgrade = strings.EqualFold(value, "websocket")
		case "connection":
			for _, token := range strings.Split(value, ",") {
				connection = connection || strings.EqualFold(strings.TrimSpace(token), "upgrade")
			}
		case "sec-websocket-accept":
			accept = value == w.accept
		case "sec-websocket-protocol":
			if !w.json || value != wsJSONProtocol {
				return fmt.Errorf("websocket handshake: the server chose subprotocol %q, never asked for", value)
			}
			protocol = true
		case "sec-websocket-extensions":
			return fmt.Errorf("websocket handshake: the server chose %s %q, never asked for",
				strings.TrimSpace(name), value)
		}
	}
	switch {
	case !upgrade:
		return errors.New("websocket handshake: no \"Upgrade: websocket\"")
	case !connection:
		return errors.New("websocket handshake: no \"Connection: Upgrade\"")
	case !accept:
		return errors.New("websocket handshake: Sec-WebSocket-Accept missing or wrong")
	case w.json && !protocol:
		return errors.New(noJSONProtocol)
	}
	return nil
}

// wsInput handles what a read appended to c.ws.raw: the handshake response until it is whole,
// then frames. False if the connection must end (c.failure says why).
func (g *gen) wsInput(c *client, s *stats, n int, nowUs, delayUs int64) bool {
	w := c.ws
	data := w.raw[:w.rawHave+n]
	if !w.open {
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			if len(data) == len(w.raw) {
				c.failure = "websocket handshake: response head over 2 KiB"
				return false
			}
			w.rawHave = len(data)
			return true
		}
		if err := w.checkResponse(data[:end]); err != nil {
			c.failure = err.Error()
			return false
		}
		w.open = true
		w.rawHave = 0
		data = data[end+4:]
		if w.json {
			// No name prompt in chat.v1.json: the client says hello first.
			if err := g.writeHello(c); err != nil {
				c.failure = "websocket: hello not sent: " + err.Error()
				return false
			}
		}
	}
	return g.wsFrames(c, s, data, nowUs, delayUs)
}

// wsFrames parses frames in data, which it consumes whole (a partial header is kept).
func (g *gen) wsFrames(c *client, s *stats, data []byte, nowUs, delayUs int64) bool {
	w := c.ws
	for len(data) > 0 {
		if !w.inPayload {
			if w.hdrHave < 2 {
				k := copy(w.hdr[w.hdrHave:2], data)
				w.hdrHave += k
				data = data[k:]
				if w.hdrHave < 2 {
					return true
				}
			}
			need := 2
			switch w.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if w.hdr[1]&0x80 != 0 {
				need += 4
			}
			if w.hdrHave < need {
				k := copy(w.hdr[w.hdrHave:need], data)
				w.hdrHave += k
				data = data[k:]
				if w.hdrHave < need {
					return true
				}
			}
			w.hdrHave = 0
			if err := w.header(); err != nil {
				return g.wsFail(c, s, err.Error())
			}
			if w.left == 0 {
				if !g.wsEnd(c, s, nowUs, delayUs) {
					return false
				}
				continue
			}
			w.inPayload = true
		}
		k := len(data)
		if uint64(k) > w.left {
			k = int(w.left)
		}
		payload := data[:k]
		data = data[k:]
		w.left -= uint64(k)
		if (w.op == opText || w.op == opCont) && w.json {
			g.jsonFeed(c, payload)
		} else if w.op == opText || w.op == opCont {
			g.feed(c, s, payload, nowUs, delayUs)
		} else {
			w.ctrlHave += copy(w.ctrl[w.ctrlHave:], payload)
		}
		if w.left == 0 {
			w.inPayload = false
			if !g.wsEnd(c, s, nowUs, delayUs) {
				return false
			}
		}
	}
	return true
}

// header checks the frame header in w.hdr and starts the frame.
func (w *wsConn) header() error {
	b0, b1 := w.hdr[0], w.hdr[1]
	fin, op := b0&0x80 != 0, b0&0x0f
	if b0&0x70 != 0 {
		return errors.New("websocket: reserved bits set (no extension was agreed)")
	}
	if b1&0x80 != 0 {
		return errors.New("websocket: a masked frame from the server")
	}
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		length = uint64(w.hdr[2])<<8 | uint64(w.hdr[3])
	case 127:
		length = 0
		for _, b := range w.hdr[2:10] {
			length = length<<8 | uint64(b)
		}
		if length>>63 != 0 {
			return errors.New("websocket: frame length with its top bit set")
		}
	}
	switch {
	case op >= opClose && (!fin || length > 125):
		return fmt.Errorf("websocket: control frame %#x fragmented or over 125 bytes", op)
	case op == opCont && !w.frag:
		return errors.New("websocket: a continuation frame outside a fragmented message")
	case op == opText && w.frag:
		return errors.New("websocket: a text frame inside a fragmented message")
	case op == opBinary:
		return errors.New("websocket: a binary frame (the chat is text)")
	case op != opCont && op != opText && op != opClose && op != opPing && op != opPong:
		return fmt.Errorf("websocket: reserved opcode %#x", op)
	}
	w.op, w.fin, w.left, w.ctrlHave = op, fin, length, 0
	return nil
}

// wsEnd ends a frame whose payload has been read: a data frame's FIN ends its message (with
// chat.v1.json, the message is then parsed as one object); a ping is answered with a pong, a
// close with a close.
func (g *gen) wsEnd(c *client, s *stats, nowUs, delayUs int64) bool {
	w := c.ws
	switch w.op {
	case opText, opCont:
		w.frag = !w.fin
		if w.json && w.fin {
			g.jsonEnd(c, s, nowUs, delayUs)
		}
	case opPing:
		if !w.closing {
			w.out = appendFrame(w.out[:0], opPong, w.ctrl[:w.ctrlHave], &w.rng)
			if _, err := c.conn.Write(w.out); err != nil {
				return g.wsFail(c, s, "websocket: pong not sent: "+err.Error())
			}
		}
	case opClose:
		if w.closing {
			return true
		}
		w.closing = true
		code := w.ctrl[:0]
		if w.ctrlHave >= 2 {
			code = w.ctrl[:2]
		}
		w.out = appendFrame(w.out[:0], opClose, code, &w.rng)
		c.conn.Write(w.out)
		if atomic.LoadInt32(&c.counted) == 0 {
			c.failure = fmt.Sprintf("closed by the server before its welcome: %s", closeText(w.ctrl[:w.ctrlHave]))
		}
	}
	return true
}

// closeText is a close frame's code and reason, as text.
func closeText(payload []byte) string {
	if len(payload) < 2 {
		return "no code"
	}
	return fmt.Sprintf("code %d %q", int(payload[0])<<8|int(payload[1]), payload[2:])
}

// wsFail ends a connection that broke the protocol, noting why as a server error.
func (g *gen) wsFail(c *client, s *stats, why string) bool {
	c.failure = why
	s.noteError([]byte(why))
	return false
}

// feed appends payload to the client's line buffer, and parses the lines it completes.
func (g *gen) feed(c *client, s *stats, payload []byte, nowUs, delayUs int64) {
	for len(payload) > 0 {
		k := copy(c.buf[c.have:], payload)
		payload = payload[k:]
		g.chunk(c, s, k, nowUs, delayUs)
	}
}

// writeLine sends one line (text, without a newline): as it is with a newline over TCP, as one
// masked text frame over a WebSocket (in a {"type":"line"} object with chat.v1.json). Only the
// client's reader calls it.
func (g *gen) writeLine(c *client, text string) error {
	if c.ws == nil {
		_, err := c.conn.Write([]byte(text + "\n"))
		return err
	}
	payload := []byte(text)
	if c.ws.json {
		payload = appendLineObject(nil, payload)
	}
	c.ws.out = appendFrame(c.ws.out[:0], opText, payload, &c.ws.rng)
	_, err := c.conn.Write(c.ws.out)
	return err
}

// isWS says whether client idx of n connects over a WebSocket when k of them do: they are
// spread evenly (with k = n/2, every second one), so the first clients, the senders, are split
// between the transports alike.
func isWS(idx, k, n int) bool {
	return (idx+1)*k/n > idx*k/n
}
