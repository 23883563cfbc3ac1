package buildpacks

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// sbomLayer is a layer tar holding sbom.legacy.json as the lifecycle
// writes it, under /layers.
func sbomLayer(t *testing.T, legacy string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, d := range []string{"/layers/", "/layers/sbom/", "/layers/sbom/launch/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "/layers/sbom/launch/sbom.legacy.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(legacy))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const sbomSHA = "sha256:5b0b"

// withSBOM is an image source whose lifecycle metadata names an SBOM layer
// holding legacy.
func withSBOM(t *testing.T, labels map[string]string, legacy string) ImageSource {
	layer := sbomLayer(t, legacy)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[labelLifecycleMetadata] = `{"sbom": {"sha": "` + sbomSHA + `"}, "buildpacks": []}`
	return ImageSource{Ref: "reg/app:dev", Labels: labels, Layer: func(d string) (io.ReadCloser, error) {
		if d != sbomSHA {
			return nil, errors.New("no layer " + d)
		}
		return io.NopCloser(bytes.NewReader(layer)), nil
	}}
}

func TestReadSyncRules(t *testing.T) {
	t.Parallel()
	goRule := []schema.SyncRule{{Src: "**/*.go", Dest: "/workspace"}}
	jsRule := []schema.SyncRule{{Src: "src/**/*.js", Dest: "/workspace/src", Strip: "src/"}}
	const (
		labelJS    = `[{"src": "src/**/*.js", "dest": "/workspace/src", "strip": "src/"}]`
		legacyBOM  = `{"bom": [{"name": "other", "metadata": {"version": "1"}}, {"name": "devmode", "metadata": {"devmode.sync": [{"src": "**/*.go", "dest": "/workspace"}]}, "buildpack": {"id": "google.go.build", "version": "0.9.0"}}], "buildpacks": []}`
		sbomLegacy = `[{"name": "devmode", "metadata": {"devmode.sync": [{"src": "**/*.go", "dest": "/workspace"}]}, "buildpack": {"id": "test/legacy", "version": "0.0.1"}}]`
	)
	for _, tc := range []struct {
		name     string
		src      ImageSource
		want     []schema.SyncRule
		from     string
		warnings []string // substrings, one per warning
	}{
		{name: "label", src: ImageSource{Ref: "reg/app:dev", Labels: map[string]string{LabelSyncRules: labelJS}},
			want: jsRule, from: "the label dev.skiff.sync"},
		{name: "legacy BOM in the build metadata label", src: ImageSource{Ref: "reg/app:dev", Labels: map[string]string{labelBuildMetadata: legacyBOM}},
			want: goRule, from: "the legacy BOM (devmode.sync) in the label io.buildpacks.build.metadata"},
		{name: "legacy BOM in the SBOM layer", src: withSBOM(t, map[string]string{labelBuildMetadata: `{"buildpacks": []}`}, sbomLegacy),
			want: goRule, from: "the legacy BOM (devmode.sync) in the SBOM layer's sbom/launch/sbom.legacy.json"},
		{name: "the label wins over both legacy places", src: withSBOM(t, map[string]string{LabelSyncRules: labelJS, labelBuildMetadata: legacyBOM}, sbomLegacy),
			want: jsRule, from: "the label dev.skiff.sync"},
		{name: "the build metadata label wins over the SBOM layer", src: withSBOM(t, map[string]string{labelBuildMetadata: strings.ReplaceAll(legacyBOM, "**/*.go", "*.go")}, sbomLegacy),
			want: []schema.SyncRule{{Src: "*.go", Dest: "/workspace"}}, from: "the legacy BOM (devmode.sync) in the label io.buildpacks.build.metadata"},
		{name: "no rules anywhere", src: withSBOM(t, map[string]string{labelBuildMetadata: `{"bom": [{"name": "x"}]}`}, `[{"name": "go", "metadata": {}}]`)},
		{name: "an image that is not a buildpacks image", src: ImageSource{Ref: "reg/app:dev"}},
		{name: "bad JSON in the label", src: ImageSource{Ref: "reg/app:dev", Labels: map[string]string{LabelSyncRules: `[{"src": "**/*.go",`, labelBuildMetadata: legacyBOM}},
			from: "the label dev.skiff.sync", warnings: []string{"image reg/app:dev: the label dev.skiff.sync: not a JSON array"}},
		{name: "bad JSON in a legacy entry", src: ImageSource{Ref: "reg/app:dev", Labels: map[string]string{labelBuildMetadata: `{"bom": [{"name": "devmode", "metadata": {"devmode.sync": "**/*.go"}}]}`}},
			from: "the legacy BOM (devmode.sync) in the label io.buildpacks.build.metadata", warnings: []string{`image reg/app:dev: the legacy BOM (devmode.sync) in the label io.buildpacks.build.metadata: entry "devmode": devmode.sync is not a JSON array`}},
		{name: "bad JSON in the SBOM layer", src: withSBOM(t, nil, `[{"name": `),
			from: "the legacy BOM (devmode.sync) in the SBOM layer's sbom/launch/sbom.legacy.json", warnings: []string{"image reg/app:dev: the legacy BOM (devmode.sync) in the SBOM layer's sbom/launch/sbom.legacy.json: not a JSON array of BOM entries"}},
		{name: "paths outside the app", src: ImageSource{Ref: "reg/app:dev", Labels: map[string]string{LabelSyncRules: `[
				{"src": "../secrets/*", "dest": "/workspace"},
				{"src": "/etc/*", "dest": "/workspace"},
				{"src": "*.go", "dest": "/etc"},
				{"src": "*.go", "dest": "/workspace/../etc"},
				{"src": "*.go", "dest": "workspace"},
				{"src": "*.go", "dest": "/workspace", "strip": "../"},
				{"src": "*.go", "dest": "/workspace/cmd"}]`}},
			want: []schema.SyncRule{{Src: "*.go", Dest: "/workspace/cmd"}}, from: "the label dev.skiff.sync",
			warnings: []string{
				`rule 0 ignored: src "../secrets/*" is not inside`,
				`rule 1 ignored: src "/etc/*" is not inside`,
				`rule 2 ignored: dest "/etc" is outside the application directory /workspace`,
				`rule 3 ignored: dest "/workspace/../etc" is outside`,
				`rule 4 ignored: dest "workspace" is not an absolute path`,
				`rule 5 ignored: strip "../" is not a relative path`,
			}},
		{name: "the image's working directory is the app directory", src: ImageSource{Ref: "reg/app:dev", WorkingDir: "/app", Labels: map[string]string{LabelSyncRules: `[{"src": "*.go", "dest": "/workspace"}, {"src": "*.go", "dest": "/app"}]`}},
			want: []schema.SyncRule{{Src: "*.go", Dest: "/app"}}, from: "the label dev.skiff.sync",
			warnings: []string{`rule 0 ignored: dest "/workspace" is outside the application directory /app`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadSyncRules(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Rules, tc.want) || got.From != tc.from {
				t.Errorf("rules %+v from %q, want %+v from %q", got.Rules, got.From, tc.want, tc.from)
			}
			if len(got.Warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d", got.Warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(got.Warnings[i], w) || !strings.Contains(got.Warnings[i], "reg/app:dev") {
					t.Errorf("warning %q, want it to name the image and say %q", got.Warnings[i], w)
				}
			}
		})
	}
}

// TestReadSyncRulesLayerError: an SBOM layer that cannot be read is an
// error naming the image and the layer.
func TestReadSyncRulesLayerError(t *testing.T) {
	t.Parallel()
	src := withSBOM(t, nil, "[]")
	src.Layer = func(string) (io.ReadCloser, error) { return nil, errors.New("blob unknown") }
	_, err := ReadSyncRules(src)
	if err == nil || !strings.Contains(err.Error(), "reg/app:dev") || !strings.Contains(err.Error(), sbomSHA) || !strings.Contains(err.Error(), "blob unknown") {
		t.Errorf("err = %v", err)
	}
}
