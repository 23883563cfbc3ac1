package agentproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	frames := []struct {
		f       Frame
		payload string
	}{
		{Frame{Kind: KindWrite, Path: "/app/a.txt", Mode: 0o644, Size: 5}, "hello"},
		{Frame{Kind: KindWrite, Path: "/app/run.sh", Mode: 0o755 | fs.ModeSetuid, Size: 0}, ""},
		{Frame{Kind: KindMkdir, Path: "/app/dir", Mode: 0o750}, ""},
		{Frame{Kind: KindLink, Path: "/app/home.html", Size: 10}, "index.html"},
		{Frame{Kind: KindPatch, Path: "/app/exe", Mode: 0o755, Size: 4}, "LPCH"},
		{Frame{Kind: KindDelete, Path: "/app/old"}, ""},
		{Frame{Kind: KindChmod, Path: "/app/a.txt", Mode: 0o600}, ""},
		{Frame{Kind: KindEnd}, ""},
		{Frame{Kind: KindFailed, Path: "/x", Size: 6}, "denied"},
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, fr := range frames {
		if err := enc.Encode(fr.f, strings.NewReader(fr.payload)); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	dec := NewDecoder(&buf)
	for i, want := range frames {
		f, payload, err := dec.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want.f.Mode &= fs.ModePerm // setuid, setgid and sticky are never carried
		if f != want.f {
			t.Errorf("frame %d = %+v, want %+v", i, f, want.f)
		}
		if i == 0 {
			continue // leave the payload unread: Next skips it
		}
		got, err := io.ReadAll(payload)
		if err != nil || string(got) != want.payload {
			t.Errorf("frame %d payload = %q, %v; want %q", i, got, err, want.payload)
		}
	}
	if _, _, err := dec.Next(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	var good bytes.Buffer
	enc := NewEncoder(&good)
	if err := enc.Encode(Frame{Kind: KindWrite, Path: "/app/a", Mode: 0o644, Size: 10}, strings.NewReader("0123456789")); err != nil {
		t.Fatal(err)
	}
	_ = enc.Flush()
	full := good.Bytes()

	t.Run("truncated content", func(t *testing.T) {
		t.Parallel()
		_, payload, err := NewDecoder(bytes.NewReader(full[:len(full)-3])).Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(payload); !errors.Is(err, ErrTruncated) {
			t.Errorf("reading a truncated payload: %v, want ErrTruncated", err)
		}
	})
	t.Run("truncated header", func(t *testing.T) {
		t.Parallel()
		_, _, err := NewDecoder(bytes.NewReader(full[:len(Magic)+3])).Next()
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("Next() = %v, want ErrTruncated", err)
		}
	})
	t.Run("empty stream", func(t *testing.T) {
		t.Parallel()
		if _, _, err := NewDecoder(strings.NewReader("")).Next(); err != io.EOF {
			t.Errorf("Next() = %v, want io.EOF", err)
		}
	})
	t.Run("not the protocol", func(t *testing.T) {
		t.Parallel()
		_, _, err := NewDecoder(strings.NewReader("sh: skiff-agent: not found\n")).Next()
		if err == nil || !strings.Contains(err.Error(), "not a skiff-agent stream") {
			t.Errorf("Next() = %v", err)
		}
	})
	t.Run("other version", func(t *testing.T) {
		t.Parallel()
		_, _, err := NewDecoder(strings.NewReader(Magic + "\x07")).Next()
		if err == nil || !strings.Contains(err.Error(), "protocol version 7 is not supported") {
			t.Errorf("Next() = %v", err)
		}
	})
	t.Run("the version before patches", func(t *testing.T) {
		t.Parallel()
		// An agent of the skiff before KindPatch announces version 4.
		_, _, err := NewDecoder(strings.NewReader(Magic + "\x04")).Next()
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Got != 4 || !strings.Contains(err.Error(), "(this side speaks 5)") {
			t.Errorf("Next() = %v, want a VersionError for 4 saying this side speaks 5", err)
		}
	})
}

func TestEncodeShortPayload(t *testing.T) {
	t.Parallel()
	err := NewEncoder(io.Discard).Encode(Frame{Kind: KindWrite, Path: "/a", Size: 10}, strings.NewReader("abc"))
	if err == nil || !strings.Contains(err.Error(), "changed while it was sent") {
		t.Errorf("Encode() = %v", err)
	}
}

// TestDecoderBoundedAllocation checks that frames claiming huge paths or
// payloads make the decoder allocate nothing near those sizes.
func TestDecoderBoundedAllocation(t *testing.T) {
	huge := binary.AppendUvarint(nil, 1<<40)
	for name, stream := range map[string][]byte{
		"huge path":    append(append([]byte(Magic), Version, byte(KindWrite)), huge...),
		"huge payload": append(append([]byte(Magic), Version, byte(KindWrite), 1, '/', 0), huge...),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		dec := NewDecoder(bytes.NewReader(stream))
		for {
			if _, payload, err := dec.Next(); err != nil {
				break
			} else if _, err := io.Copy(io.Discard, payload); err != nil {
				break
			}
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes", name, got)
		}
	}
}
