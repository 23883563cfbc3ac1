package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildBoth builds skiff and skiff-engine into one directory.
func buildBoth(t *testing.T) (skiff, engine string) {
	t.Helper()
	dir := t.TempDir()
	skiff, engine = filepath.Join(dir, "skiff"), filepath.Join(dir, "skiff-engine")
	for bin, pkg := range map[string]string{skiff: "skiff.dev/skiff/cmd/skiff", engine: "skiff.dev/skiff/cmd/skiff-engine"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return skiff, engine
}

// run runs bin with args in dir with only env, and returns its stdout,
// its stderr and its exit code.
func run(t *testing.T, bin, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if x, ok := err.(*exec.ExitError); ok {
		code = x.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), errOut.String(), code
}

// The skiff executable answers version and the top-level help as the
// engine does, hands everything else to the engine (a flag, a variable or
// a skaffold.env that could change the answer included), and says what
// is missing when the engine is not next to it.
func TestFrontAnswersAsTheEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds skiff and skiff-engine")
	}
	skiff, engine := buildBoth(t)
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for _, args := range [][]string{{"version"}, {"--help"}, {"-h"}, {}, {"help"}, {"version", "-o", "json"}, {"render", "--help"}, {"nonsense"}} {
		fOut, fErr, fCode := run(t, skiff, dir, env, args...)
		eOut, eErr, eCode := run(t, engine, dir, env, args...)
		if fOut != eOut || fErr != eErr || fCode != eCode {
			t.Errorf("skiff %q: %q %q exit %d; the engine: %q %q exit %d", args, fOut, fErr, fCode, eOut, eErr, eCode)
		}
	}

	// A variable that sets one of their flags goes to the engine: a bad
	// verbosity fails there, as a usage error.
	bad := append(slices.Clone(env), "SKAFFOLD_VERBOSITY=loud")
	fOut, fErr, fCode := run(t, skiff, dir, bad, "version")
	eOut, eErr, eCode := run(t, engine, dir, bad, "version")
	if fOut != eOut || fErr != eErr || fCode != eCode || fCode != 2 {
		t.Errorf("SKAFFOLD_VERBOSITY=loud skiff version: %q %q exit %d; the engine: %q %q exit %d, want its usage error", fOut, fErr, fCode, eOut, eErr, eCode)
	}

	isJSON := func(what, out string) {
		t.Helper()
		var v struct{ Version string }
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version == "" {
			t.Errorf("%s printed %q, want the engine's JSON version", what, out)
		}
	}
	out, _, _ := run(t, skiff, dir, append(env, "SKAFFOLD_OUTPUT=json"), "version")
	isJSON("SKAFFOLD_OUTPUT=json skiff version", out)
	if err := os.WriteFile(filepath.Join(dir, "skaffold.env"), []byte("SKIFF_OUTPUT=json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, skiff, dir, env, "version")
	isJSON("skiff version beside a skaffold.env that sets SKIFF_OUTPUT=json", out)

	alone := filepath.Join(t.TempDir(), "skiff")
	b, err := os.ReadFile(skiff)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir() // without the skaffold.env
	// Variables that set none of their flags (the local cluster's, a
	// Skaffold variable of another command) leave the answer to the front.
	other := append(slices.Clone(env), "SKIFF_LOCAL_REGISTRY=127.0.0.1:5001", "SKAFFOLD_CACHE_ARTIFACTS=false")
	if out, errOut, code := run(t, alone, dir, other, "version"); code != 0 || !strings.HasPrefix(out, "skiff ") {
		t.Errorf("skiff version without the engine: %q %q exit %d, want the version", out, errOut, code)
	}
	_, errOut, code := run(t, alone, dir, env, "render")
	if code != 1 || !strings.Contains(errOut, "skiff runs its commands in skiff-engine, which is not next to it") || !strings.Contains(errOut, "make build") {
		t.Errorf("skiff render without the engine: %q exit %d, want an error naming skiff-engine and how to build it", errOut, code)
	}
}
