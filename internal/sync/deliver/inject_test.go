package deliver

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const agentRef = "127.0.0.1:5001/skiff-agent@sha256:00000000000000000000000000000000000000000000000000000000000000aa"

// synced wants the images of the artifacts web and db, as the dev loop
// wants the artifacts with sync rules.
func synced(image string) bool {
	return strings.HasPrefix(image, "registry.local/web") || strings.HasPrefix(image, "registry.local/db")
}

func TestInject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		file   string
		wants  func(string) bool
		golden string // "" means unchanged
		n      int
		err    string
	}{
		{name: "every workload kind", file: "workloads.yaml", wants: synced, golden: "workloads.golden.yaml", n: 7},
		{name: "nothing wanted", file: "workloads.yaml", wants: func(string) bool { return false }},
		{name: "mount path taken", file: "conflict.yaml", wants: synced, err: "Pod taken (testdata/conflict.yaml:1): delivering skiff-agent for file sync: container taken mounts volume tools at /skiff, where skiff mounts the agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms, in := parse(t, tc.file)
			n, err := Inject(ms, agentRef, tc.wants)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v; want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || n != tc.n {
				t.Fatalf("Inject = %d, %v; want %d, nil", n, err, tc.n)
			}
			out := yamlOf(t, ms)
			if tc.golden == "" {
				if !bytes.Equal(out, in) {
					t.Errorf("manifests changed:\n%s", out)
				}
				return
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", out, golden, want)
			}

			// Injecting again, also with a newer agent, keeps one of each.
			if n, err := Inject(ms, agentRef, tc.wants); err != nil || n != tc.n || !bytes.Equal(yamlOf(t, ms), want) {
				t.Errorf("second Inject = %d, %v, changed the manifests:\n%s", n, err, yamlOf(t, ms))
			}
			newer := strings.Replace(agentRef, "aa", "bb", 1)
			if _, err := Inject(ms, newer, tc.wants); err != nil {
				t.Fatal(err)
			}
			if got, wantNewer := yamlOf(t, ms), bytes.ReplaceAll(want, []byte(agentRef), []byte(newer)); !bytes.Equal(got, wantNewer) {
				t.Errorf("Inject with a newer agent:\n%s\nwant:\n%s", got, wantNewer)
			}
		})
	}
}

// parse reads a testdata file into manifests, and returns them as YAML.
func parse(t *testing.T, file string) ([]render.Manifest, []byte) {
	t.Helper()
	p := filepath.Join("testdata", file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := render.Parse(p, data)
	if err != nil {
		t.Fatal(err)
	}
	return ms, yamlOf(t, ms)
}

func yamlOf(t *testing.T, ms []render.Manifest) []byte {
	t.Helper()
	out, err := render.YAML(ms)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInjectRestricted checks that the init container meets the
// restricted Pod Security Standard on its own, whatever the pod says: the
// first workload sets runAsUser 0 for the pod.
func TestInjectRestricted(t *testing.T) {
	t.Parallel()
	ms, _ := parse(t, "workloads.yaml")
	if _, err := Inject(ms, agentRef, synced); err != nil {
		t.Fatal(err)
	}
	inits, _, err := unstructured.NestedSlice(ms[0].Object.Object, "spec", "template", "spec", "initContainers")
	if err != nil || len(inits) == 0 {
		t.Fatalf("init containers: %v, %v", inits, err)
	}
	sc, _ := inits[0].(map[string]any)["securityContext"].(map[string]any)
	for field, want := range map[string]any{
		"runAsNonRoot":             true,
		"runAsUser":                int64(65532),
		"runAsGroup":               int64(65532),
		"allowPrivilegeEscalation": false,
		"capabilities":             map[string]any{"drop": []any{"ALL"}},
		"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
	} {
		if got := sc[field]; !reflect.DeepEqual(got, want) {
			t.Errorf("securityContext.%s = %v, want %v", field, got, want)
		}
	}
}
