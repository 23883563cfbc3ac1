package ko

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"

	"github.com/klauspost/compress/flate"
	"golang.org/x/sync/errgroup"
)

const (
	// chunkSize is how much of a layer one goroutine compresses. It is
	// fixed, so the output does not depend on the number of CPUs.
	chunkSize = 1 << 20
	// window is deflate's window: each chunk is compressed with the 32 KiB
	// before it as its dictionary, as pigz does, so matches can reach
	// back across chunk boundaries.
	window = 32 << 10
)

// gzipHeader is the header of every stream gzipParallel writes: deflate,
// no name, no time, unknown OS (as Go's gzip writer), so the bytes depend
// on the data only.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// gzipParallel writes to w the size bytes of r compressed into one
// standard gzip member at the fastest level, compressing chunkSize pieces
// on all CPUs at once: each piece but the last ends with a sync flush (an
// empty stored block that ends on a byte boundary), so the compressed
// pieces concatenate into one deflate stream. Compressing a 40 MB binary
// is most of a rebuild's cost after go build, and this divides it by the
// number of cores. It reads r one round of GOMAXPROCS pieces at a time, so
// it holds a few MB whatever the size, reusing its buffers.
func gzipParallel(w io.Writer, r io.ReaderAt, size int64) error {
	if _, err := w.Write(gzipHeader); err != nil {
		return err
	}
	n := max(1, int((size+chunkSize-1)/chunkSize))
	procs := min(runtime.GOMAXPROCS(0), n)
	// Each of the procs workers keeps its buffers and compressor from one
	// round to the next.
	type worker struct {
		in   []byte // the chunk read, after the window before it
		data []byte // the chunk, in in
		out  bytes.Buffer
		fw   *flate.Writer
	}
	workers := make([]worker, procs)
	crc := crc32.NewIEEE()
	for first := 0; first < n; first += procs {
		round := min(procs, n-first)
		var g errgroup.Group
		for k := range round {
			g.Go(func() error {
				wk, i := &workers[k], first+k
				start, end := int64(i)*chunkSize, min(int64(i+1)*chunkSize, size)
				from := max(0, start-window)
				if wk.in == nil {
					wk.in = make([]byte, window+chunkSize)
				}
				buf := wk.in[:end-from]
				wk.data = buf[start-from:]
				if _, err := r.ReadAt(buf, from); err != nil && !(err == io.EOF && len(buf) == 0) {
					return fmt.Errorf("reading the layer to compress: %w", err)
				}
				wk.out.Reset()
				dict := buf[:start-from]
				if wk.fw == nil {
					fw, err := flate.NewWriterDict(&wk.out, flate.BestSpeed, dict)
					if err != nil {
						return err
					}
					wk.fw = fw
				} else {
					wk.fw.ResetDict(&wk.out, dict)
				}
				if _, err := wk.fw.Write(wk.data); err != nil {
					return err
				}
				if i == n-1 {
					return wk.fw.Close()
				}
				return wk.fw.Flush()
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for k := range round {
			wk := &workers[k]
			crc.Write(wk.data)
			if _, err := w.Write(wk.out.Bytes()); err != nil {
				return err
			}
		}
	}
	var trailer []byte
	trailer = binary.LittleEndian.AppendUint32(trailer, crc.Sum32())
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(size))
	_, err := w.Write(trailer)
	return err
}
