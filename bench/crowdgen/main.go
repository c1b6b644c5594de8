// Command crowdgen is the load generator bench.ts runs for its many-client scenarios (crowd:
// 5,000 clients, one sender; idle: 10,000 clients, no traffic). bench.ts's own clients live on
// node:net in one Deno process, which costs too much CPU per connect and per read to measure a
// server that handles thousands of clients; this one costs a fraction of that. It speaks the
// same payload format as bench.ts, so results are comparable and corruption is caught alike:
//
//	~SSSS QQQQQQQQQ TTTTTTTTTTTT xxxx…xxxx CCCCC
//
// (sender, sequence number, send time in microseconds of this process's monotonic clock,
// padding, checksum), parsed by byte offsets.
//
// Build it with Debian's Go, offline, standard library only:
//
//	cd bench/crowdgen && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod go build -o /tmp/chat-crowdgen .
//
// and run it against a server on 127.0.0.1:
//
//	/tmp/chat-crowdgen -addr 127.0.0.1:9000 -mode ours -clients 5000 -senders 1 -rate 10
//	/tmp/chat-crowdgen -addr 127.0.0.1:1801 -mode raw -clients 10000 -idle 5
//
// Clients count as in the room as bench.ts decides it: "ours" (mode ours) greets with
// "-- What should we call you?", gets a name and answers "-- Hello, …"; a server that relays
// raw bytes (mode raw: the Go original) is probed: once its accept queue is empty, client 0
// sends "?probe" until every other client has read it; a server that sends nothing (the relay)
// is asked of /proc: it must hold an open file per client (-ready accepted -server-pid PID).
//
// With -ws N -ws-addr HOST:PORT, N of the clients, spread evenly (so among the senders too),
// are WebSocket clients of ours' /ws instead (ws.go), and the message phase reports what each
// transport's receivers got apart ("receivers"):
//
//	/tmp/chat-crowdgen -addr 127.0.0.1:9000 -ws-addr 127.0.0.1:9001 -ws 100 -clients 200 -senders 10 -rate 100
//
// With -ws-json too, those clients ask for the subprotocol chat.v1.json and speak it
// (wsjson.go): JSON objects instead of text lines, counted as "ws-json" receivers.
//
// It prints one JSON object on stdout at the end. With -control it is driven by a parent
// (bench.ts) over stdin and stdout: it prints {"event":"started"} and waits for a line, connects,
// prints {"event":"connected",…} and waits for a line ("go" to send or hold, anything else to
// skip it), prints {"event":"done",…} (the final object) and keeps its connections until stdin
// closes, so the parent can stop the server first.
//
// It is light by design: one P (GOMAXPROCS 1) unless -procs says otherwise, one goroutine per
// connection reading into its own 2 KiB buffer with recvmsg, no allocation per read. Every read
// also asks the kernel when the data arrived (SO_TIMESTAMPNS), so the delay this generator adds
// by reading late is measured rather than estimated.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ---------------------------------------------------------------------------
// Message format (as in bench/message.ts)
// ---------------------------------------------------------------------------

const (
	magic       = '~'
	senderAt    = 1
	senderWidth = 4
	seqAt       = 6
	seqWidth    = 9
	tsAt        = 16
	tsWidth     = 12
	padAt       = 29
	checkWidth  = 5
	// minPayload is the smallest payload: the fields, one padding byte and the checksum.
	minPayload = padAt + 1 + 1 + checkWidth
	// prefixMax: a payload must start within this many bytes of the line start.
	prefixMax = 48
	// readBuffer is each connection's buffer; a longer line is classified by its start only.
	readBuffer = 2048
	// truncatedKeep is how much of an over-long line is looked at (CARRY_MAX in bench/message.ts).
	truncatedKeep = 1024
)

var (
	prompt    = []byte("-- What should we call you?")
	hello     = []byte("-- Hello, ")
	dashes    = []byte("-- ")
	announce  = []byte("<announce>")
	errorMark = []byte("!! ")
	probe     = []byte("?probe\n")
	// A replay: "-- history of ROOM: N lines, oldest first", lines "[TIME] NAME: TEXT", and
	// "-- end of history", right after the welcome.
	historyHeader = []byte("-- history of ")
	historyEnd    = []byte("-- end of history")
)

// checksum ends a payload; a line cut and spliced with another almost never matches it.
func checksum(sender, seq, ts int64) int64 {
	return (sender*7919 + seq*31 + ts) % 99991
}

// putDigits writes value as width zero-padded decimal digits at b[pos:].
func putDigits(b []byte, pos, width int, value int64) {
	for i := pos + width - 1; i >= pos; i-- {
		b[i] = byte('0' + value%10)
		value /= 10
	}
}

// readDigits reads width decimal digits at b[pos:], or -1 if one is not a digit.
func readDigits(b []byte, pos, width int) int64 {
	var v int64
	for _, c := range b[pos : pos+width] {
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int64(c-'0')
	}
	return v
}

// stampLine fills in sender, sequence number, send time and checksum of the line at b[0:].
func stampLine(b []byte, sender, seq, ts int64) {
	putDigits(b, senderAt, senderWidth, sender)
	putDigits(b, seqAt, seqWidth, seq)
	putDigits(b, tsAt, tsWidth, ts)
	putDigits(b, len(b)-1-checkWidth, checkWidth, checksum(sender, seq, ts))
}

// lineTemplate is one payload line (with its newline) whose numeric fields are zeros.
func lineTemplate(size int) []byte {
	return []byte("~" + strings.Repeat("0", senderWidth) + " " + strings.Repeat("0", seqWidth) +
		" " + strings.Repeat("0", tsWidth) + " " + strings.Repeat("x", size-minPayload+1) + " " +
		strings.Repeat("0", checkWidth) + "\n")
}

// ---------------------------------------------------------------------------
// Clock and histogram
// ---------------------------------------------------------------------------

// epoch starts the monotonic clock that senders stamp and receivers read.
var epoch = time.Now()

// monoUs is microseconds since epoch, monotonic.
func monoUs() int64 { return int64(time.Since(epoch) / time.Microsecond) }

// Log-linear buckets of microseconds, about 0.2 % precision (as in bench/histogram.ts).
const (
	sub       = 512
	histSize  = 2*sub + 22*sub
	histLimit = 1<<31 - 1
)

func bucketOf(us uint32) int {
	if us < 2*sub {
		return int(us)
	}
	k := bits.Len32(us) - 1
	return 2*sub + (k-10)*sub + int(us>>(k-9)) - sub
}

func bucketValue(b int) float64 {
	if b < 2*sub {
		return float64(b)
	}
	k := (b-2*sub)/sub + 10
	s := (b-2*sub)%sub + sub
	return (float64(s) + 0.5) * math.Ldexp(1, k-9)
}

// histogram counts values in microseconds, with the exact maximum; safe for concurrent use.
type histogram struct {
	counts [histSize]uint32
	total  int64
	max    int64
}

func (h *histogram) record(us int64) {
	if us < 0 {
		us = 0
	} else if us > histLimit {
		us = histLimit
	}
	atomic.AddUint32(&h.counts[bucketOf(uint32(us))], 1)
	atomic.AddInt64(&h.total, 1)
	for {
		m := atomic.LoadInt64(&h.max)
		if us <= m || atomic.CompareAndSwapInt64(&h.max, m, us) {
			return
		}
	}
}

// quantile is the value below which a fraction q of the values fall, µs; NaN if empty.
func (h *histogram) quantile(q float64) float64 {
	total := atomic.LoadInt64(&h.total)
	if total == 0 {
		return math.NaN()
	}
	rank := int64(math.Max(1, math.Ceil(q*float64(total))))
	max := float64(atomic.LoadInt64(&h.max))
	var seen int64
	for b := range h.counts {
		seen += int64(atomic.LoadUint32(&h.counts[b]))
		if seen >= rank {
			return math.Min(bucketValue(b), max)
		}
	}
	return max
}

// ---------------------------------------------------------------------------
// Counters of one phase
// ---------------------------------------------------------------------------

// stats is what one phase counts; a new one replaces it when the traffic starts.
type stats struct {
	// latency: send to read by this process; arrival: send to arrival in the socket (kernel
	// timestamp); readDelay: arrival to read, what this process added.
	latency, arrival, readDelay histogram
	// With -addr2: latency of deliveries between clients of the same server, and of two.
	same, cross                                                    histogram
	delivered, corrupted, reordered, errors, reads, bytes, stamped int64
	// notices: "-- " lines to clients in the room (joins, leaves), not the handshake.
	notices int64
	// echoes: a chat.v1.json sender's own messages come back to it (see ownEcho): never
	// deliveries, loss or latencies.
	echoes int64
	// historyLines: replayed lines ("[" after the welcome), never deliveries, loss, corruption
	// or errors; replayed: those that carry a message sent in this run (sequence number at
	// least -replay-fill), which the receiver then has (see historyLine).
	historyLines, replayed int64
	lastDeliveryUs         int64
	// Messages sent before this (µs of monoUs) are warm-up: counted, not timed.
	timedFromUs int64
	errMu       sync.Mutex
	firstError  string
}

