package main

import (
	"bytes"
	"os"
	"testing"
)

// ircClient is an IRC client waiting for its names list, in a gen with one sender, writing to
// a pipe.
func ircClient(t *testing.T) (*gen, *client, *stats, *os.File) {
	t.Helper()
	g, s, r, w := testGen(t)
	c := &client{conn: w, ready: make(chan struct{}), buf: make([]byte, readBuffer), irc: true,
		lastSeq: []int32{-1}, state: waitReady, histWant: -1, replayHigh: -1}
	return g, c, s, r
}

func TestIRCRegistrationPayloadsAndPing(t *testing.T) {
	g, c, s, pipe := ircClient(t)
	line := lineTemplate(64)
	stampLine(line, 0, 0, 1)
	var wire []byte
	wire = append(wire, ":irc.test 001 c1 :Welcome\r\n:c1!c1@127.0.0.1 JOIN #lobby\r\n"...)
	wire = append(wire, ":irc.test 353 c1 = #lobby :c0 c1\r\n:irc.test 366 c1 #lobby :End\r\n"...)
	wire = append(wire, ":c0!c0@127.0.0.1 PRIVMSG #lobby :"...)
	wire = append(wire, line[:len(line)-1]...)
	wire = append(wire, "\r\nPING :irc.test\r\n"...)
	// Byte by byte: lines are cut at every place.
	for i := range wire {
		copy(c.buf[c.have:], wire[i:i+1])
		g.chunk(c, s, 1, 0, -1)
	}
	if c.counted != 1 {
		t.Fatal("not in the room after 366")
	}
	if s.delivered != 1 || s.corrupted != 0 || s.errors != 0 {
		t.Fatalf("delivered %d, corrupted %d, errors %d (%s)", s.delivered, s.corrupted, s.errors,
			s.firstError)
	}
	pong := make([]byte, 64)
	n, _ := pipe.Read(pong)
	if got := string(pong[:n]); got != "PONG :irc.test\r\n" {
		t.Fatalf("pong %q", got)
	}
}

func TestIRCPrefixAndSend(t *testing.T) {
	if !ircPrefixOk([]byte(":c0!c0@127.0.0.1 PRIVMSG #lobby :")) {
		t.Fatal("a PRIVMSG source refused")
	}
	if ircPrefixOk([]byte("c0: ")) || ircPrefixOk([]byte(":x NOTICE #lobby :")) {
		t.Fatal("a foreign prefix accepted")
	}
	line := lineTemplate(64)
	out := appendIRC(nil, line)
	if !bytes.HasPrefix(out, []byte("PRIVMSG #lobby :~")) || !bytes.HasSuffix(out, []byte("\r\n")) ||
		len(out) != len("PRIVMSG #lobby :")+len(line)+1 {
		t.Fatalf("sent %q", out)
	}
}
