package main

import (
	"bytes"
	"strings"
	"testing"
)

// messageObject is message seq of sender 0 as a chat.v1.json server sends it.
func messageObject(seq int64) []byte {
	line := lineTemplate(64)
	stampLine(line, 0, seq, 1)
	return []byte(`{"type":"message","id":7,"time":"2026-12-05T00:00:00Z","room":"lobby","from":"c0",` +
		`"text":"` + string(line[:len(line)-1]) + `"}`)
}

// unmask is the payload of the one masked client frame (under 126 bytes) at the start of b.
func unmask(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 6 || b[0] != 0x80|opText || b[1]&0x80 == 0 || int(b[1]&0x7f) > len(b)-6 {
		t.Fatalf("not a short masked text frame: % x", b)
	}
	n := int(b[1] & 0x7f)
	out := make([]byte, n)
	for i := range out {
		out[i] = b[6+i] ^ b[2+i&3]
	}
	return out
}

func TestJSONHandshake(t *testing.T) {
	w, request, err := newWsConn("127.0.0.1:9", true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(request, []byte("\r\nSec-WebSocket-Protocol: chat.v1.json\r\n")) ||
		!bytes.HasSuffix(request, []byte("\r\n\r\n")) {
		t.Fatalf("request %q", request)
	}
	head := "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
		"sec-websocket-accept: " + w.accept
	if err := w.checkResponse([]byte(head + "\r\nsec-websocket-protocol: chat.v1.json")); err != nil {
		t.Fatal(err)
	}
	if err := w.checkResponse([]byte(head)); err == nil || err.Error() != noJSONProtocol {
		t.Fatalf("no subprotocol echoed: %v", err)
	}
	if err := w.checkResponse([]byte(head + "\r\nsec-websocket-protocol: chat.v2")); err == nil {
		t.Fatal("accepted another subprotocol")
	}
	// A client that did not ask for it refuses it.
	plain, _, _ := newWsConn("127.0.0.1:9", false)
	plainHead := strings.Replace(head, w.accept, plain.accept, 1)
	if plain.checkResponse([]byte(plainHead+"\r\nsec-websocket-protocol: chat.v1.json")) == nil {
		t.Fatal("a text client accepted chat.v1.json")
	}
}

func TestJSONHelloWelcomeAndMessages(t *testing.T) {
	g, s, pipe, w := testGen(t)
	g.cfg.wsJSON = true
	ws, _, err := newWsConn("127.0.0.1:1", true)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{idx: 3, conn: w, ready: make(chan struct{}), buf: make([]byte, readBuffer),
		ws: ws, lastSeq: []int32{-1}, state: waitReady, histWant: -1, replayHigh: -1}
	// The 101 answer, then in the same read a welcome, a notice, a message cut in two
	// fragments with a ping between, an error, a message whose text is not a payload, one with
	// an escape in it, and a repeat of the first message.
	answer := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + ws.accept + "\r\nSec-WebSocket-Protocol: chat.v1.json\r\n\r\n"
	one := messageObject(0)
	wire := []byte(answer)
	wire = append(wire, serverFrame(true, opText, []byte(`{"type":"welcome","name":"c3"}`))...)
	wire = append(wire, serverFrame(true, opText, []byte(`{ "type" : "join", "name":"c4"}`))...)
	wire = append(wire, serverFrame(false, opText, one[:50])...)
	wire = append(wire, serverFrame(true, opPing, nil)...)
	wire = append(wire, serverFrame(true, opCont, one[50:])...)
	wire = append(wire, serverFrame(true, opText, []byte(`{"type":"error","text":"slow down"}`))...)
	wire = append(wire, serverFrame(true, opText, []byte(`{"type":"message","text":"hi"}`))...)
	wire = append(wire, serverFrame(true, opText, bytes.Replace(messageObject(1), []byte("xx"), []byte(`x\"`), 1))...)
	wire = append(wire, serverFrame(true, opText, one)...)
	n := copy(ws.raw, wire)
	if n != len(wire) {
		t.Fatalf("wire of %d bytes over the raw buffer", len(wire))
	}
	if !g.wsInput(c, s, n, 0, -1) {
		t.Fatal(c.failure)
	}
	if c.counted != 1 || c.state != inRoom {
		t.Fatalf("not in the room after the welcome: counted %d, state %d", c.counted, c.state)
	}
	if s.delivered != 2 || s.reordered != 1 || s.corrupted != 2 || s.errors != 1 || s.notices != 1 {
		t.Fatalf("delivered %d, reordered %d, corrupted %d, errors %d, notices %d",
			s.delivered, s.reordered, s.corrupted, s.errors, s.notices)
	}
	if !strings.Contains(s.firstError, "slow down") {
		t.Fatalf("first error %q", s.firstError)
	}
	// What the client wrote: its hello, then the pong.
	sent := make([]byte, 64)
	k, err := pipe.Read(sent)
	if err != nil {
		t.Fatal(err)
	}
	if got := unmask(t, sent[:k]); string(got) != `{"type":"hello","name":"c3"}` {
		t.Fatalf("hello %q", got)
	}
}

func TestJSONLongObjectAndLines(t *testing.T) {
	g, c, s, pipe := wsClient(t)
	c.ws.json = true
	c.idx = 3 // not c0, the message's sender: c0 would take it for its own echo
	long := append([]byte(`{"type":"notice","text":"`), bytes.Repeat([]byte("y"), 3*readBuffer)...)
	long = append(long, `"}`...)
	wire := append(serverFrame(true, opText, long), serverFrame(true, opText, messageObject(4))...)
	if !g.wsFrames(c, s, wire, 0, -1) {
		t.Fatal(c.failure)
	}
	if s.corrupted != 1 || s.delivered != 1 || c.have != 0 {
		t.Fatalf("corrupted %d, delivered %d, left %d bytes", s.corrupted, s.delivered, c.have)
	}
	if err := g.writeLine(c, "~line"); err != nil {
		t.Fatal(err)
	}
	sent := make([]byte, 64)
	k, _ := pipe.Read(sent)
	if got := unmask(t, sent[:k]); string(got) != `{"type":"line","text":"~line"}` {
		t.Fatalf("line object %q", got)
	}
}

func TestJSONOwnEcho(t *testing.T) {
	g, c, s, _ := wsClient(t)
	c.ws.json = true
	c.idx = 0
	// Its own message (from c0), another's message with a ref (only a sender's copy has one),
	// then another's message from c00 and from c01 (not its name): two echoes, two deliveries.
	withRef := bytes.Replace(messageObject(1), []byte(`"from":"c0"`), []byte(`"from":"c5","ref":"9"`), 1)
	var wire []byte
	for _, obj := range [][]byte{
		messageObject(0), withRef,
		bytes.Replace(messageObject(2), []byte(`"from":"c0"`), []byte(`"from":"c00"`), 1),
		bytes.Replace(messageObject(3), []byte(`"from":"c0"`), []byte(`"from":"c01"`), 1),
	} {
		wire = append(wire, serverFrame(true, opText, obj)...)
	}
	if !g.wsFrames(c, s, wire, 0, -1) {
		t.Fatal(c.failure)
	}
	if s.echoes != 2 || s.delivered != 2 || s.corrupted != 0 || s.reordered != 0 {
		t.Fatalf("echoes %d, delivered %d, corrupted %d, reordered %d",
			s.echoes, s.delivered, s.corrupted, s.reordered)
	}
	// Merged and reported apart.
	if m := mergeStats(s, &stats{echoes: 1}); m.echoes != 3 || m.delivered != 2 {
		t.Fatalf("merged echoes %d, delivered %d", m.echoes, m.delivered)
	}
	if r := receiverSummary("ws-json", 2, 2, s); r.Echoes != 2 || r.Lost != 0 {
		t.Fatalf("summary echoes %d, lost %d", r.Echoes, r.Lost)
	}
}

func TestIsName(t *testing.T) {
	for _, tc := range []struct {
		name string
		idx  int
		want bool
	}{
		{"c0", 0, true}, {"c12", 12, true}, {"c12", 1, false}, {"c1", 12, false},
		{"c012", 12, false}, {"c00", 0, false}, {"c", 0, false}, {"d3", 3, false},
		{"c3x", 3, false}, {"c99999999999999999999", 3, false},
	} {
		if got := isName([]byte(tc.name), "c", tc.idx); got != tc.want {
			t.Errorf("isName(%q, %d) = %v", tc.name, tc.idx, got)
		}
	}
}

func TestJSONString(t *testing.T) {
	obj := []byte(`{"from":"type","type" :	"message","text":"a\"b"}`)
	if v, ok := jsonString(obj, jsonKeyType); !ok || string(v) != "message" {
		t.Fatalf("type %q %v", v, ok)
	}
	if v, ok := jsonString(obj, jsonKeyText); !ok || string(v) != `a\"b` {
		t.Fatalf("text %q %v", v, ok)
	}
	for _, bad := range []string{`{"type":1}`, `{"type":"open`, `{"kind":"message"}`} {
		if v, ok := jsonString([]byte(bad), jsonKeyType); ok {
			t.Errorf("%s: found %q", bad, v)
		}
	}
}
