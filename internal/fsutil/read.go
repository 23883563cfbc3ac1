package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// ErrTooLarge is wrapped by ReadRegular's error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by ReadRegular's error for a FIFO, socket,
// device or directory.
var ErrNotRegular = errors.New("not a regular file")

// ReadRegular reads the file at path when it is a regular file of at most
// limit bytes. Its type is checked before it is opened, and again on the
// open file, so that a FIFO, socket or device named by a config is refused
// instead of hanging the read (opening a FIFO blocks until a writer
// comes); a larger file is refused without being read. A symlink is
// followed. Errors name the path and say what to do; the ones about the
// file's type and size wrap ErrNotRegular and ErrTooLarge.
func ReadRegular(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, st, limit); err != nil {
		return nil, err
	}
	f, err := openNoBlock(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The path may have been replaced between Stat and Open.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(path, st, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, int64(len(data)), limit, "grew while being read")
	}
	return data, nil
}

func checkRegular(path string, st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, %w: skiff reads only regular files from a config; point it at a file", path, TypeName(st.Mode()), ErrNotRegular)
	}
	if st.Size() > limit {
		return tooLarge(path, st.Size(), limit, "")
	}
	return nil
}

func tooLarge(path string, size, limit int64, why string) error {
	if why != "" {
		why = " (" + why + ")"
	}
	return fmt.Errorf("%s is %s%s, more than the %s skiff reads (%w); split it or point the config at a smaller file", path, Size(size), why, Size(limit), ErrTooLarge)
}

// TypeName says what kind of non-regular file mode describes ("a named
// pipe (FIFO)", "a socket", ...), for messages.
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// Size formats a byte count for a message: 512 B, 3.0 KiB, 2.0 MiB.
func Size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// maxQuote is how much of a line Excerpt keeps.
const maxQuote = 80

// Excerpt returns what a message may quote of text read from a file that
// need not be a config: its first non-blank line, trimmed and cut to 80
// bytes, with "..." when anything was left out. Quoting a whole file
// would print all of /etc/passwd, or 10 MB, into an error.
func Excerpt(text string) string {
	t := strings.TrimSpace(text)
	line, rest, _ := strings.Cut(t, "\n")
	line = strings.TrimSpace(line)
	cut := rest != ""
	if len(line) > maxQuote {
		n := maxQuote
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		line, cut = line[:n], true
	}
	if cut {
		return line + "..."
	}
	return line
}

// PathErr drops a *fs.PathError's operation and path, for messages that
// name the path already; other errors are returned as they are.
func PathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
