package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// client-go's log lines (klog) never reach the process's stderr: a user
// sees "E1206 ... Copying stdin failed" only with -v debug, once, on the
// command's error stream (issue 11 item 14). Not parallel: it swaps
// os.Stderr.
func TestKlogStaysOffTheTerminal(t *testing.T) {
	for _, tc := range []struct {
		verbosity string
		want      int // times the line is printed on ErrOut
	}{{"warn", 0}, {"debug", 1}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		stderr := os.Stderr
		os.Stderr = w
		var out, errOut bytes.Buffer
		err = Run(t.Context(), IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, []string{"version", "-v", tc.verbosity}, WithEnviron(nil))
		klog.ErrorS(nil, "Copying stdin failed (test)")
		klog.Warning("a warning (test)")
		klog.Flush()
		os.Stderr = stderr
		w.Close()
		onStderr, _ := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(onStderr), "(test)") {
			t.Errorf("-v %s: klog wrote to the process's stderr:\n%s", tc.verbosity, onStderr)
		}
		if n := strings.Count(errOut.String(), "Copying stdin failed (test)"); n != tc.want {
			t.Errorf("-v %s: the klog line is on ErrOut %d times, want %d:\n%s", tc.verbosity, n, tc.want, errOut.String())
		}
	}
	klog.SetOutput(io.Discard)
}
