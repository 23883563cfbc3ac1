package kube

import (
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/moby/spdystream/spdy"
)

// writeRecorder is a net.Conn that keeps each Write apart.
type writeRecorder struct {
	net.Conn
	writes [][]byte
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

// TestFrameConnWritesWholeFrames writes the frames of a forwarded
// request with SPDY's framer, which writes them field by field, through a
// frameConn: each frame goes out in one write, and the bytes are those
// the framer wrote.
func TestFrameConnWritesWholeFrames(t *testing.T) {
	frames := []spdy.Frame{
		// One header each: the framer writes a map's headers in its
		// random order.
		&spdy.SynStreamFrame{StreamId: 1, Headers: http.Header{"Streamtype": {"error"}}},
		&spdy.SynStreamFrame{StreamId: 3, Headers: http.Header{"Streamtype": {"data"}}},
		&spdy.DataFrame{StreamId: 3, Data: []byte("GET /version HTTP/1.1\r\nHost: x\r\n\r\n")},
		&spdy.DataFrame{StreamId: 3, Flags: spdy.DataFlagFin},
		&spdy.RstStreamFrame{StreamId: 1, Status: spdy.Cancel},
	}
	direct := &writeRecorder{}
	framed := &writeRecorder{}
	plain, err := spdy.NewFramer(direct, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := spdy.NewFramer(&frameConn{Conn: framed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := plain.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := whole.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(direct.writes) <= len(frames) {
		t.Fatalf("the framer wrote %d frames in %d writes; the test needs a framer that writes a frame in parts", len(frames), len(direct.writes))
	}
	if len(framed.writes) != len(frames) {
		t.Errorf("through frameConn, %d frames went out in %d writes, want one each", len(frames), len(framed.writes))
	}
	if got, want := bytes.Join(framed.writes, nil), bytes.Join(direct.writes, nil); !bytes.Equal(got, want) {
		t.Errorf("through frameConn the bytes differ:\n got %x\nwant %x", got, want)
	}
	// The frames read back.
	r, err := spdy.NewFramer(nil, bytes.NewReader(bytes.Join(framed.writes, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

// TestFrameConnKeepsAPartialFrame gives frameConn a frame and a half in
// one write, then the rest: the whole frame goes at once, the second once
// its last byte came.
func TestFrameConnKeepsAPartialFrame(t *testing.T) {
	frame := func(payload string) []byte {
		b := []byte{0, 0, 0, 3, 0, 0, 0, byte(len(payload))}
		return append(b, payload...)
	}
	a, b := frame("first"), frame("second")
	rec := &writeRecorder{}
	c := &frameConn{Conn: rec}
	both := append(bytes.Clone(a), b...)
	cut := len(a) + 5 // inside b's header
	for _, p := range [][]byte{both[:cut], both[cut : cut+4], both[cut+4:]} {
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
		}
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[0], a) || !bytes.Equal(rec.writes[1], b) {
		t.Errorf("writes = %x, want %x then %x", rec.writes, a, b)
	}
	if len(c.buf) != 0 {
		t.Errorf("%d bytes kept after whole frames", len(c.buf))
	}
}
