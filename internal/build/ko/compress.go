package ko

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
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

// gzipParallel compresses data into one standard gzip member at the
// fastest level, compressing chunkSize pieces on all CPUs at once: each
// piece but the last ends with a sync flush (an empty stored block that
// ends on a byte boundary), so the compressed pieces concatenate into one
// deflate stream. Compressing a 40 MB binary is most of a rebuild's cost
// after go build, and this divides it by the number of cores.
func gzipParallel(data []byte) ([]byte, error) {
	n := max(1, (len(data)+chunkSize-1)/chunkSize)
	parts := make([][]byte, n)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	var crc uint32
	g.Go(func() error {
		crc = crc32.ChecksumIEEE(data)
		return nil
	})
	for i := range n {
		g.Go(func() error {
			start, end := i*chunkSize, min((i+1)*chunkSize, len(data))
			var buf bytes.Buffer
			buf.Grow((end-start)/2 + 64)
			fw, err := flate.NewWriterDict(&buf, flate.BestSpeed, data[max(0, start-window):start])
			if err != nil {
				return err
			}
			if _, err := fw.Write(data[start:end]); err != nil {
				return err
			}
			if i == n-1 {
				err = fw.Close()
			} else {
				err = fw.Flush()
			}
			parts[i] = buf.Bytes()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	size := len(gzipHeader) + 8
	for _, p := range parts {
		size += len(p)
	}
	out := make([]byte, 0, size)
	out = append(out, gzipHeader...)
	for _, p := range parts {
		out = append(out, p...)
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(len(data))), nil
}
