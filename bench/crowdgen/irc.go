package main

// IRC clients (-irc N -irc-addr HOST:PORT): N of the clients, spread evenly as the WebSocket
// ones are (isWS's rule), connect to ours' IRC listener (server.ts --irc) instead. One
// registers and joins the room in one write ("NICK", "USER", "JOIN #lobby") and is in the
// room at the end of the names list (366); it answers PING. A sender writes each payload as
// "PRIVMSG #lobby :PAYLOAD"; a receiver gets ":NICK!USER@HOST PRIVMSG #lobby :PAYLOAD" and
// checks the payload as a TCP client does. Its receivers are counted apart ("irc").

import (
	"bytes"
	"strconv"
	"sync/atomic"
)

// ircChannel is the room the TCP clients are in (ours' lobby), as an IRC channel.
const ircChannel = "#lobby"

var (
	ircPrivmsg = []byte("PRIVMSG " + ircChannel + " :")
	ircPing    = []byte("PING ")
	ircInRoom  = []byte(" 366 ")
)

// isIRC: whether client idx (of n) is one of the k IRC clients.
func isIRC(idx, k, n int) bool {
	return isWS(idx, k, n)
}

// ircRegistration is what an IRC client sends once connected: its nick, user and the JOIN.
func ircRegistration(name string) []byte {
	return []byte("NICK " + name + "\r\nUSER " + name + " 0 * :" + name + "\r\nJOIN " +
		ircChannel + "\r\n")
}

// ircPrefixOk: whether the bytes before a payload are an IRC PRIVMSG's source, command and
// target (":NICK!USER@HOST PRIVMSG #lobby :").
func ircPrefixOk(pre []byte) bool {
	n := len(pre)
	return n > len(ircPrivmsg) && pre[0] == ':' && bytes.HasSuffix(pre, ircPrivmsg) &&
		pre[n-len(ircPrivmsg)-1] == ' '
}

// prefixFits: whether pre is what comes before a payload for c (prefixOk, or ircPrefixOk).
func (g *gen) prefixFits(c *client, pre []byte) bool {
	if c.irc {
		return ircPrefixOk(pre)
	}
	return g.prefixOk(pre)
}

// appendIRC appends a payload line (ending in '\n') as an IRC PRIVMSG line.
func appendIRC(out, line []byte) []byte {
	out = append(out, ircPrivmsg...)
	out = append(out, line[:len(line)-1]...)
	return append(out, '\r', '\n')
}

// ircOther handles an IRC client's line without a payload: the end of the names list puts it
// in the room, a PING is answered; numerics, JOIN, PART, QUIT and the like are not counted.
func (g *gen) ircOther(s *stats, c *client, b []byte) {
	switch {
	case bytes.HasPrefix(b, ircPing):
		if _, err := c.conn.Write(append([]byte("PONG "), append(b[len(ircPing):], '\r', '\n')...)); err != nil {
			s.noteError([]byte("!! PONG not sent: " + err.Error()))
		}
	case atomic.LoadInt32(&c.state) == waitReady && bytes.Contains(b, ircInRoom):
		g.markReady(c)
	case bytes.HasPrefix(b, []byte("ERROR ")) || bytes.Contains(b, []byte(" 433 ")) ||
		bytes.Contains(b, []byte(" 432 ")):
		s.noteError(append([]byte("!! "), b...))
	}
}

// ircName is client idx's nick.
func (g *gen) ircName(idx int) string {
	return g.cfg.name + strconv.Itoa(idx)
}
