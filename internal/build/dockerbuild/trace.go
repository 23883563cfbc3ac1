package dockerbuild

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// BuildKit reports progress through the Engine API as aux messages with
// the id moby.buildkit.trace, each holding a protobuf-encoded
// moby.buildkit.v1.StatusResponse. Only the fields shown to a user are
// decoded here, by field number, which saves importing BuildKit's control
// API and its gRPC dependencies for four small messages.

// traceStatus is a StatusResponse: vertexes (1) and logs (3); statuses (2,
// transfer progress) and warnings (4) are skipped.
type traceStatus struct {
	vertexes []traceVertex
	logs     []traceLog
}

// traceVertex is a Vertex: digest (1), name (3), cached (4), started (5),
// completed (6) and error (7).
type traceVertex struct {
	digest, name         string
	cached               bool
	started, completed   time.Time
	hasStarted, hasEnded bool
	err                  string
}

// traceLog is a VertexLog: vertex (1), stream (3) and msg (4).
type traceLog struct {
	vertex string
	stream int64
	msg    []byte
}

func decodeTrace(b []byte) (*traceStatus, error) {
	st := &traceStatus{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			vx, err := decodeVertex(v)
			if err != nil {
				return fmt.Errorf("vertex: %w", err)
			}
			st.vertexes = append(st.vertexes, vx)
		case num == 3 && typ == protowire.BytesType:
			l, err := decodeLog(v)
			if err != nil {
				return fmt.Errorf("log: %w", err)
			}
			st.logs = append(st.logs, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decoding BuildKit progress: %w", err)
	}
	return st, nil
}

func decodeVertex(b []byte) (traceVertex, error) {
	var vx traceVertex
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			vx.digest = string(v)
		case num == 3 && typ == protowire.BytesType:
			vx.name = string(v)
		case num == 4 && typ == protowire.VarintType:
			vx.cached = n != 0
		case num == 5 && typ == protowire.BytesType:
			vx.started, err = decodeTimestamp(v)
			vx.hasStarted = true
		case num == 6 && typ == protowire.BytesType:
			vx.completed, err = decodeTimestamp(v)
			vx.hasEnded = true
		case num == 7 && typ == protowire.BytesType:
			vx.err = string(v)
		}
		return err
	})
	return vx, err
}

func decodeLog(b []byte) (traceLog, error) {
	var l traceLog
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			l.vertex = string(v)
		case num == 3 && typ == protowire.VarintType:
			l.stream = int64(n)
		case num == 4 && typ == protowire.BytesType:
			l.msg = append([]byte(nil), v...)
		}
		return nil
	})
	return l, err
}

// decodeTimestamp decodes a google.protobuf.Timestamp: seconds (1) and
// nanos (2).
func decodeTimestamp(b []byte) (time.Time, error) {
	var sec, nsec int64
	err := eachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 1:
			sec = int64(n)
		case 2:
			nsec = int64(int32(n))
		}
		return nil
	})
	return time.Unix(sec, nsec), err
}

// eachField calls f with each field of a protobuf message: its number and
// wire type, and its bytes (length-delimited fields) or its integer value
// (varints and fixed-size fields). Fields of other types are skipped.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			bytes []byte
			value uint64
		)
		switch typ {
		case protowire.VarintType:
			value, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bytes, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			value = uint64(v)
		case protowire.Fixed64Type:
			value, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			continue
		}
		if err := f(num, typ, bytes, value); err != nil {
			return err
		}
	}
	return nil
}
