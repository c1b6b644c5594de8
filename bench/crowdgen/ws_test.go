package main

import (
	"bytes"
	"os"
	"testing"
)

// serverFrame is an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	n := len(payload)
	var out []byte
	switch {
	case n < 126:
		out = []byte{b0, byte(n)}
	case n < 1<<16:
		out = []byte{b0, 126, byte(n >> 8), byte(n)}
	default:
		out = []byte{b0, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(out, payload...)
}

// testGen is a gen with one sender, and the two ends of a pipe for a client's connection.
func testGen(t *testing.T) (*gen, *stats, *os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	g := &gen{cfg: config{size: 64, name: "c"}, named: true, prefix: prefixName, senders: 1}
	s := &stats{}
	g.setStats(s)
	return g, s, r, w
}

// wsClient is a WebSocket client in the room of a gen with one sender, writing to a pipe.
func wsClient(t *testing.T) (*gen, *client, *stats, *os.File) {
	t.Helper()
	g, s, r, w := testGen(t)
	ws, _, err := newWsConn("127.0.0.1:1", false)
	if err != nil {
		t.Fatal(err)
	}
	ws.open = true
	c := &client{conn: w, ready: make(chan struct{}), buf: make([]byte, readBuffer), ws: ws,
		lastSeq: []int32{-1}, state: inRoom, counted: 1, histWant: -1, replayHigh: -1}
	return g, c, s, r
}

// payloadLine is message seq of sender 0 as the server relays it, with its newline.
func payloadLine(seq int64) []byte {
	line := lineTemplate(64)
	stampLine(line, 0, seq, 1)
	return append([]byte("c0: "), line...)
}

func TestAccept(t *testing.T) {
	// The example of RFC 6455, section 1.3.
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
}

func TestFragmentsPingAndSplitReads(t *testing.T) {
	g, c, s, pipe := wsClient(t)
	one, two := payloadLine(0), payloadLine(1)
	both := append(append([]byte{}, one...), two...)
	// A text message in three fragments, cut mid-line, a ping between the second and third,
	// then a whole frame of one line and an empty final text frame.
	var wire []byte
	wire = append(wire, serverFrame(false, opText, both[:10])...)
	wire = append(wire, serverFrame(false, opCont, both[10:90])...)
	wire = append(wire, serverFrame(true, opPing, []byte("hi"))...)
	wire = append(wire, serverFrame(true, opCont, both[90:])...)
	wire = append(wire, serverFrame(true, opText, payloadLine(2))...)
	wire = append(wire, serverFrame(true, opText, nil)...)
	// Byte by byte: every header and payload is cut at every place.
	for i := range wire {
		if !g.wsFrames(c, s, wire[i:i+1], 0, -1) {
			t.Fatalf("failed at byte %d: %s", i, c.failure)
		}
	}
	if s.delivered != 3 || s.corrupted != 0 || s.reordered != 0 || s.errors != 0 {
		t.Fatalf("delivered %d, corrupted %d, reordered %d, errors %d (%s)",
			s.delivered, s.corrupted, s.reordered, s.errors, s.firstError)
	}
	if c.ws.frag || c.ws.inPayload || c.have != 0 {
		t.Fatalf("state left over: frag %v, inPayload %v, have %d", c.ws.frag, c.ws.inPayload, c.have)
	}
	// The pong: masked, the ping's payload.
	pong := make([]byte, 8)
	if _, err := pipe.Read(pong); err != nil {
		t.Fatal(err)
	}
	if pong[0] != 0x80|opPong || pong[1] != 0x80|2 {
		t.Fatalf("pong header % x", pong[:2])
	}
	if got := []byte{pong[6] ^ pong[2], pong[7] ^ pong[3]}; !bytes.Equal(got, []byte("hi")) {
		t.Fatalf("pong payload %q", got)
	}
}

func TestLongFrameAndClose(t *testing.T) {
	g, c, s, pipe := wsClient(t)
	var many []byte
	for seq := int64(0); seq < 2000; seq++ { // 16-bit, then 64-bit lengths
		many = append(many, payloadLine(seq)...)
	}
	wire := append(serverFrame(true, opText, many[:300]), serverFrame(true, opText, many[300:])...)
	wire = append(wire, serverFrame(true, opClose, []byte{0x03, 0xe8, 'b', 'y', 'e'})...)
	if !g.wsFrames(c, s, wire, 0, -1) {
		t.Fatal(c.failure)
	}
	if s.delivered != 2000 || s.corrupted != 0 || s.reordered != 0 {
		t.Fatalf("delivered %d, corrupted %d, reordered %d", s.delivered, s.corrupted, s.reordered)
	}
	reply := make([]byte, 8)
	if n, err := pipe.Read(reply); err != nil || n != 8 || reply[0] != 0x80|opClose {
		t.Fatalf("close reply % x (%v)", reply[:n], err)
	}
	if code := []byte{reply[6] ^ reply[2], reply[7] ^ reply[3]}; !bytes.Equal(code, []byte{3, 0xe8}) {
		t.Fatalf("close code % x", code)
	}
	if !c.ws.closing {
		t.Fatal("not closing")
	}
}

func TestProtocolErrors(t *testing.T) {
	for name, wire := range map[string][]byte{
		"masked":             {0x81, 0x81, 1, 2, 3, 4, 'x'},
		"binary":             serverFrame(true, opBinary, []byte("x")),
		"stray continuation": serverFrame(true, opCont, []byte("x")),
		"text in fragments":  append(serverFrame(false, opText, []byte("x")), serverFrame(true, opText, nil)...),
		"fragmented ping":    serverFrame(false, opPing, nil),
		"reserved bits":      {0xc1, 0},
		"reserved opcode":    serverFrame(true, 0x3, nil),
	} {
		g, c, s, _ := wsClient(t)
		if g.wsFrames(c, s, wire, 0, -1) {
			t.Errorf("%s: accepted", name)
		} else if s.errors != 1 || c.failure == "" {
			t.Errorf("%s: errors %d, failure %q", name, s.errors, c.failure)
		}
	}
}

func TestHandshakeResponse(t *testing.T) {
	w, request, err := newWsConn("127.0.0.1:9", false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(request, []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")) ||
		bytes.Contains(bytes.ToLower(request), []byte("origin")) {
		t.Fatalf("request %q", request)
	}
	good := "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
		"sec-websocket-accept: " + w.accept
	if err := w.checkResponse([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain",
		"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n" +
			"sec-websocket-accept: x",
		"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nsec-websocket-accept: " + w.accept,
	} {
		if w.checkResponse([]byte(bad)) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
