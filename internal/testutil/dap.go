package testutil

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"testing"
	"time"
)

// DAP is a Debug Adapter Protocol client (Content-Length framing).
type DAP struct {
	t      testing.TB
	conn   net.Conn
	r      *bufio.Reader
	seq    int
	events []dapMessage
	resps  map[int]dapMessage
}

// dapMessage is a DAP response (RequestSeq set) or event (Event set).
type dapMessage struct {
	Type       string          `json:"type"`
	Event      string          `json:"event"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Body       json.RawMessage `json:"body"`
}

// DialDAP connects to debugpy at addr and initializes the session,
// retrying until debugpy answers (Docker's port binding accepts before
// the app listens); reads and writes give up after a minute.
func DialDAP(t testing.TB, addr string) *DAP {
	t.Helper()
	var d *DAP
	WaitFor(t, 60*time.Second, "debugpy answering initialize on "+addr, func(ctx context.Context) (bool, string) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		c := &DAP{t: t, conn: conn, r: bufio.NewReader(conn), resps: map[int]dapMessage{}}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		seq := c.Send("initialize", map[string]any{"clientID": "skiff-e2e", "adapterID": "debugpy", "linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path"})
		for {
			m, err := c.next()
			if err != nil {
				conn.Close()
				return false, err.Error()
			}
			if m.Type == "response" && m.RequestSeq == seq {
				break
			}
		}
		d = c
		return true, ""
	})
	t.Cleanup(func() { d.conn.Close() })
	if err := d.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return d
}

// Send sends a request and returns its seq.
func (d *DAP) Send(command string, args any) int {
	d.t.Helper()
	d.seq++
	b, err := json.Marshal(map[string]any{"seq": d.seq, "type": "request", "command": command, "arguments": args})
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(d.conn, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		d.t.Fatal(err)
	}
	return d.seq
}

// Response waits for the response to request seq and returns its body.
func (d *DAP) Response(seq int, command string) json.RawMessage {
	d.t.Helper()
	for {
		if m, ok := d.resps[seq]; ok {
			if !m.Success {
				d.t.Fatalf("DAP %s failed: %s %s", command, m.Message, m.Body)
			}
			return m.Body
		}
		d.read()
	}
}

// Call sends a request and waits for its response.
func (d *DAP) Call(command string, args any) json.RawMessage {
	d.t.Helper()
	return d.Response(d.Send(command, args), command)
}

// Event waits for the event named name and returns its body.
func (d *DAP) Event(name string) json.RawMessage {
	d.t.Helper()
	for {
		for i, m := range d.events {
			if m.Event == name {
				d.events = append(d.events[:i], d.events[i+1:]...)
				return m.Body
			}
		}
		d.read()
	}
}

// read reads one message into events or resps.
func (d *DAP) read() {
	d.t.Helper()
	m, err := d.next()
	if err != nil {
		d.t.Fatalf("reading from debugpy: %v", err)
	}
	switch m.Type {
	case "event":
		d.events = append(d.events, m)
	case "response":
		d.resps[m.RequestSeq] = m
	}
}

// next reads one message.
func (d *DAP) next() (dapMessage, error) {
	var m dapMessage
	hdr, err := textproto.NewReader(d.r).ReadMIMEHeader()
	if err != nil {
		return m, err
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		return m, fmt.Errorf("bad Content-Length in %v", hdr)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("message %q: %v", b, err)
	}
	return m, nil
}