func (s *stats) noteError(line []byte) {
	atomic.AddInt64(&s.errors, 1)
	s.errMu.Lock()
	if s.firstError == "" {
		if len(line) > 200 {
			line = line[:200]
		}
		s.firstError = string(line)
	}
	s.errMu.Unlock()
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

// Connection states: waiting for the name prompt, for the welcome (or probe), in the room.
const (
	waitPrompt int32 = iota
	waitReady
	inRoom
)

type client struct {
	idx   int
	conn  *os.File
	rc    syscall.RawConn
	state int32
	// counted: markReady ran; ready is closed then.
	counted int32
	ready   chan struct{}
	// gone is closed when the reader stops (the connection ended, or broke the protocol);
	// failure says why, if it ended before the welcome or broke the protocol.
	gone    chan struct{}
	failure string
	// ws: a WebSocket client's frame layer (see ws.go); nil for a TCP client.
	ws *wsConn
	// irc: an IRC client of ours' IRC listener (see irc.go).
	irc bool
	// wantReplay: a joiner of the replay mode, in the room at the welcome but ready only at
	// the end of its replay. histWant: lines its header announced (-1 before one); histGot:
	// lines replayed; histDone: 1 once it ended; replayHigh: sender 0's newest sequence
	// number then. Written by its reader, read by the others.
	wantReplay                              bool
	histWant, histGot, histDone, replayHigh int32
	// buf[:have] is the unfinished line of the last read; skip: the rest of an over-long line.
	buf  []byte
	have int
	skip bool
	// lastSeq[sender]: the highest sequence number seen from each sender.
	lastSeq []int32
	// recvmsg's arguments, built once; and its results.
	msg    syscall.Msghdr
	iov    syscall.Iovec
	oob    [64]byte
	n      int
	errno  syscall.Errno
	readFn func(fd uintptr) bool
}

type prefixKind int

const (
	prefixName prefixKind = iota // "NAME: " (ours)
	prefixNone                   // nothing (the Go original, the relay)
	prefixNcat                   // "<userN> " (ncat --chat)
)

type gen struct {
	cfg     config
	named   bool
	prefix  prefixKind
	senders int
	port    int
	// wsIP, wsPort: where WebSocket clients connect (-ws-addr).
	wsIP   net.IP
	wsPort int
	// port2: where the odd-numbered clients connect (-addr2), or 0.
	port2 int
	// ircIP, ircPort: where IRC clients connect (-irc-addr).
	ircIP   net.IP
	ircPort int
	clients []*client
	// cur[kind]: what the clients of each kind (kindTCP, kindWS, kindIRC) count now.
	cur    [3]atomic.Pointer[stats]
	ready  int64
	closed int64
	// lastNoticeUs: when a client in the room last read a notice (monoUs).
	lastNoticeUs int64
	// fillMs: replay mode, how long the fill took to reach the witness.
	fillMs num
}

// TCP states (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpSynSent     = 2
)

// tcpState is the state of a TCP socket: the first byte of its struct tcp_info.
func tcpState(fd int) (byte, error) {
	var info [8]byte
	size := uint32(len(info))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP,
		syscall.TCP_INFO, uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return 0, os.NewSyscallError("getsockopt", e)
	}
	return info[0], nil
}

// dial opens client idx's connection: a non-blocking socket, connect, and the runtime's poller
// (os.NewFile registers a non-blocking descriptor with it), then a look at its TCP state (and a
// wait for the poller while the handshake is not done). That is six system calls, against about a dozen for
// net.Dial (keep-alive options, names of both ends, a context and timers), and no garbage.
//
// A client that is to speak WebSocket (see isWS) connects to wsAddr instead, and sends its
// handshake request once connected; its reader checks the response.
func (g *gen) dial(idx int, addr, wsAddr, ircAddr *syscall.SockaddrInet4, deadline time.Time) (*client, error) {
	var ws *wsConn
	var request []byte
	irc := isIRC(idx, g.cfg.irc, g.cfg.clients)
	if irc {
		request = ircRegistration(g.ircName(idx))
		addr = ircAddr
	} else if isWS(idx, g.cfg.ws, g.cfg.clients) {
		var err error
		if ws, request, err = newWsConn(g.cfg.wsAddr, g.cfg.wsJSON); err != nil {
			return nil, err
		}
		addr = wsAddr
	} else if g.port2 != 0 && idx%2 == 1 {
		other := *addr
		other.Port = g.port2
		addr = &other
	}
	fd, err := syscall.Socket(syscall.AF_INET,
		syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Connect(fd, addr); err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// Senders need Nagle off (bench.ts turns it off for every client; the others write one
	// name or nothing). Receivers ask for the time data arrives (see readLoop).
	if idx < g.senders {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
			syscall.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if g.senders > 0 {
		err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		if err != nil {
			syscall.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	f := os.NewFile(uintptr(fd), "")
	c := &client{idx: idx, conn: f, ready: make(chan struct{}), gone: make(chan struct{}),
		buf: make([]byte, readBuffer), histWant: -1, replayHigh: -1, ws: ws, irc: irc}
	if rc, err := f.SyscallConn(); err != nil {
		f.Close()
		return nil, err
	} else {
		c.rc = rc
	}
	f.SetWriteDeadline(deadline)
	var connErr error
	err = c.rc.Write(func(fd uintptr) bool {
		// On loopback the handshake is usually done by the time connect returns. Whether it
		// is is asked of the socket, not of the poller, which forgets a readiness that came
		// before this call.
		state, e := tcpState(int(fd))
		switch {
		case e != nil:
			connErr = e
		case state == tcpSynSent:
			return false
		case state != tcpEstablished:
			if v, e := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR); e == nil && v != 0 {
				connErr = syscall.Errno(v)
			} else {
				connErr = fmt.Errorf("TCP state %d", state)
			}
		}
		return true
	})
	if err == nil {
		err = connErr
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if ws != nil || irc {
		if _, err := f.Write(request); err != nil {
			f.Close()
			return nil, fmt.Errorf("websocket handshake or IRC registration not sent: %w", err)
		}
	}
	f.SetWriteDeadline(time.Time{})
	if !g.named || irc || (ws != nil && ws.json) {
		c.state = waitReady // no name prompt: it greets, or is greeted, or is probed
	}
	if g.senders > 0 {
		c.lastSeq = make([]int32, g.senders)
		for i := range c.lastSeq {
			c.lastSeq[i] = -1
		}
	}
	c.msg.Iov = &c.iov
	c.msg.Iovlen = 1
	c.msg.Control = &c.oob[0]
	c.readFn = func(fd uintptr) bool {
		// A TCP client reads into its line buffer; a WebSocket one into its raw buffer.
		if ws := c.ws; ws != nil {
			c.iov.Base = &ws.raw[ws.rawHave]
			c.iov.SetLen(len(ws.raw) - ws.rawHave)
		} else {
			c.iov.Base = &c.buf[c.have]
			c.iov.SetLen(len(c.buf) - c.have)
		}
		c.msg.SetControllen(len(c.oob))
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), 0)
			if e == syscall.EINTR {
				continue
			}
			if e == syscall.EAGAIN {
				return false
			}
			c.n, c.errno = int(n), e
			return true
		}
	}
	return c, nil
}

// readLoop reads until the connection ends.
func (g *gen) readLoop(c *client) {
	defer func() {
		atomic.AddInt64(&g.closed, 1)
		if c.failure == "" && atomic.LoadInt32(&c.counted) == 0 {
			c.failure = "closed by the server before its welcome"
			if c.errno != 0 {
				c.failure = "read: " + c.errno.Error()
			}
		}
		close(c.gone)
	}()
	for {
		if err := c.rc.Read(c.readFn); err != nil || c.errno != 0 || c.n <= 0 {
			return
		}
		t := time.Now()
		nowUs := int64(t.Sub(epoch) / time.Microsecond)
		delayUs := int64(-1)
		if c.msg.Controllen >= uint64(syscall.CmsgSpace(16)) {
			h := (*syscall.Cmsghdr)(unsafe.Pointer(&c.oob[0]))
			if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS {
				ts := (*syscall.Timespec)(unsafe.Pointer(&c.oob[syscall.CmsgLen(0)]))
				if delayUs = (t.UnixNano() - ts.Nano()) / 1000; delayUs < 0 {
					delayUs = 0
				}
			}
		}
		s := g.cur[c.kind()].Load()
		atomic.AddInt64(&s.reads, 1)
		atomic.AddInt64(&s.bytes, int64(c.n))
		if c.ws == nil {
			g.chunk(c, s, c.n, nowUs, delayUs)
		} else if !g.wsInput(c, s, c.n, nowUs, delayUs) {
			c.conn.Close() // the next read fails, and the loop ends
		}
	}
}

// Kinds of clients, whose receivers are counted apart: over TCP, over a WebSocket, over IRC.
const (
	kindTCP = 0
	kindWS  = 1
	kindIRC = 2
)

// kind is kindTCP, kindWS or kindIRC.
func (c *client) kind() int {
	if c.ws != nil {
		return kindWS
	}
	if c.irc {
		return kindIRC
	}
	return kindTCP
}

// setStats makes s count for every client from now on.
func (g *gen) setStats(s *stats) {
	g.cur[kindTCP].Store(s)
	g.cur[kindWS].Store(s)
	g.cur[kindIRC].Store(s)
}

// chunk splits what a read (or a WebSocket payload) appended to c.buf into lines.
func (g *gen) chunk(c *client, s *stats, n int, nowUs, delayUs int64) {
	data := c.buf[:c.have+n]
	start, pos := 0, c.have
	if c.skip {
		nl := bytes.IndexByte(data[pos:], '\n')
		if nl < 0 {
			c.have = 0
			return
		}
		c.skip = false
		start = pos + nl + 1
		pos = start
	}
	before := atomic.LoadInt64(&s.delivered)
	for {
		nl := bytes.IndexByte(data[pos:], '\n')
		if nl < 0 {
			break
		}
		g.line(s, c, data[start:pos+nl], nowUs, delayUs)
		start = pos + nl + 1
		pos = start
	}
	rest := len(data) - start
	if rest == len(c.buf) {
		// A line longer than the buffer: classified by its start, the rest skipped.
		g.other(s, c, data[:truncatedKeep])
		c.skip = true
		c.have = 0
	} else {
		copy(c.buf, data[start:])
		c.have = rest
	}
	if atomic.LoadInt64(&s.delivered) != before {
		atomic.StoreInt64(&s.lastDeliveryUs, nowUs)
	}
}

// line parses one line (without its newline): a payload is counted, checked for order, timed.
func (g *gen) line(s *stats, c *client, b []byte, nowUs, delayUs int64) {
	if c.irc && len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1] // IRC lines end in CRLF
	}
	if g.isHistory(c, b) {
		g.historyLine(s, c, b)
		return
	}
	limit := len(b)
	if limit > prefixMax {
		limit = prefixMax
	}
	p := bytes.IndexByte(b[:limit], magic)
	if p < 0 {
		g.other(s, c, b)
		return
	}
	size := len(b) - p
	if size < minPayload || b[p+senderAt+senderWidth] != ' ' || b[p+seqAt+seqWidth] != ' ' ||
		b[p+tsAt+tsWidth] != ' ' || b[len(b)-checkWidth-1] != ' ' ||
		(p != 0 && !g.prefixFits(c, b[:p])) {
		atomic.AddInt64(&s.corrupted, 1)
		return
	}
	sender := readDigits(b, p+senderAt, senderWidth)
	seq := readDigits(b, p+seqAt, seqWidth)
	ts := readDigits(b, p+tsAt, tsWidth)
	check := readDigits(b, len(b)-checkWidth, checkWidth)
	if sender < 0 || seq < 0 || ts < 0 || check < 0 || sender >= int64(g.senders) ||
		checksum(sender, seq, ts) != check || size != g.cfg.size {
		atomic.AddInt64(&s.corrupted, 1)
		return
	}
	atomic.AddInt64(&s.delivered, 1)
	if ts >= s.timedFromUs {
		s.latency.record(nowUs - ts)
		if g.port2 != 0 {
			if int(sender)%2 == c.idx%2 {
				s.same.record(nowUs - ts)
			} else {
				s.cross.record(nowUs - ts)
			}
		}
		if delayUs >= 0 {
			atomic.AddInt64(&s.stamped, 1)
			s.readDelay.record(delayUs)
			s.arrival.record(nowUs - delayUs - ts)
		}
	}
	if int32(seq) <= c.lastSeq[sender] {
		atomic.AddInt64(&s.reordered, 1)
	} else {
		c.lastSeq[sender] = int32(seq)
	}
}

