package runner

import (
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// -b selects an artifact by its image, or as in Skaffold every artifact
// whose image contains the name, with what they require.
func TestSelectArtifacts(t *testing.T) {
	t.Parallel()
	base := &schema.Artifact{ImageName: "base"}
	web := &schema.Artifact{ImageName: "web", Dependencies: []*schema.ArtifactDependency{{ImageName: "base"}}}
	webAdmin := &schema.Artifact{ImageName: "web-admin"}
	api := &schema.Artifact{ImageName: "api"}
	all := []*schema.Artifact{base, web, webAdmin, api}
	for _, tc := range []struct {
		names []string
		want  []string
		err   string
	}{
		{names: nil, want: []string{"base", "web", "web-admin", "api"}},
		{names: []string{"web"}, want: []string{"base", "web"}},
		{names: []string{"admin"}, want: []string{"web-admin"}},
		{names: []string{"we"}, want: []string{"base", "web", "web-admin"}},
		{names: []string{"db"}, err: `no artifact's image is or contains "db" (-b); the images are: base, web, web-admin, api`},
	} {
		got, err := selectArtifacts(all, tc.names)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("-b %v: error %v, want %q", tc.names, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range got {
			names = append(names, a.ImageName)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("-b %v selects %v, want %v", tc.names, names, tc.want)
		}
	}
}

// --build-concurrency overrides build.local.concurrency, 0 included (no
// limit).
func TestBuildConcurrency(t *testing.T) {
	t.Parallel()
	zero, two := 0, 2
	for _, tc := range []struct {
		flag *int
		want int
	}{{nil, 3}, {&zero, 0}, {&two, 2}} {
		if got := concurrency(3, BuildOptions{Concurrency: tc.flag}); got != tc.want {
			t.Errorf("config 3, flag %v: concurrency %d, want %d", tc.flag, got, tc.want)
		}
	}
}

// The muted build output keeps its last bytes only.
func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "defgh" {
		t.Errorf("kept %q, want the last 5 bytes, defgh", got)
	}
}
