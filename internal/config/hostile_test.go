//go:build unix

package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxHostileRSS is the most memory skiff may use on any hostile config.
const maxHostileRSS = 200 << 20

// maxHostileStderr bounds what skiff prints about a hostile config: an
// error quotes at most a line of a file that is not a config.
const maxHostileStderr = 4 << 10

// hostileCase is one hostile config: its file (testdata/hostile/<name>,
// or generated text), what it needs beside it, the command run on it and
// the error expected ("" for success).
type hostileCase struct {
	name  string
	text  string
	args  []string
	setup []string // "fifo NAME" or "passwd NAME [BYTES]"
	want  string
	// output, for a case that succeeds, is what its stdout must contain.
	output string
}

// TestHostileConfigs runs the skiff binary on every hostile config and
// checks its error and its peak memory (the process's max RSS): the
// probe of issue 11 found configs of a few KB that grew to gigabytes.
func TestHostileConfigs(t *testing.T) {
	t.Parallel()
	cases := append(hostileFiles(t), generatedHostile()...)
	bin := buildSkiff(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.name), []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.setup {
				setupHostile(t, dir, s)
			}
			// A safety net, not an assertion: a case that runs away fails
			// here instead of hanging the suite.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(tc.args, "-f", tc.name)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "no-kubeconfig"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("skiff %s did not finish within the safety timeout", strings.Join(cmd.Args[1:], " "))
			}
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				t.Fatal(err)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
			t.Logf("max RSS %d MiB", rss>>20)
			if rss > maxHostileRSS {
				t.Errorf("skiff used %d MiB, more than %d MiB", rss>>20, maxHostileRSS>>20)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("skiff failed: %v\n%.2000s", err, stderr.String())
			case tc.want == "" && !strings.Contains(stdout.String(), tc.output):
				t.Errorf("stdout:\n%.2000s\nwant it to contain %q", stdout.String(), tc.output)
			case tc.want != "" && err == nil:
				t.Errorf("skiff succeeded; want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(stderr.String(), tc.want):
				t.Errorf("stderr:\n%.2000s\nwant it to contain %q", stderr.String(), tc.want)
			}
			if tc.want != "" && stderr.Len() > maxHostileStderr {
				t.Errorf("skiff printed %d bytes of error, more than %d:\n%.2000s", stderr.Len(), maxHostileStderr, stderr.String())
			}
		})
	}
}

// hostileFiles reads testdata/hostile: each file says in "# want:" (or
// "# output:"), "# args:" and "# setup:" comments what it expects.
func hostileFiles(t *testing.T) []hostileCase {
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile configs: %v", err)
	}
	var out []hostileCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tc := hostileCase{name: filepath.Base(f), text: string(data), args: []string{"diagnose"}}
		for _, line := range strings.Split(tc.text, "\n") {
			if v, ok := strings.CutPrefix(line, "# want: "); ok {
				tc.want = v
			}
			if v, ok := strings.CutPrefix(line, "# output: "); ok {
				tc.output = v
			}
			if v, ok := strings.CutPrefix(line, "# args: "); ok {
				tc.args = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(line, "# setup: "); ok {
				tc.setup = append(tc.setup, v)
			}
		}
		if (tc.want == "") == (tc.output == "") {
			t.Fatalf("%s needs one # want: (error) or # output: (success) line", f)
		}
		out = append(out, tc)
	}
	return out
}