// isHistory: whether b is a replayed line: "[" after the welcome, from our server.
func (g *gen) isHistory(c *client, b []byte) bool {
	return len(b) > 0 && b[0] == '[' && g.named && atomic.LoadInt32(&c.state) == inRoom
}

// historyLine counts a replayed line. If it carries a well-formed payload of a message sent in
// this run (not one of the fill), the receiver has that message: it counts as replayed, and
// moves the receiver's last sequence number on, so a live copy afterwards is a duplicate
// (counted as reordered).
func (g *gen) historyLine(s *stats, c *client, b []byte) {
	atomic.AddInt32(&c.histGot, 1)
	atomic.AddInt64(&s.historyLines, 1)
	if c.lastSeq == nil {
		return
	}
	limit := len(b)
	if limit > prefixMax {
		limit = prefixMax
	}
	p := bytes.IndexByte(b[:limit], magic)
	if p < 1 || len(b)-p != g.cfg.size || b[p+senderAt+senderWidth] != ' ' ||
		b[p+seqAt+seqWidth] != ' ' || b[p+tsAt+tsWidth] != ' ' || b[len(b)-checkWidth-1] != ' ' ||
		!g.prefixOk(b[:p]) {
		return
	}
	sender := readDigits(b, p+senderAt, senderWidth)
	seq := readDigits(b, p+seqAt, seqWidth)
	ts := readDigits(b, p+tsAt, tsWidth)
	check := readDigits(b, len(b)-checkWidth, checkWidth)
	if sender < 0 || seq < 0 || ts < 0 || sender >= int64(g.senders) ||
		checksum(sender, seq, ts) != check || seq < int64(g.cfg.replayFill) {
		return
	}
	atomic.AddInt64(&s.replayed, 1)
	if int32(seq) > c.lastSeq[sender] {
		c.lastSeq[sender] = int32(seq)
	}
}

// replayCount is the N of "-- history of ROOM: N lines, oldest first", or -1.
func replayCount(b []byte) int32 {
	text := strings.TrimSuffix(string(b), ", oldest first")
	text = strings.TrimSuffix(strings.TrimSuffix(text, " lines"), " line")
	n, err := strconv.Atoi(text[strings.LastIndex(text, ": ")+2:])
	if err != nil {
		return -1
	}
	return int32(n)
}

// prefixOk: whether the bytes before a payload are what this target puts there.
func (g *gen) prefixOk(pre []byte) bool {
	n := len(pre)
	switch g.prefix {
	case prefixName:
		return n >= 3 && pre[n-1] == ' ' && pre[n-2] == ':'
	case prefixNcat:
		return pre[0] == '<' && pre[n-1] == ' ' && n >= 2 && pre[n-2] == '>'
	}
	return false
}

// other handles a line without a payload: the handshake, notices, the probe, or garbage.
func (g *gen) other(s *stats, c *client, b []byte) {
	if len(b) == 0 {
		return
	}
	if c.irc {
		g.ircOther(s, c, b)
		return
	}
	if g.isHistory(c, b) {
		g.historyLine(s, c, b)
		return
	}
	if bytes.HasPrefix(b, dashes) {
		state := atomic.LoadInt32(&c.state)
		if state == inRoom && bytes.HasPrefix(b, historyHeader) {
			atomic.StoreInt32(&c.histWant, replayCount(b))
			return
		}
		if state == inRoom && bytes.Equal(b, historyEnd) {
			if c.lastSeq != nil {
				atomic.StoreInt32(&c.replayHigh, c.lastSeq[0])
			}
			atomic.StoreInt32(&c.histDone, 1)
			if c.wantReplay {
				g.markReady(c)
			}
			return
		}
		if state == inRoom {
			atomic.AddInt64(&s.notices, 1)
			atomic.StoreInt64(&g.lastNoticeUs, monoUs())
			return
		}
		if state == waitPrompt && bytes.Equal(b, prompt) {
			atomic.StoreInt32(&c.state, waitReady)
			if err := g.writeLine(c, g.cfg.name+strconv.Itoa(c.idx)); err != nil {
				s.noteError([]byte("!! name not sent: " + err.Error()))
			}
		} else if state == waitReady && g.named && bytes.HasPrefix(b, hello) {
			// Replayed lines follow the welcome; a joiner waiting for its replay is in at its end.
			if c.wantReplay {
				atomic.StoreInt32(&c.state, inRoom)
			} else {
				g.markReady(c)
			}
		}
		return
	}
	if bytes.HasPrefix(b, announce) {
		return
	}
	if bytes.HasPrefix(b, errorMark) {
		s.noteError(b)
		return
	}
	if !g.named && bytes.IndexByte(b, '?') >= 0 {
		g.markReady(c)
		return
	}
	atomic.AddInt64(&s.corrupted, 1)
}

// markReady marks a client as in the room, and counts it once.
func (g *gen) markReady(c *client) {
	atomic.StoreInt32(&c.state, inRoom)
	if atomic.CompareAndSwapInt32(&c.counted, 0, 1) {
		atomic.AddInt64(&g.ready, 1)
		close(c.ready)
	}
}

// ---------------------------------------------------------------------------
// /proc: the server's accept queue and open files
// ---------------------------------------------------------------------------

