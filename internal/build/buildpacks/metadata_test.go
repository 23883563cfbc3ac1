package buildpacks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// builderLabels are the labels of a builder like skiff's offline one.
func builderLabels() map[string]string {
	return map[string]string{
		labelBuilderMetadata: `{"description":"skiff offline builder",
			"images":[{"image":"127.0.0.1:5001/skiff/run:latest","mirrors":["example.com/run"]}],
			"stack":{"runImage":{"image":"ignored/old-run"}},
			"lifecycle":{"version":"0.21.14","api":{"buildpack":"0.2","platform":"0.3"},
				"apis":{"buildpack":{"deprecated":[],"supported":["0.7","0.12"]},
					"platform":{"deprecated":["0.7"],"supported":["0.8","0.9","0.10","0.11","0.12","0.13","0.14","0.15"]}}},
			"buildpacks":[{"id":"skiff/go","version":"0.1.0"}]}`,
		labelOrder:  `[{"group":[{"id":"skiff/go","version":"0.1.0"}]},{"group":[{"id":"skiff/node","version":"0.1.0","optional":true}]}]`,
		labelLayers: `{"skiff/go":{"0.1.0":{"api":"0.10","layerDiffID":"sha256:aa"}},"skiff/node":{"0.1.0":{"api":"0.10"},"0.2.0":{"api":"0.10"}}}`,
	}
}

var builderEnv = []string{"PATH=/usr/bin", "CNB_USER_ID=1000", "CNB_GROUP_ID=1001"}

func TestParseBuilderMetadata(t *testing.T) {
	t.Parallel()
	md, err := ParseBuilderMetadata("b", builderLabels(), builderEnv, "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if md.LifecycleVersion != "0.21.14" || md.UID != 1000 || md.GID != 1001 || md.OS != "linux" || md.Arch != "amd64" {
		t.Errorf("metadata = %+v", md)
	}
	if got := md.RunImage(); got != "127.0.0.1:5001/skiff/run:latest" {
		t.Errorf("run image = %q", got)
	}
	if len(md.PlatformAPIs) != 9 || md.PlatformAPIs[0] != (APIVersion{0, 7}) || md.PlatformAPIs[8] != (APIVersion{0, 15}) {
		t.Errorf("platform APIs = %v, want 0.7..0.15 sorted", md.PlatformAPIs)
	}
	wantOrder := Order{
		{Buildpacks: []GroupEntry{{ID: "skiff/go", Version: "0.1.0"}}},
		{Buildpacks: []GroupEntry{{ID: "skiff/node", Version: "0.1.0", Optional: true}}},
	}
	if !reflect.DeepEqual(md.Order, wantOrder) {
		t.Errorf("order = %+v, want %+v", md.Order, wantOrder)
	}
	if got := md.BuildpackIDs(); !reflect.DeepEqual(got, []string{"skiff/go@0.1.0", "skiff/node@0.1.0", "skiff/node@0.2.0"}) {
		t.Errorf("buildpacks = %v", got)
	}
}

func TestParseBuilderMetadataOldLayout(t *testing.T) {
	t.Parallel()
	labels := map[string]string{labelBuilderMetadata: `{"stack":{"runImage":{"image":"run:old"}},"lifecycle":{"version":"0.9.0","api":{"platform":"0.4"}}}`}
	md, err := ParseBuilderMetadata("b", labels, builderEnv, "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if md.RunImage() != "run:old" || !reflect.DeepEqual(md.PlatformAPIs, []APIVersion{{0, 4}}) || md.Order != nil {
		t.Errorf("metadata = %+v", md)
	}
}

func TestParseBuilderMetadataErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		env    []string
		want   string
	}{
		{"not a builder", map[string]string{"other": "x"}, builderEnv, "is not a buildpacks builder"},
		{"bad json", map[string]string{labelBuilderMetadata: "{"}, builderEnv, "reading the io.buildpacks.builder.metadata label"},
		{"no apis", map[string]string{labelBuilderMetadata: `{"lifecycle":{"version":"0.1.0"}}`}, builderEnv, "names no Platform API"},
		{"bad api", map[string]string{labelBuilderMetadata: `{"lifecycle":{"apis":{"platform":{"supported":["zero"]}}}}`}, builderEnv, `"zero" is not major.minor`},
		{"bad order", func() map[string]string { l := builderLabels(); l[labelOrder] = "[{"; return l }(), builderEnv, "io.buildpacks.buildpack.order"},
		{"no user", builderLabels(), []string{"CNB_GROUP_ID=1"}, "CNB_USER_ID is not set"},
		{"bad group", builderLabels(), []string{"CNB_USER_ID=1", "CNB_GROUP_ID=x"}, `CNB_GROUP_ID="x" is not`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseBuilderMetadata("my/builder", tc.labels, tc.env, "linux", "amd64")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "my/builder") {
				t.Errorf("error = %v, want it to name my/builder and say %q", err, tc.want)
			}
		})
	}
}

func TestNegotiatePlatformAPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		apis []string
		want string
	}{
		{[]string{"0.7", "0.12", "0.15", "0.16"}, "0.15"},
		{[]string{"0.9", "0.12", "0.13"}, "0.13"},
		{[]string{"0.12"}, "0.12"},
		{[]string{"0.3", "0.11", "1.0"}, ""},
	} {
		md := &BuilderMetadata{LifecycleVersion: "0.99.0"}
		for _, s := range tc.apis {
			v, err := ParseAPIVersion(s)
			if err != nil {
				t.Fatal(err)
			}
			md.PlatformAPIs = append(md.PlatformAPIs, v)
		}
		got, err := NegotiatePlatformAPI("my/builder", md)
		if tc.want == "" {
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%v: error = %v, want an *APIError", tc.apis, err)
			}
			for _, s := range []string{"my/builder", "0.99.0", "0.3, 0.11, 1.0", "0.12 to 0.15"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%v: negotiated %v, %v; want %s", tc.apis, got, err, tc.want)
		}
	}
}

func TestParseAPIVersion(t *testing.T) {
	t.Parallel()
	if v, err := ParseAPIVersion("v0.12"); err != nil || v != (APIVersion{0, 12}) {
		t.Errorf("v0.12 = %v, %v", v, err)
	}
	for _, s := range []string{"", "1", "a.b", "0.-1"} {
		if _, err := ParseAPIVersion(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