// generatedHostile are the cases too large to commit: configs at and just
// past the bounds.
func generatedHostile() []hostileCase {
	const head = "apiVersion: skaffold/v4beta14\nkind: Config\n"
	diagnose := []string{"diagnose"}
	flowList := func(n int) string {
		return "manifests:\n  rawYaml: [" + strings.TrimSuffix(strings.Repeat("a,", n), ",") + "]\n"
	}
	buildArgs := func(artifacts, keys int) string {
		var b strings.Builder
		b.WriteString("build:\n  artifacts:\n")
		for a := range artifacts {
			fmt.Fprintf(&b, "  - image: img%d\n    docker:\n      buildArgs:\n", a)
			for k := range keys {
				fmt.Fprintf(&b, "        k%d: v\n", k)
			}
		}
		return b.String()
	}
	bigName := func(size int) string {
		return "metadata:\n  name: " + strings.Repeat("x", size-len(head)-len("metadata:\n  name: \n")) + "\n"
	}
	deepSetValues := func(depth, maps, leaves int) string {
		var b strings.Builder
		b.WriteString("manifests:\n  helm:\n    releases:\n    - name: r\n      chartPath: c\n      setValues: ")
		b.WriteString(strings.Repeat("{a: ", depth) + "{")
		for m := range maps {
			if m > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "b%d: {", m)
			for l := range leaves {
				if l > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "k%d: v", l)
			}
			b.WriteString("}")
		}
		b.WriteString("}" + strings.Repeat("}", depth) + "\n")
		return b.String()
	}
	deepOverrides := func(depth, maps, leaves int) string {
		v := deepSetValues(depth, maps, leaves)
		_, v, _ = strings.Cut(v, "setValues: ")
		return "apiVersion: skaffold/v2beta28\nkind: Config\ndeploy:\n  helm:\n    releases:\n    - name: r\n      chartPath: c\n      artifactOverrides: " + v
	}
	return []hostileCase{
		// The same in an old config's artifactOverrides, which the upgrade flattens.
		{name: "deep-artifactoverrides.yaml", text: deepOverrides(5000, 15, 900), args: diagnose, want: "artifactOverrides: the flattened keys"},
		// 145 KB whose flattened keys were 135 MB (diagnose: 409 MB, 20 s).
		{name: "deep-setvalues.yaml", text: head + deepSetValues(5000, 15, 900), args: diagnose, want: "the flattened keys"},
		// The largest configs accepted, by each bound.
		{name: "near-limit-values.yaml", text: head + flowList(int(ConfigLimits.Nodes)-100), args: diagnose},
		{name: "near-limit-keys.yaml", text: head + buildArgs(int(ConfigLimits.Nodes)/(2*ConfigLimits.MappingEntries)-1, ConfigLimits.MappingEntries), args: diagnose},
		{name: "near-limit-size.yaml", text: head + bigName(MaxConfigSize), args: diagnose},
		// Just past them.
		{name: "too-many-values.yaml", text: head + flowList(int(ConfigLimits.Nodes)), args: diagnose, want: "expands to more than 40000 YAML values"},
		{name: "too-many-keys.yaml", text: head + buildArgs(1, ConfigLimits.MappingEntries+1), args: diagnose, want: "this mapping has 1001 keys, more than the 1000"},
		{name: "too-large.yaml", text: head + bigName(MaxConfigSize+1), args: diagnose, want: "is 1.0 MiB, more than the 1.0 MiB skiff reads"},
		{name: "too-many-artifacts.yaml", text: head + "build:\n  artifacts:\n" + strings.Repeat("  - image: a\n", MaxArtifacts+1), args: diagnose, want: "1001 artifacts, more than the 1000"},
		{name: "deep-nesting.yaml", text: head + "x: " + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + "\n", args: diagnose, want: "exceeded max depth"},
	}
}

// setupHostile creates what a case needs beside its config: a FIFO, or a
// file of passwd lines (10 MB unless given).
func setupHostile(t *testing.T, dir, setup string) {
	f := strings.Fields(setup)
	kind, name := f[0], f[1]
	p := filepath.Join(dir, name)
	switch kind {
	case "fifo":
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	case "passwd":
		size := 10 << 20
		if len(f) > 2 {
			var err error
			if size, err = strconv.Atoi(f[2]); err != nil {
				t.Fatalf("setup %q: %v", setup, err)
			}
		}
		var b strings.Builder
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "user%d:x:%d:%d:User:/home/user%d:/bin/sh\n", i, i, i, i)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown setup %q", setup)
	}
}

// buildSkiff builds the skiff engine, which runs the commands, into a
// directory of the test's.
func buildSkiff(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "skiff-engine")
	out, err := exec.Command("go", "build", "-o", bin, "skiff.dev/skiff/cmd/skiff-engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