// acceptQueue is the length of the accept queue of the listener on 127.0.0.1:port, or -1.
// /proc/net/tcp lists listening sockets first, so its first pages suffice.
func acceptQueue(port int) int {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return -1
	}
	defer f.Close()
	buf := make([]byte, 16384)
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	needle := fmt.Sprintf("0100007F:%04X 00000000:0000 0A ", port)
	at := bytes.Index(buf[:n], []byte(needle))
	if at < 0 || at+len(needle)+17 > n {
		return -1
	}
	q, err := strconv.ParseUint(string(buf[at+len(needle)+9:at+len(needle)+17]), 16, 32)
	if err != nil {
		return -1
	}
	return int(q)
}

// openFiles is the number of open files of a process, or -1.
func openFiles(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names)
}

// ---------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------

type connectResult struct {
	Connected    int       `json:"connected"`
	InRoom       int64     `json:"inRoom"`
	Failed       int64     `json:"failed"`
	FirstFailure string    `json:"firstFailure"`
	TimedOut     bool      `json:"timedOut"`
	TCPMs        num       `json:"tcpMs"`
	ConnectMs    num       `json:"connectMs"`
	UserS        num       `json:"connectCpuUserS"`
	SysS         num       `json:"connectCpuSysS"`
	WallS        num       `json:"connectWallS"`
	CPUPct       num       `json:"connectCpuPct"`
	Present      []*client `json:"-"`
}

