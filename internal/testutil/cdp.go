package testutil

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// CDP is a Chrome DevTools Protocol client over a minimal WebSocket
// (RFC 6455: text frames, client masking), enough to drive Node's
// inspector without a WebSocket module.
type CDP struct {
	t      testing.TB
	conn   net.Conn
	r      *bufio.Reader
	id     int
	events []cdpMessage
}

// cdpMessage is a response (ID set) or an event (Method set).
type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// DialCDP opens the WebSocket at path on addr. Its reads and writes give
// up a minute after the last Call, so a test that waits for an event that
// never comes fails instead of hanging.
func DialCDP(t testing.TB, addr, path string) *CDP {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, base64.StdEncoding.EncodeToString(key))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("WebSocket handshake with %s%s: %v", addr, path, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket handshake with %s%s: %s", addr, path, resp.Status)
	}
	return &CDP{t: t, conn: conn, r: r}
}

// Call sends method with params and returns its result, keeping the
// events that arrive before it.
func (c *CDP) Call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.id++
	msg, err := json.Marshal(map[string]any{"id": c.id, "method": method, "params": params})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		c.t.Fatal(err)
	}
	c.write(msg)
	for {
		m := c.read()
		switch {
		case m.ID == c.id && len(m.Error) > 0:
			c.t.Fatalf("%s: %s", method, m.Error)
		case m.ID == c.id:
			return m.Result
		case m.Method != "":
			c.events = append(c.events, m)
		}
	}
}

// Event returns the first event named method, waiting for it.
func (c *CDP) Event(method string) json.RawMessage {
	c.t.Helper()
	for i, m := range c.events {
		if m.Method == method {
			c.events = append(c.events[:i], c.events[i+1:]...)
			return m.Params
		}
	}
	for {
		if m := c.read(); m.Method == method {
			return m.Params
		} else if m.Method != "" {
			c.events = append(c.events, m)
		}
	}
}

// write sends one masked text frame.
func (c *CDP) write(payload []byte) {
	c.t.Helper()
	hdr := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, 0x80|127), uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	if _, err := c.conn.Write(append(append(hdr, mask...), masked...)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message, joining continuation frames.
func (c *CDP) read() cdpMessage {
	c.t.Helper()
	var payload []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			c.t.Fatalf("reading from the inspector: %v", err)
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			_, _ = io.ReadFull(c.r, b[:])
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, _ = io.ReadFull(c.r, b[:])
			n = binary.BigEndian.Uint64(b[:])
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c.r, data); err != nil {
			c.t.Fatalf("reading from the inspector: %v", err)
		}
		switch op := h[0] & 0x0f; op {
		case 0x8:
			c.t.Fatalf("the inspector closed the WebSocket: %q", data)
		case 0x9, 0xa:
			continue
		}
		payload = append(payload, data...)
		if h[0]&0x80 != 0 {
			break
		}
	}
	var m cdpMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		c.t.Fatalf("inspector message %q: %v", payload, err)
	}
	return m
}

// WSPath is the path of a webSocketDebuggerUrl (ws://HOST:PORT/PATH),
// whose host is the container's.
func WSPath(url string) string {
	rest := strings.TrimPrefix(url, "ws://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// InspectorTarget waits until Node's inspector at addr answers
// /json/version as node.js and lists exactly one target, and returns that
// target's script URL and the path of its WebSocket (for DialCDP).
func InspectorTarget(t testing.TB, addr string) (url, ws string) {
	t.Helper()
	get := func(ctx context.Context, path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return string(b), err
	}
	WaitFor(t, 60*time.Second, "the inspector on "+addr, func(ctx context.Context) (bool, string) {
		body, err := get(ctx, "/json/version")
		if err != nil {
			return false, err.Error()
		}
		var v struct{ Browser string }
		if err := json.Unmarshal([]byte(body), &v); err != nil || !strings.HasPrefix(v.Browser, "node.js/") {
			return false, body
		}
		list, err := get(ctx, "/json/list")
		if err != nil {
			return false, err.Error()
		}
		var targets []struct{ URL, WebSocketDebuggerURL string }
		if err := json.Unmarshal([]byte(list), &targets); err != nil || len(targets) != 1 {
			return false, list
		}
		url, ws = targets[0].URL, WSPath(targets[0].WebSocketDebuggerURL)
		return true, ""
	})
	return url, ws
}
