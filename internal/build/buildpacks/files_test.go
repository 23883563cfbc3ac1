package buildpacks

import (
	"reflect"
	"strings"
	"testing"
)

func TestEncodeOrder(t *testing.T) {
	t.Parallel()
	o := Order{
		{Buildpacks: []GroupEntry{{ID: "a", Version: "1"}, {ID: "b", Version: "2", Optional: true}}},
		{Buildpacks: []GroupEntry{{ID: "c", Version: "3"}}},
	}
	data, err := EncodeOrder(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `[[order]]

  [[order.group]]
    id = "a"
    version = "1"

  [[order.group]]
    id = "b"
    version = "2"
    optional = true

[[order]]

  [[order.group]]
    id = "c"
    version = "3"
`
	if string(data) != want {
		t.Errorf("order.toml =\n%s\nwant\n%s", data, want)
	}
}

func TestDecodeGroup(t *testing.T) {
	t.Parallel()
	g, err := DecodeGroup([]byte(`[[group]]
  id = "skiff/go"
  version = "0.1.0"
  api = "0.10"
  homepage = "https://example.com"

[[group-extensions]]
  id = "x"
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.String(); got != "skiff/go@0.1.0" {
		t.Errorf("group = %q", got)
	}
	if _, err := DecodeGroup([]byte("[[group]")); err == nil || !strings.Contains(err.Error(), "group.toml") {
		t.Errorf("bad group.toml: %v", err)
	}
}

func TestDecodeReport(t *testing.T) {
	t.Parallel()
	r, err := DecodeReport([]byte(`[image]
  tags = ["127.0.0.1:5001/app:v1"]
  digest = "sha256:abc"
  manifest-size = 1234

[build]
  [[build.bom]]
    name = "x"
`))
	if err != nil || r.Digest != "sha256:abc" || !reflect.DeepEqual(r.Tags, []string{"127.0.0.1:5001/app:v1"}) {
		t.Errorf("report = %+v, %v", r, err)
	}
	r, err = DecodeReport([]byte("[image]\n  image-id = \"sha256:def\"\n"))
	if err != nil || r.ImageID != "sha256:def" {
		t.Errorf("daemon report = %+v, %v", r, err)
	}
	if _, err := DecodeReport([]byte("[image]\n  tags = []\n")); err == nil {
		t.Error("a report without digest or image ID was accepted")
	}
}