// connect opens clients from to to-1 (of g.clients), concurrency at a time, and waits until
// all are in the room; with wantReplay, until each one's replay has ended.
func (g *gen) connect(from, to int, wantReplay bool) connectResult {
	cfg := g.cfg
	var r connectResult
	count := to - from
	ready0 := atomic.LoadInt64(&g.ready)
	files0 := -1
	if cfg.ready == "accepted" {
		files0 = openFiles(cfg.serverPid)
	}
	expired := make(chan struct{})
	timer := time.AfterFunc(cfg.connectTimeout, func() { close(expired) })
	defer timer.Stop()
	isExpired := func() bool {
		select {
		case <-expired:
			return true
		default:
			return false
		}
	}
	// No collection while connecting: what the clients allocate is collected once they are in
	// the room, outside both measured phases (see main; the message phase allocates nothing).
	debug.SetGCPercent(-1)
	u0, s0 := cpuSeconds()
	start := monoUs()
	deadline := time.Now().Add(cfg.connectTimeout)
	var next, tcpAt int64 = int64(from) - 1, start
	var failMu sync.Mutex
	fail := func(err error) {
		atomic.AddInt64(&r.Failed, 1)
		failMu.Lock()
		if r.FirstFailure == "" {
			r.FirstFailure = err.Error()
		}
		failMu.Unlock()
	}
	ip := net.ParseIP(cfg.host).To4()
	if ip == nil {
		r.FirstFailure = "-addr must be an IPv4 address"
		r.TimedOut = true
		return r
	}
	addr := &syscall.SockaddrInet4{Port: g.port}
	copy(addr.Addr[:], ip)
	wsAddr := &syscall.SockaddrInet4{Port: g.wsPort}
	copy(wsAddr.Addr[:], g.wsIP)
	ircAddr := &syscall.SockaddrInet4{Port: g.ircPort}
	copy(ircAddr.Addr[:], g.ircIP)
	var wg sync.WaitGroup
	workers := cfg.concurrency
	if workers > count {
		workers = count
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr, wsAddr, ircAddr := *addr, *wsAddr, *ircAddr // each its own: connect writes into it
			for !isExpired() {
				i := int(atomic.AddInt64(&next, 1))
				if i >= to {
					return
				}
				c, err := g.dial(i, &addr, &wsAddr, &ircAddr, deadline)
				if err != nil {
					fail(err)
					continue
				}
				c.wantReplay = wantReplay
				atomic.StoreInt64(&tcpAt, monoUs())
				g.clients[i] = c
				go g.readLoop(c)
				if cfg.ready == "hello" {
					select {
					case <-c.ready:
					case <-c.gone:
						// Closed, or broke the protocol, before its welcome.
						if atomic.LoadInt32(&c.counted) == 0 {
							fail(errors.New(c.failure))
						}
					case <-expired:
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range g.clients[from:to] {
		if c != nil {
			r.Present = append(r.Present, c)
		}
	}
	if len(r.Present) == count && !isExpired() {
		switch cfg.ready {
		case "probe":
			// Accepted is not connected: a probe from client 0 must reach everyone else. It goes
			// out once the server holds every connection: the Go server iterates its client map
			// while its accept loop writes to it, and a fan-out during the connect burst can
			// crash it.
			g.waitAccepted(-1, expired)
			first := r.Present[0]
			g.markReady(first)
			for i := 0; atomic.LoadInt64(&g.ready)-ready0 < int64(count) && !isExpired(); i++ {
				if i%250 == 0 { // again every 250 ms
					if _, err := first.conn.Write(probe); err != nil {
						fail(err)
						break
					}
				}
				time.Sleep(time.Millisecond)
			}
		case "accepted":
			// Connected is not accepted either: the server must hold an open file per client.
			if g.waitAccepted(files0, expired) {
				for _, c := range r.Present {
					g.markReady(c)
				}
			}
		}
	}
	end := monoUs()
	u1, s1 := cpuSeconds()
	r.Connected = len(r.Present)
	r.InRoom = atomic.LoadInt64(&g.ready) - ready0
	r.TimedOut = isExpired() || r.InRoom < int64(count)
	r.TCPMs = num(float64(tcpAt-start) / 1000)
	r.ConnectMs = num(float64(end-start) / 1000)
	r.UserS, r.SysS = num(u1-u0), num(s1-s0)
	r.WallS = num(float64(end-start) / 1e6)
	r.CPUPct = 100 * (r.UserS + r.SysS) / r.WallS
	return r
}

// waitAccepted returns once the server's accept queue is empty on two looks 2 ms apart and,
// if files0 >= 0, the server holds a file for every client more than it did before.
func (g *gen) waitAccepted(files0 int, expired chan struct{}) bool {
	for empty := 0; empty < 2; {
		switch q := acceptQueue(g.port); {
		case q == 0:
			empty++
		case q < 0:
			empty = 2
		default:
			empty = 0
		}
		select {
		case <-expired:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	for files0 >= 0 && openFiles(g.cfg.serverPid)-files0 < g.cfg.clients {
		select {
		case <-expired:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Sending: open loop, by the clock
// ---------------------------------------------------------------------------

type plan struct {
	t0         int64 // µs
	total      int64
	intervalUs float64
	senders    int
	template   []byte
	lag        histogram
	endAt      int64 // µs: when the last message is due
	grace      time.Duration
}

// dueCount is the index of the first message of sender id not yet due at now (µs).
func (p *plan) dueCount(id int, now int64) int64 {
	k := int64(math.Floor(float64(now-p.t0)/p.intervalUs-float64(id)/float64(p.senders))) + 1
	if k < 0 {
		return 0
	}
	if k > p.total {
		return p.total
	}
	return k
}

// dueAt is when message k of sender id is due, µs.
func (p *plan) dueAt(id int, k int64) int64 {
	return p.t0 + int64(math.Round((float64(k)+float64(id)/float64(p.senders))*p.intervalUs))
}

type sender struct {
	id   int
	c    *client
	sent int64
	dead int32
	// A WebSocket sender's frames, and the state its masks are drawn from; with chat.v1.json,
	// the object each line goes out in.
	frames []byte
	rng    uint32
	object []byte
}

// send runs one sender's schedule: whatever is due goes out in one write; a write the server
// holds up holds this sender, and messages that fell due meanwhile carry their due time, so
// the server's backpressure counts as latency.
func (p *plan) send(sd *sender) {
	line := len(p.template)
	var buf []byte
	var queued, freeSince int64
	sd.c.conn.SetWriteDeadline(epoch.Add(time.Duration(p.endAt)*time.Microsecond + p.grace))
	for queued < p.total {
		now := monoUs()
		count := p.dueCount(sd.id, now) - queued
		if count <= 0 {
			time.Sleep(time.Duration(p.dueAt(sd.id, queued)-now) * time.Microsecond)
			continue
		}
		if len(buf) < int(count)*line {
			buf = make([]byte, int(max64(count*2, 16))*line)
			for off := 0; off < len(buf); off += line {
				copy(buf[off:], p.template)
			}
		}
		for i := int64(0); i < count; i++ {
			k := queued + i
			intended := p.dueAt(sd.id, k)
			ts := now
			if intended < freeSince {
				ts = intended
			}
			if i == 0 {
				p.lag.record(now - max64(intended, freeSince))
			}
			off := int(i) * line
			putDigits(buf, off+senderAt, senderWidth, int64(sd.id))
			putDigits(buf, off+seqAt, seqWidth, k)
			putDigits(buf, off+tsAt, tsWidth, ts)
			putDigits(buf, off+line-1-checkWidth, checkWidth, checksum(int64(sd.id), k, ts))
		}
		out := buf[:int(count)*line]
		if sd.c.ws != nil {
			// Over a WebSocket, each line is a masked text frame of its own, without the newline
			// (with chat.v1.json, in a {"type":"line"} object).
			sd.frames = sd.frames[:0]
			for off := 0; off < len(out); off += line {
				text := out[off : off+line-1]
				if sd.c.ws.json {
					sd.object = appendLineObject(sd.object[:0], text)
					text = sd.object
				}
				sd.frames = appendFrame(sd.frames, opText, text, &sd.rng)
			}
			out = sd.frames
		} else if sd.c.irc {
			sd.frames = sd.frames[:0]
			for off := 0; off < len(out); off += line {
				sd.frames = appendIRC(sd.frames, out[off:off+line])
			}
			out = sd.frames
		}
		if _, err := sd.c.conn.Write(out); err != nil {
			atomic.StoreInt32(&sd.dead, 1)
			return
		}
		queued += count
		atomic.AddInt64(&sd.sent, count)
		freeSince = monoUs()
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

type trafficResult struct {
	Sent           int64  `json:"sent"`
	Expected       int64  `json:"expected"`
	Delivered      int64  `json:"delivered"`
	Lost           int64  `json:"lost"`
	Reordered      int64  `json:"reordered"`
	Corrupted      int64  `json:"corrupted"`
	Errors         int64  `json:"serverErrors"`
	FirstError     string `json:"firstError"`
	Unsent         int64  `json:"unsent"`
	Dropped        int64  `json:"closedByServer"`
	P50Ms          num    `json:"p50Ms"`
	P99Ms          num    `json:"p99Ms"`
	MaxMs          num    `json:"maxMs"`
	ArrivalP50Ms   num    `json:"arrivalP50Ms"`
	ArrivalP99Ms   num    `json:"arrivalP99Ms"`
	ArrivalMaxMs   num    `json:"arrivalMaxMs"`
	ReadDelayP50Ms num    `json:"readDelayP50Ms"`
	ReadDelayP99Ms num    `json:"readDelayP99Ms"`
	ReadDelayMaxMs num    `json:"readDelayMaxMs"`
	Stamped        int64  `json:"stamped"`
	Notices        int64  `json:"notices"`
	Echoes         int64  `json:"echoes"`
	LagP99Ms       num    `json:"lagP99Ms"`
	// With -addr2: p50/p99 between clients of the same server, and across the two.
	SameP50Ms      num   `json:"sameP50Ms,omitempty"`
	SameP99Ms      num   `json:"sameP99Ms,omitempty"`
	CrossP50Ms     num   `json:"crossP50Ms,omitempty"`
	CrossP99Ms     num   `json:"crossP99Ms,omitempty"`
	LagMaxMs       num   `json:"lagMaxMs"`
	Reads          int64 `json:"reads"`
	Bytes          int64 `json:"bytes"`
	DeliveryS      num   `json:"deliveryS"`
	DeliveriesPerS num   `json:"deliveriesPerSec"`
	UserS          num   `json:"trafficCpuUserS"`
	SysS           num   `json:"trafficCpuSysS"`
	WallS          num   `json:"trafficWallS"`
	CPUPct         num   `json:"trafficCpuPct"`
	CPUPerReadUs   num   `json:"cpuPerReadUs"`
	RoundMs        num   `json:"roundMs"`
	IdleHeldS      num   `json:"idleHeldS,omitempty"`
	HistoryLines   int64 `json:"historyLines"`
	// Receivers: with -ws, the message phase as each kind of receiver saw it.
	Receivers []*receiverResult `json:"receivers,omitempty"`
	// Replay is the replay mode's account of replays and of the messages sent during the join.
	Replay *replayResult `json:"replay,omitempty"`
}

type replayResult struct {
	FillLines   int    `json:"fillLines"`
	FillMs      num    `json:"fillMs"`
	Joiners     int    `json:"joiners"`
	Full        int64  `json:"fullReplays"`
	Bad         int64  `json:"badReplays"`
	FirstBad    string `json:"firstBad"`
	Lines       int64  `json:"historyLines"`
	Live        int64  `json:"live"`
	Replayed    int64  `json:"replayed"`
	OutOfWindow int64  `json:"outOfWindow"`
}

// traffic sends for warm-up plus duration, then waits for the drain.
func (g *gen) traffic(clients []*client) trafficResult {
	cfg := g.cfg
	var r trafficResult
	nSenders := g.senders
	if nSenders > len(clients) {
		nSenders = len(clients)
	}
	p := &plan{
		total:      int64(math.Round((cfg.warmup + cfg.duration) * cfg.rate)),
		intervalUs: 1e6 / cfg.rate,
		senders:    nSenders,
		template:   lineTemplate(cfg.size),
		grace:      10 * time.Second,
	}
	// Receivers of each kind count apart: each gets every message but its own.
	var receivers, expected [3]int64
	for _, c := range clients {
		receivers[c.kind()]++
	}
	for _, c := range clients[:nSenders] {
		for k := range expected {
			n := receivers[k]
			if k == c.kind() {
				n--
			}
			expected[k] += n * p.total
		}
	}
	r.Expected = expected[kindTCP] + expected[kindWS] + expected[kindIRC]
	byKind := [3]*stats{{}, {}, {}}
	delivered := func() int64 {
		return atomic.LoadInt64(&byKind[kindTCP].delivered) + atomic.LoadInt64(&byKind[kindWS].delivered) +
			atomic.LoadInt64(&byKind[kindIRC].delivered)
	}
	closed0 := atomic.LoadInt64(&g.closed)
	u0, s0 := cpuSeconds()
	p.t0 = monoUs() + 20000
	for k, s := range byKind {
		s.timedFromUs = p.t0 + int64(cfg.warmup*1e6)
		g.cur[k].Store(s)
	}
	p.endAt = p.dueAt(nSenders-1, p.total-1)
	senders := make([]*sender, nSenders)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range senders {
		senders[i] = &sender{id: i, c: clients[i], rng: seed()}
		wg.Add(1)
		go func(sd *sender) {
			defer wg.Done()
			p.send(sd)
		}(senders[i])
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Duration(p.endAt-monoUs())*time.Microsecond + p.grace):
	}
	sent := func() int64 {
		var n int64
		for _, sd := range senders {
			n += atomic.LoadInt64(&sd.sent)
		}
		return n
	}
	// Drain: until everything arrived, or nothing moved for 2 s, or 30 s passed.
	drainStart := monoUs()
	lastProgress, lastCount := drainStart, int64(-1)
	for delivered() < r.Expected {
		now := monoUs()
		if count := delivered() + sent(); count != lastCount {
			lastCount, lastProgress = count, now
		}
		if now-lastProgress > 2e6 || now-drainStart > 30e6 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	end := monoUs()
	u1, s1 := cpuSeconds()
	g.setStats(&stats{}) // what arrives from now on is not this phase's
	s := mergeStats(mergeStats(byKind[kindTCP], byKind[kindWS]), byKind[kindIRC])
	if cfg.ws > 0 || cfg.irc > 0 {
		wsName := "ws"
		if cfg.wsJSON {
			wsName = "ws-json"
		}
		for k, name := range []string{"tcp", wsName, "irc"} {
			if receivers[k] > 0 {
				r.Receivers = append(r.Receivers, receiverSummary(name, receivers[k], expected[k], byKind[k]))
			}
		}
	}
	r.Sent = sent()
	r.Delivered = atomic.LoadInt64(&s.delivered)
	r.Lost = r.Expected - r.Delivered
	r.Reordered = atomic.LoadInt64(&s.reordered)
	r.Corrupted = atomic.LoadInt64(&s.corrupted)
	r.Errors = atomic.LoadInt64(&s.errors)
	r.Notices = atomic.LoadInt64(&s.notices)
	r.Echoes = atomic.LoadInt64(&s.echoes)
	r.Unsent = p.total*int64(nSenders) - r.Sent
	r.Dropped = atomic.LoadInt64(&g.closed) - closed0
	summarize(&r, s)
	r.LagP99Ms, r.LagMaxMs = num(p.lag.quantile(0.99)/1000), num(float64(p.lag.max)/1000)
	r.DeliveryS = num(math.Max(float64(atomic.LoadInt64(&s.lastDeliveryUs)-p.t0), 1000) / 1e6)
	r.DeliveriesPerS = num(float64(r.Delivered)) / r.DeliveryS
	r.UserS, r.SysS = num(u1-u0), num(s1-s0)
	r.WallS = num(float64(end-p.t0) / 1e6)
	r.CPUPct = 100 * (r.UserS + r.SysS) / r.WallS
	r.CPUPerReadUs, r.RoundMs = num(math.NaN()), num(math.NaN())
	if r.Reads > 0 {
		perRead := float64(r.UserS+r.SysS) / float64(r.Reads)
		r.CPUPerReadUs = num(perRead * 1e6)
		r.RoundMs = num(perRead * 1000 * float64(len(clients)-1))
	}
	return r
}

// receiverResult is what the receivers of one kind (transport) got in the message phase.
type receiverResult struct {
	Transport      string `json:"transport"`
	Receivers      int64  `json:"receivers"`
	Expected       int64  `json:"expected"`
	Delivered      int64  `json:"delivered"`
	Lost           int64  `json:"lost"`
	Reordered      int64  `json:"reordered"`
	Corrupted      int64  `json:"corrupted"`
	Errors         int64  `json:"serverErrors"`
	Echoes         int64  `json:"echoes"`
	FirstError     string `json:"firstError"`
	P50Ms          num    `json:"p50Ms"`
	P99Ms          num    `json:"p99Ms"`
	MaxMs          num    `json:"maxMs"`
	ArrivalP50Ms   num    `json:"arrivalP50Ms"`
	ArrivalP99Ms   num    `json:"arrivalP99Ms"`
	ArrivalMaxMs   num    `json:"arrivalMaxMs"`
	ReadDelayP50Ms num    `json:"readDelayP50Ms"`
	ReadDelayP99Ms num    `json:"readDelayP99Ms"`
	Reads          int64  `json:"reads"`
	Bytes          int64  `json:"bytes"`
}

// receiverSummary is what n receivers of one transport, expected to get expected messages, got.
func receiverSummary(transport string, n, expected int64, s *stats) *receiverResult {
	var t trafficResult
	summarize(&t, s)
	delivered := atomic.LoadInt64(&s.delivered)
	return &receiverResult{
		Transport: transport, Receivers: n, Expected: expected, Delivered: delivered,
		Lost: expected - delivered, Reordered: atomic.LoadInt64(&s.reordered),
		Corrupted: atomic.LoadInt64(&s.corrupted), Errors: atomic.LoadInt64(&s.errors),
		Echoes:     atomic.LoadInt64(&s.echoes),
		FirstError: t.FirstError, P50Ms: t.P50Ms, P99Ms: t.P99Ms, MaxMs: t.MaxMs,
		ArrivalP50Ms: t.ArrivalP50Ms, ArrivalP99Ms: t.ArrivalP99Ms, ArrivalMaxMs: t.ArrivalMaxMs,
		ReadDelayP50Ms: t.ReadDelayP50Ms, ReadDelayP99Ms: t.ReadDelayP99Ms,
		Reads: t.Reads, Bytes: t.Bytes,
	}
}

// add folds o's counts into h.
func (h *histogram) add(o *histogram) {
	for b := range o.counts {
		if n := atomic.LoadUint32(&o.counts[b]); n > 0 {
			atomic.AddUint32(&h.counts[b], n)
		}
	}
	atomic.AddInt64(&h.total, atomic.LoadInt64(&o.total))
	if m := atomic.LoadInt64(&o.max); m > atomic.LoadInt64(&h.max) {
		atomic.StoreInt64(&h.max, m)
	}
}

// mergeStats is what a and b counted together.
func mergeStats(a, b *stats) *stats {
	m := &stats{timedFromUs: a.timedFromUs}
	for _, s := range []*stats{a, b} {
		m.latency.add(&s.latency)
		m.arrival.add(&s.arrival)
		m.readDelay.add(&s.readDelay)
		m.same.add(&s.same)
		m.cross.add(&s.cross)
		for _, f := range [][2]*int64{
			{&m.delivered, &s.delivered}, {&m.corrupted, &s.corrupted},
			{&m.reordered, &s.reordered}, {&m.errors, &s.errors}, {&m.reads, &s.reads},
			{&m.bytes, &s.bytes}, {&m.stamped, &s.stamped}, {&m.notices, &s.notices},
			{&m.echoes, &s.echoes}, {&m.historyLines, &s.historyLines}, {&m.replayed, &s.replayed},
		} {
			*f[0] += atomic.LoadInt64(f[1])
		}
		if last := atomic.LoadInt64(&s.lastDeliveryUs); last > m.lastDeliveryUs {
			m.lastDeliveryUs = last
		}
		s.errMu.Lock()
		if m.firstError == "" {
			m.firstError = s.firstError
		}
		s.errMu.Unlock()
	}
	return m
}

// summarize fills in what r reports of s: errors, latencies, reads, replayed lines.
func summarize(r *trafficResult, s *stats) {
	s.errMu.Lock()
	r.FirstError = s.firstError
	s.errMu.Unlock()
	r.HistoryLines = atomic.LoadInt64(&s.historyLines)
	ms := func(us float64) num { return num(us / 1000) }
	r.P50Ms, r.P99Ms = ms(s.latency.quantile(0.5)), ms(s.latency.quantile(0.99))
	r.MaxMs = ms(float64(atomic.LoadInt64(&s.latency.max)))
	r.Stamped = atomic.LoadInt64(&s.stamped)
	if r.Stamped > 0 {
		r.ArrivalP50Ms, r.ArrivalP99Ms = ms(s.arrival.quantile(0.5)), ms(s.arrival.quantile(0.99))
		r.ArrivalMaxMs = ms(float64(s.arrival.max))
		r.ReadDelayP50Ms = ms(s.readDelay.quantile(0.5))
		r.ReadDelayP99Ms = ms(s.readDelay.quantile(0.99))
		r.ReadDelayMaxMs = ms(float64(s.readDelay.max))
	} else {
		nan := num(math.NaN())
		r.ArrivalP50Ms, r.ArrivalP99Ms, r.ArrivalMaxMs = nan, nan, nan
		r.ReadDelayP50Ms, r.ReadDelayP99Ms, r.ReadDelayMaxMs = nan, nan, nan
	}
	r.Reads, r.Bytes = atomic.LoadInt64(&s.reads), atomic.LoadInt64(&s.bytes)
	if atomic.LoadInt64(&s.cross.total) > 0 {
		r.SameP50Ms, r.SameP99Ms = ms(s.same.quantile(0.5)), ms(s.same.quantile(0.99))
		r.CrossP50Ms, r.CrossP99Ms = ms(s.cross.quantile(0.5)), ms(s.cross.quantile(0.99))
	}
}

// hold keeps the clients connected for d, measuring the CPU that costs.
func (g *gen) hold(d time.Duration) trafficResult {
	var r trafficResult
	s := &stats{}
	g.setStats(s)
	u0, s0 := cpuSeconds()
	start := monoUs()
	time.Sleep(d)
	end := monoUs()
	u1, s1 := cpuSeconds()
	nan := num(math.NaN())
	r.P50Ms, r.P99Ms, r.MaxMs = nan, nan, nan
	r.ArrivalP50Ms, r.ArrivalP99Ms, r.ArrivalMaxMs = nan, nan, nan
	r.ReadDelayP50Ms, r.ReadDelayP99Ms, r.ReadDelayMaxMs = nan, nan, nan
	r.LagP99Ms, r.LagMaxMs, r.DeliveriesPerS, r.DeliveryS = nan, nan, nan, nan
	r.CPUPerReadUs, r.RoundMs = nan, nan
	r.Corrupted = atomic.LoadInt64(&s.corrupted)
	r.Errors = atomic.LoadInt64(&s.errors)
	r.Notices = atomic.LoadInt64(&s.notices)
	r.HistoryLines = atomic.LoadInt64(&s.historyLines)
	r.Reads, r.Bytes = atomic.LoadInt64(&s.reads), atomic.LoadInt64(&s.bytes)
	r.UserS, r.SysS = num(u1-u0), num(s1-s0)
	r.WallS = num(float64(end-start) / 1e6)
	r.CPUPct = 100 * (r.UserS + r.SysS) / r.WallS
	r.IdleHeldS = r.WallS
	return r
}

// ---------------------------------------------------------------------------
// Replay mode: a crowd joins a room with history while one client sends
// ---------------------------------------------------------------------------

// fill has client 0 send -replay-fill lines into the room in one write (sequence numbers from
// 0), and waits until client 1, the witness, has them all: the room's history then holds them.
func (g *gen) fill(pre []*client) (time.Duration, error) {
	n := g.cfg.replayFill
	s := &stats{}
	g.setStats(s)
	tmpl := lineTemplate(g.cfg.size)
	l := len(tmpl)
	buf := make([]byte, n*l)
	ts := monoUs()
	for k := 0; k < n; k++ {
		copy(buf[k*l:], tmpl)
		stampLine(buf[k*l:(k+1)*l], 0, int64(k), ts)
	}
	start := time.Now()
	pre[0].conn.SetWriteDeadline(start.Add(30 * time.Second))
	_, err := pre[0].conn.Write(buf)
	pre[0].conn.SetWriteDeadline(time.Time{})
	if err != nil {
		return 0, fmt.Errorf("fill not sent: %w", err)
	}
	for atomic.LoadInt64(&s.delivered) < int64(n) {
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("the witness got %d of the %d lines", atomic.LoadInt64(&s.delivered), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start), nil
}

// sendDuringJoin is the replay mode's sender, open loop: message k (sequence number
// -replay-fill + k) is due k / -rate seconds after the start; it stops once joined is 1 and
// at least -replay-min went out. It returns the number sent.
func (g *gen) sendDuringJoin(c *client, joined *int32) int64 {
	cfg := g.cfg
	line := lineTemplate(cfg.size)
	intervalUs := 1e6 / cfg.rate
	min := int64(cfg.replayMin)
	c.conn.SetWriteDeadline(time.Now().Add(cfg.connectTimeout + 10*time.Second))
	t0 := monoUs()
	for k := int64(0); ; k++ {
		if k >= min && atomic.LoadInt32(joined) == 1 {
			return k
		}
		if d := t0 + int64(float64(k)*intervalUs) - monoUs(); d > 0 {
			time.Sleep(time.Duration(d) * time.Microsecond)
		}
		if k >= min && atomic.LoadInt32(joined) == 1 {
			return k
		}
		stampLine(line, 0, int64(cfg.replayFill)+k, monoUs())
		if _, err := c.conn.Write(line); err != nil {
			return k
		}
	}
}

// replayJoin connects the joiners while client 0 sends, reports them to joinedEvent once all
// are in with their replay, then waits until every copy of every message arrived: each joiner
// has each one once, live or in its replay, but those sent before it came in that are older
// than its replay's lines; the witness has them all live.
func (g *gen) replayJoin(pre []*client, joinedEvent func(connectResult)) trafficResult {
	cfg := g.cfg
	var r trafficResult
	s := &stats{}
	g.setStats(s)
	closed0 := atomic.LoadInt64(&g.closed)
	u0, s0 := cpuSeconds()
	start := monoUs()
	var joined int32
	sentCh := make(chan int64, 1)
	go func() { sentCh <- g.sendDuringJoin(pre[0], &joined) }()
	conn := g.connect(2, len(g.clients), true)
	atomic.StoreInt32(&joined, 1)
	debug.SetGCPercent(100)
	joinedEvent(conn)
	sent := <-sentCh
	joiners := conn.Present
	fill := int32(cfg.replayFill)
	expected := func() (int64, int64) {
		var out int64
		for _, c := range joiners {
			before := atomic.LoadInt32(&c.replayHigh) - fill + 1
			if want := atomic.LoadInt32(&c.histWant); atomic.LoadInt32(&c.histDone) == 1 && before > want {
				out += int64(before - want)
			}
		}
		return sent*int64(len(joiners)+1) - out, out
	}
	reached := func() int64 {
		return atomic.LoadInt64(&s.delivered) - atomic.LoadInt64(&s.reordered) +
			atomic.LoadInt64(&s.replayed)
	}
	drainStart := monoUs()
	lastProgress, lastCount := drainStart, int64(-1)
	for {
		want, _ := expected()
		now, got := monoUs(), reached()
		if got >= want {
			break
		}
		if got != lastCount {
			lastCount, lastProgress = got, now
		}
		if now-lastProgress > 2e6 || now-drainStart > 30e6 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	end := monoUs()
	u1, s1 := cpuSeconds()
	g.setStats(&stats{})
	total, outOfWindow := expected()
	r.Sent, r.Expected, r.Delivered = sent, total, reached()
	r.Lost = total - r.Delivered
	r.Reordered = atomic.LoadInt64(&s.reordered)
	r.Corrupted = atomic.LoadInt64(&s.corrupted)
	r.Errors = atomic.LoadInt64(&s.errors)
	r.Dropped = atomic.LoadInt64(&g.closed) - closed0
	summarize(&r, s)
	nan := num(math.NaN())
	r.LagP99Ms, r.LagMaxMs, r.DeliveriesPerS, r.DeliveryS = nan, nan, nan, nan
	r.UserS, r.SysS = num(u1-u0), num(s1-s0)
	r.WallS = num(float64(end-start) / 1e6)
	r.CPUPct = 100 * (r.UserS + r.SysS) / r.WallS
	r.CPUPerReadUs, r.RoundMs = nan, nan
	if r.Reads > 0 {
		perRead := float64(r.UserS+r.SysS) / float64(r.Reads)
		r.CPUPerReadUs = num(perRead * 1e6)
		r.RoundMs = num(perRead * 1000 * float64(len(joiners)))
	}
	rr := &replayResult{
		FillLines:   cfg.replayFill,
		FillMs:      g.fillMs,
		Joiners:     cfg.clients,
		Lines:       r.HistoryLines,
		Live:        atomic.LoadInt64(&s.delivered),
		Replayed:    atomic.LoadInt64(&s.replayed),
		OutOfWindow: outOfWindow,
	}
	for _, c := range joiners {
		want, got := atomic.LoadInt32(&c.histWant), atomic.LoadInt32(&c.histGot)
		done := atomic.LoadInt32(&c.histDone) == 1
		if done && want == int32(cfg.replayLines) && got == want {
			rr.Full++
			continue
		}
		rr.Bad++
		if rr.FirstBad == "" {
			header := "no header"
			if want >= 0 {
				header = fmt.Sprintf("header said %d", want)
			}
			end := ""
			if !done {
				end = ", no end"
			}
			rr.FirstBad = fmt.Sprintf("%s%d: %s, %d lines%s", cfg.name, c.idx, header, got, end)
		}
	}
	r.Replay = rr
	return r
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

// num is a float that is written to JSON rounded, and as null when it is not finite.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

// cpuSeconds is this process's user and system CPU time, all threads.
func cpuSeconds() (num, num) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return num(math.NaN()), num(math.NaN())
	}
	tv := func(t syscall.Timeval) num { return num(float64(t.Sec) + float64(t.Usec)/1e6) }
	return tv(ru.Utime), tv(ru.Stime)
}

type config struct {
	addr           string
	host           string
	clients        int
	senders        int
	rate           float64
	duration       float64
	warmup         float64
	size           int
	name           string
	mode           string
	ready          string
	serverPid      int
	concurrency    int
	idle           float64
	connectTimeout time.Duration
	procs          int
	control        bool
	// Replay mode (replayFill > 0): see replayJoin.
	replayFill, replayLines, replayMin int
	// ws of the clients connect over a WebSocket to wsAddr (see ws.go).
	ws     int
	wsAddr string
	// wsJSON: those clients speak the subprotocol chat.v1.json (see wsjson.go).
	wsJSON bool
	// addr2: a second server of the same cluster, for the odd-numbered clients.
	addr2 string
	// irc of the clients connect to ours' IRC listener at ircAddr (see irc.go).
	irc     int
	ircAddr string
}

type output struct {
	Event     string  `json:"event,omitempty"`
	Generator string  `json:"generator"`
	Mode      string  `json:"mode"`
	Ready     string  `json:"ready"`
	Clients   int     `json:"clients"`
	Senders   int     `json:"senders"`
	Rate      float64 `json:"rate"`
	Size      int     `json:"size"`
	Procs     int     `json:"procs"`
	WS        int     `json:"ws"`
	IRC       int     `json:"irc"`
	*connectResult
	Traffic *trafficResult `json:"traffic,omitempty"`
}

func emit(o output) {
	b, err := json.Marshal(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crowdgen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(b, '\n'))
}

func parseFlags() (config, error) {
	var c config
	var timeout float64
	flag.StringVar(&c.addr, "addr", "127.0.0.1:9000", "server `host:port`")
	flag.IntVar(&c.clients, "clients", 5000, "clients to connect")
	flag.IntVar(&c.senders, "senders", 1, "clients that also send (the first ones)")
	flag.Float64Var(&c.rate, "rate", 10, "messages per second per sender")
	flag.Float64Var(&c.duration, "duration", 5, "timed sending, `seconds`")
	flag.Float64Var(&c.warmup, "warmup", 1, "sending before that, not timed, `seconds`")
	flag.IntVar(&c.size, "size", 64, "payload `bytes`, without prefix and newline")
	flag.StringVar(&c.name, "name", "c", "name prefix (mode ours): clients are PREFIX0, PREFIX1…")
	flag.StringVar(&c.mode, "mode", "ours", "ours (greets, asks for a name, prefixes \"NAME: \"), "+
		"raw (relays bytes as they are), ncat (prefixes \"<userN> \")")
	flag.StringVar(&c.ready, "ready", "auto", "when a client is in the room: hello, probe, "+
		"accepted (needs -server-pid), auto (hello for ours, probe otherwise)")
	flag.IntVar(&c.serverPid, "server-pid", 0, "the server's process id (for -ready accepted)")
	flag.IntVar(&c.concurrency, "concurrency", 200, "connects in flight at once")
	flag.Float64Var(&c.idle, "idle", 0, "no traffic: connect, hold the clients `seconds`, report")
	flag.Float64Var(&timeout, "connect-timeout", 30, "give up connecting after `seconds`")
	flag.IntVar(&c.procs, "procs", 1, "GOMAXPROCS: threads running Go code at once")
	flag.BoolVar(&c.control, "control", false, "driven over stdin/stdout by a parent (bench.ts)")
	flag.IntVar(&c.replayFill, "replay-fill", 0, "replay mode: a sender fills the room with `N` "+
		"lines (a witness checks), then -clients join at once while it sends at -rate; 0 = off")
	flag.IntVar(&c.replayLines, "replay-lines", 20, "replay mode: history `lines` each joiner "+
		"must be replayed (the server's --replay)")
	flag.IntVar(&c.replayMin, "replay-min", 3, "replay mode: messages sent during the join "+
		"even if it ends sooner")
	flag.IntVar(&c.ws, "ws", 0, "clients (of -clients) that connect over a WebSocket to -ws-addr "+
		"instead, spread evenly among them (the senders too); needs -mode ours")
	flag.StringVar(&c.addr2, "addr2", "", "a second server of the same cluster (`host:port`, same "+
		"host as -addr): the odd-numbered clients connect there, and latency is reported for "+
		"deliveries within one server and across the two")
	flag.BoolVar(&c.wsJSON, "ws-json", false, "the -ws clients ask for the subprotocol "+
		wsJSONProtocol+" and speak it: JSON objects, not lines; a server that does not agree "+
		"to it fails their handshake")
	flag.StringVar(&c.wsAddr, "ws-addr", "", "the server's WebSocket `host:port` (GET "+wsPath+")")
	flag.IntVar(&c.irc, "irc", 0, "clients (of -clients) that connect to -irc-addr as IRC clients "+
		"instead, spread evenly among them (the senders too); needs -mode ours and no -ws")
	flag.StringVar(&c.ircAddr, "irc-addr", "", "the server's IRC `host:port` (server.ts --irc)")
	flag.Parse()
	c.connectTimeout = time.Duration(timeout * float64(time.Second))
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return c, err
	}
	c.host = host
	if c.ready == "auto" {
		c.ready = "probe"
		if c.mode == "ours" {
			c.ready = "hello"
		}
	}
	if c.replayFill > 0 {
		c.senders = 1 // client 0; client 1 witnesses the fill; the joiners come after them
		if c.mode != "ours" || c.ready != "hello" || c.idle > 0 || c.replayLines < 1 ||
			c.replayMin < 0 {
			return c, errors.New("-replay-fill needs -mode ours, -ready hello, no -idle, " +
				"-replay-lines of at least 1 and -replay-min of at least 0")
		}
	}
	switch {
	case c.mode != "ours" && c.mode != "raw" && c.mode != "ncat":
		return c, fmt.Errorf("-mode must be ours, raw or ncat, not %q", c.mode)
	case c.ready != "hello" && c.ready != "probe" && c.ready != "accepted":
		return c, fmt.Errorf("-ready must be hello, probe, accepted or auto, not %q", c.ready)
	case c.ready == "hello" && c.mode != "ours":
		return c, errors.New("-ready hello needs -mode ours")
	case c.ready == "accepted" && c.serverPid <= 0:
		return c, errors.New("-ready accepted needs -server-pid")
	case c.clients < 2 && c.idle == 0:
		return c, errors.New("-clients must be at least 2")
	case c.clients < 1:
		return c, errors.New("-clients must be at least 1")
	case c.idle == 0 && (c.senders < 1 || c.senders >= c.clients || c.senders > 9999):
		return c, errors.New("-senders must be at least 1, below -clients and at most 9999")
	case c.idle == 0 && (c.rate <= 0 || c.duration <= 0 || c.warmup < 0):
		return c, errors.New("-rate and -duration must be positive, -warmup not negative")
	case c.size < minPayload || c.size > 1000:
		return c, fmt.Errorf("-size must be between %d and 1000", minPayload)
	case c.concurrency < 1 || c.procs < 1 || timeout <= 0 || c.idle < 0:
		return c, errors.New("-concurrency, -procs and -connect-timeout must be positive")
	case c.ws < 0 || c.ws > c.clients:
		return c, errors.New("-ws must be between 0 and -clients")
	case c.ws > 0 && (c.mode != "ours" || c.ready != "hello" || c.replayFill > 0 || c.wsAddr == ""):
		return c, errors.New("-ws needs -mode ours, -ready hello, -ws-addr and no -replay-fill")
	case c.wsJSON && c.ws == 0:
		return c, errors.New("-ws-json needs -ws")
	case c.irc < 0 || c.irc > c.clients:
		return c, errors.New("-irc must be between 0 and -clients")
	case c.irc > 0 && (c.mode != "ours" || c.ready != "hello" || c.replayFill > 0 ||
		c.ircAddr == "" || c.ws > 0):
		return c, errors.New("-irc needs -mode ours, -ready hello, -irc-addr, no -ws and no -replay-fill")
	}
	if c.idle > 0 {
		c.senders = 0
	}
	return c, nil
}

// ipv4Addr parses flag's value as IPv4:PORT, or exits with a usage error.
func ipv4Addr(flag, value string) (net.IP, int) {
	host, portText, err := net.SplitHostPort(value)
	port := 0
	if err == nil {
		port, err = strconv.Atoi(portText)
	}
	ip := net.ParseIP(host).To4()
	if err != nil || ip == nil {
		fmt.Fprintf(os.Stderr, "crowdgen: %s must be an IPv4 address and a port\n", flag)
		os.Exit(2)
	}
	return ip, port
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crowdgen:", err)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(cfg.procs)
	_, portText, _ := net.SplitHostPort(cfg.addr)
	port, err := strconv.Atoi(portText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crowdgen: bad port in -addr:", err)
		os.Exit(2)
	}
	var wsIP, ircIP net.IP
	var wsPort, ircPort, port2 int
	if cfg.ws > 0 {
		wsIP, wsPort = ipv4Addr("-ws-addr", cfg.wsAddr)
	}
	if cfg.irc > 0 {
		ircIP, ircPort = ipv4Addr("-irc-addr", cfg.ircAddr)
	}
	if cfg.addr2 != "" {
		if cfg.ws > 0 {
			fmt.Fprintln(os.Stderr, "crowdgen: -addr2 does not go with -ws")
			os.Exit(2)
		}
		_, port2 = ipv4Addr("-addr2", cfg.addr2)
	}
	g := &gen{
		port2:   port2,
		cfg:     cfg,
		wsIP:    wsIP,
		wsPort:  wsPort,
		ircIP:   ircIP,
		ircPort: ircPort,
		named:   cfg.mode == "ours",
		prefix:  map[string]prefixKind{"ours": prefixName, "raw": prefixNone, "ncat": prefixNcat}[cfg.mode],
		senders: cfg.senders,
		port:    port,
	}
	g.setStats(&stats{})
	joiners := 0
	if cfg.replayFill > 0 {
		joiners = 2 // the sender and the witness come first
	}
	g.clients = make([]*client, joiners+cfg.clients)
	out := output{
		Generator: "crowdgen " + runtime.Version(),
		Mode:      cfg.mode,
		Ready:     cfg.ready,
		Clients:   cfg.clients,
		Senders:   cfg.senders,
		Rate:      cfg.rate,
		Size:      cfg.size,
		Procs:     cfg.procs,
		WS:        cfg.ws,
		IRC:       cfg.irc,
	}
	stdin := bufio.NewReader(os.Stdin)
	// wait reads the parent's next line; false if it is not "go" (or stdin closed).
	wait := func() bool {
		line, err := stdin.ReadString('\n')
		return err == nil && strings.TrimSpace(line) == "go"
	}
	if cfg.control {
		emit(output{Event: "started", Generator: out.Generator, Mode: cfg.mode, Ready: cfg.ready})
		if !wait() {
			os.Exit(0)
		}
	}
	var conn connectResult
	if cfg.replayFill > 0 {
		conn = g.connect(0, 2, false)
		if !conn.TimedOut {
			d, err := g.fill(conn.Present)
			g.fillMs = num(float64(d) / 1e6)
			if err != nil {
				conn.TimedOut, conn.FirstFailure = true, err.Error()
			}
		}
	} else {
		conn = g.connect(0, cfg.clients, false)
	}
	out.connectResult = &conn
	proceed := !conn.TimedOut
	if cfg.control {
		out.Event = "connected"
		emit(out)
	}
	debug.SetGCPercent(100)
	runtime.GC()
	if cfg.control {
		proceed = wait() && proceed
	}
	if proceed {
		var t trafficResult
		if cfg.idle > 0 {
			t = g.hold(time.Duration(cfg.idle * float64(time.Second)))
		} else if cfg.replayFill > 0 {
			t = g.replayJoin(conn.Present, func(joined connectResult) {
				if cfg.control {
					o := out
					o.Event, o.connectResult = "joined", &joined
					emit(o)
				}
			})
		} else {
			t = g.traffic(conn.Present)
		}
		out.Traffic = &t
	}
	if cfg.control {
		out.Event = "done"
	}
	emit(out)
	if cfg.control {
		// Keep the connections until the parent closes stdin (it stops the server first).
		for {
			if _, err := stdin.ReadString('\n'); err != nil {
				break
			}
		}
	}
}
