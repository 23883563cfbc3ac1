package buildpacks

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func testMetadata(t *testing.T) *BuilderMetadata {
	t.Helper()
	md, err := ParseBuilderMetadata("b", builderLabels(), builderEnv, "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func noImages(context.Context, string) (v1.Image, error) {
	return nil, errors.New("no registry in this test")
}

func TestResolveOrderFromBuilder(t *testing.T) {
	t.Parallel()
	md := testMetadata(t)
	r, err := resolveOrder(context.Background(), t.TempDir(), md, nil, nil, noImages)
	if err != nil || r.Order != nil || r.Extra != nil {
		t.Errorf("no buildpacks: %+v, %v; want the builder's order", r, err)
	}
	r, err = resolveOrder(context.Background(), t.TempDir(), md, []string{"skiff/go", "urn:cnb:builder:skiff/node@0.2.0"}, nil, noImages)
	want := Order{{Buildpacks: []GroupEntry{{ID: "skiff/go", Version: "0.1.0"}, {ID: "skiff/node", Version: "0.2.0"}}}}
	if err != nil || !reflect.DeepEqual(r.Order, want) {
		t.Errorf("explicit buildpacks: %+v, %v; want %+v", r.Order, err, want)
	}
	for _, tc := range []struct{ ref, want string }{
		{"skiff/node", "in versions 0.1.0, 0.2.0"},
		{"skiff/go@9", "in version 0.1.0, not 9"},
		{"urn:cnb:builder:nope", "buildpack nope is not in the builder, which has skiff/go@0.1.0"},
		{"nope", `buildpack "nope" is not in the builder`},
	} {
		if _, err := resolveOrder(context.Background(), t.TempDir(), md, []string{tc.ref}, nil, noImages); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.ref, err, tc.want)
		}
	}
}

func TestResolveOrderProject(t *testing.T) {
	t.Parallel()
	md := testMetadata(t)
	ws := writeTree(t, map[string]string{
		"bp/buildpack.toml": "api = \"0.10\"\n[buildpack]\nid = \"local/bp\"\nversion = \"1.2.3\"\n",
		"bp/bin/build":      "#!/bin/sh\n",
	})
	proj := &Project{Buildpacks: []string{"skiff/go@0.1.0", "./bp"}, Post: []string{"skiff/node@0.1.0"}}
	r, err := resolveOrder(context.Background(), ws, md, nil, proj, noImages)
	if err != nil {
		t.Fatal(err)
	}
	want := Order{{Buildpacks: []GroupEntry{{ID: "skiff/go", Version: "0.1.0"}, {ID: "local/bp", Version: "1.2.3"}, {ID: "skiff/node", Version: "0.1.0"}}}}
	if !reflect.DeepEqual(r.Order, want) || len(r.Extra) != 1 || r.Extra[0].entry.ID != "local/bp" {
		t.Errorf("order = %+v, extra %+v", r.Order, r.Extra)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := r.Extra[0].writeTo(tw); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	names := tarNames(t, buf.Bytes())
	for _, n := range []string{"cnb/", "cnb/buildpacks/local_bp/1.2.3/", "cnb/buildpacks/local_bp/1.2.3/buildpack.toml", "cnb/buildpacks/local_bp/1.2.3/bin/build"} {
		if !names[n] {
			t.Errorf("the local buildpack's files lack %s: %v", n, names)
		}
	}
	// The artifact's buildpacks win over the descriptor's; pre and post
	// wrap every group of the builder's order.
	r, err = resolveOrder(context.Background(), ws, md, nil, &Project{Pre: []string{"skiff/go@0.1.0"}}, noImages)
	if err != nil || len(r.Order) != 2 || r.Order[1].String() != "skiff/go@0.1.0, skiff/node@0.1.0 (optional)" {
		t.Errorf("pre group = %+v, %v", r.Order, err)
	}
	r, err = resolveOrder(context.Background(), ws, md, []string{"skiff/go"}, proj, noImages)
	if err != nil || r.Order[0].String() != "skiff/go@0.1.0, skiff/node@0.1.0" {
		t.Errorf("artifact over descriptor = %+v, %v", r.Order, err)
	}
}

func TestResolveImageBuildpack(t *testing.T) {
	t.Parallel()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{labelPackageMetadata: `{"id":"ext/bp","version":"2.0.0"}`}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	read := func(_ context.Context, ref string) (v1.Image, error) {
		asked = append(asked, ref)
		if ref == "reg.local/bp:2" {
			return img, nil
		}
		return nil, errors.New("MANIFEST_UNKNOWN")
	}
	r, err := resolveOrder(context.Background(), t.TempDir(), testMetadata(t), []string{"docker://reg.local/bp:2"}, nil, read)
	if err != nil || r.Order[0].String() != "ext/bp@2.0.0" || r.Extra[0].image == nil {
		t.Errorf("image buildpack: %+v, %v", r, err)
	}
	_, err = resolveOrder(context.Background(), t.TempDir(), testMetadata(t), []string{"reg.local/missing:1"}, nil, read)
	var pe *PullError
	if !errors.As(err, &pe) || pe.What != "buildpack" || !reflect.DeepEqual(asked, []string{"reg.local/bp:2", "reg.local/missing:1"}) {
		t.Errorf("missing image buildpack: %v (asked %v)", err, asked)
	}
}

func tarNames(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[h.Name] = true
	}
	return names
}
