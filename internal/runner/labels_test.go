package runner

import (
	"maps"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/kube"
)

func TestParseLabels(t *testing.T) {
	t.Parallel()
	got, err := ParseLabels([]string{"team=web", "tier=front,example.com/owner=ana"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"team": "web", "tier": "front", "example.com/owner": "ana"}
	if !maps.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	for _, bad := range []string{"team", "bad key=x", "team=not ok"} {
		if _, err := ParseLabels([]string{bad}); err == nil || !strings.Contains(err.Error(), "-l") {
			t.Errorf("-l %q: error %v, want one naming -l", bad, err)
		}
	}
}

// The user's labels (-l) join skiff's on objects and pods; skiff's own
// cannot be overridden, since pruning and delete find objects by them.
func TestWithLabels(t *testing.T) {
	t.Parallel()
	got := withLabels(map[string]string{"team": "web", kube.ManagedByLabel: "me"}, map[string]string{kube.ManagedByLabel: kube.ManagedBy})
	want := map[string]string{"team": "web", kube.ManagedByLabel: kube.ManagedBy}
	if !maps.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}

// --toot rings the bell after a deploy, and only then.
func TestDeployBeeps(t *testing.T) {
	t.Parallel()
	p := &config.Project{Configs: []*config.Config{{}}}
	for _, beep := range []bool{false, true} {
		var errOut strings.Builder
		r := New(Options{Project: p, Beep: beep, ErrOut: &errOut})
		if err := r.Deploy(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(errOut.String(), "\a"); got != beep {
			t.Errorf("Beep %v: the bell rang: %v (%q)", beep, got, errOut.String())
		}
	}
}
