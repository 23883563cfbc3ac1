package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/log"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testLabels and testPodLabels are what the runner passes: skiff's labels
// on every object, the stable ones on pods too.
var (
	testLabels = map[string]string{
		"app.kubernetes.io/managed-by": "skiff",
		"skiff.dev/project":            "demo",
		"skiff.dev/run-id":             "run-1",
	}
	testPodLabels = map[string]string{
		"app.kubernetes.io/managed-by": "skiff",
		"skiff.dev/project":            "demo",
	}
)

// TestRenderGolden renders every project under testdata (a directory
// holding skaffold.yaml) with the options of the file's "# test:" line and
// compares the result, warnings included, with testdata/golden/<dir>.golden.
// A directory named invalid-* must fail; its golden file holds the error.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/*/skaffold.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range dirs {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := config.Load(config.Options{File: file, Environ: []string{}})
			if err != nil {
				t.Fatalf("loading %s: %v", file, err)
			}
			var warnings bytes.Buffer
			opts := testOptions(t, file)
			opts.Env = p.Env
			opts.Log = log.New(&warnings, log.LevelWarn)
			ms, err := Render(context.Background(), p.Configs, opts)
			var got string
			switch {
			case strings.HasPrefix(name, "invalid"):
				if err == nil {
					t.Fatalf("rendering %s succeeded; want an error", file)
				}
				got = err.Error() + "\n"
			case err != nil:
				t.Fatalf("rendering %s: %v", file, err)
			default:
				got = warnings.String() + show(t, ms)
			}
			golden(t, filepath.Join("testdata", "golden", name+".golden"), strings.ReplaceAll(got, wd, "$PWD"))
		})
	}
}

// testOptions reads the flags of a config's "# test:" first line:
// -n NAMESPACE, --offline, --image NAME=REF, --env KEY=VALUE,
// --default-namespace NAMESPACE, --kube-version VERSION.
func testOptions(t *testing.T, file string) Options {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var fields []string
	if sc.Scan() {
		if args, ok := strings.CutPrefix(sc.Text(), "# test:"); ok {
			fields = strings.Fields(args)
		}
	}
	opts := Options{Labels: testLabels, PodLabels: testPodLabels}
	for i := 0; i < len(fields); i++ {
		flag := fields[i]
		if flag == "--offline" {
			opts.Offline = true
			continue
		}
		if i+1 == len(fields) {
			t.Fatalf("%s: test flag %s has no value", file, flag)
		}
		i++
		v := fields[i]
		switch flag {
		case "-n":
			opts.Namespace = v
		case "--default-namespace":
			opts.DefaultNamespace = v
		case "--kube-version":
			opts.KubeVersion = v
		case "--image":
			name, ref, ok := strings.Cut(v, "=")
			if !ok {
				t.Fatalf("%s: --image %s: want NAME=REF", file, v)
			}
			opts.Images = append(opts.Images, artifact.Image{Name: name, Ref: ref})
		default:
			t.Fatalf("%s: unknown test flag %s", file, flag)
		}
	}
	return opts
}

// show prints manifests the way golden files hold them: each document
// headed by its source.
func show(t *testing.T, ms []Manifest) string {
	t.Helper()
	var b strings.Builder
	for _, m := range ms {
		y, err := YAML([]Manifest{m})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "--- # %s\n%s", m.Source, y)
	}
	return b.String()
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no golden file %s: run go test -update to create it, and review it", file)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what was rendered (run go test -update and review the diff):\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}
