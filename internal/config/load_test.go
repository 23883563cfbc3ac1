package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// loadCase is one config to load: a file (or a directory holding
// skaffold.yaml) under testdata, with the options of its "# test:" line or
// of the table below.
type loadCase struct {
	name string
	file string
	args string
}

// cases lists every testdata config: top-level files by their own header,
// and module directories with the options given here. A name starting
// with "invalid" must fail; its golden file holds the message.
func cases(t *testing.T) []loadCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []loadCase
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		out = append(out, loadCase{name: name, file: f, args: headerArgs(t, f)})
	}
	return append(out,
		loadCase{name: "valid-modules", file: "testdata/modules/skaffold.yaml", args: "-p dev"},
		loadCase{name: "valid-modules-select", file: "testdata/modules/skaffold.yaml", args: "-m svc-b"},
		loadCase{name: "valid-modules-no-propagation", file: "testdata/modules/skaffold.yaml", args: "-p dev --propagate-profiles false"},
		loadCase{name: "valid-profile-no-auto-activation", file: "testdata/valid-profile-activation.yaml",
			args: "--env DEPLOY_ENV=production --command dev --kube-context kind-local --profile-auto-activation false"},
		loadCase{name: "invalid-modules-unknown", file: "testdata/modules/skaffold.yaml", args: "-m nope"},
		loadCase{name: "invalid-modules-cycle", file: "testdata/modules-cycle/skaffold.yaml"},
	)
}

func headerArgs(t *testing.T, file string) string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if sc.Scan() {
		if args, ok := strings.CutPrefix(sc.Text(), "# test:"); ok {
			return strings.TrimSpace(args)
		}
	}
	return ""
}

// options turns a case's arguments into load options; the environment is
// only what the case sets, so results do not depend on the machine.
func (c loadCase) options(t *testing.T) Options {
	opts := Options{
		File:    c.file,
		Environ: []string{},
		CurrentKubeContext: func() (string, error) {
			return "", errors.New("no kubeconfig in tests")
		},
	}
	fields := strings.Fields(c.args)
	for i := 0; i < len(fields); i += 2 {
		if i+1 >= len(fields) {
			t.Fatalf("%s: flag %s has no value", c.name, fields[i])
		}
		v := fields[i+1]
		switch fields[i] {
		case "-p":
			opts.Profiles = append(opts.Profiles, v)
		case "-m":
			opts.Modules = append(opts.Modules, v)
		case "--command":
			opts.Command = v
		case "--kube-context":
			opts.KubeContext = v
		case "--env":
			opts.Environ = append(opts.Environ, v)
		case "--profile-auto-activation":
			opts.NoProfileAutoActivation = v == "false"
		case "--propagate-profiles":
			opts.NoProfilePropagation = v == "false"
		default:
			t.Fatalf("%s: unknown test flag %s", c.name, fields[i])
		}
	}
	return opts
}

// render prints the loaded project the way the golden files hold it:
// each config's origin and active profiles, then its effective YAML.
func render(t *testing.T, p *Project) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, c := range p.Configs {
		fmt.Fprintf(&b, "# %s document %d, profiles: %s\n", c.File, c.Index, strings.Join(c.ActiveProfiles, ","))
		if err := WriteYAML(&b, &c.SkaffoldConfig); err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
	}
	return strings.ReplaceAll(b.String(), wd, "$PWD")
}

func TestLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Load(tc.options(t))
			var got string
			switch {
			case strings.HasPrefix(tc.name, "invalid"):
				if err == nil {
					t.Fatalf("loading %s succeeded; want an error", tc.file)
				}
				got = err.Error() + "\n"
			case err != nil:
				t.Fatalf("loading %s: %v", tc.file, err)
			default:
				got = render(t, p)
			}
			golden(t, filepath.Join("testdata", "golden", tc.name+".golden"), got)
		})
	}
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
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what was produced (run go test -update and review the diff):\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}
