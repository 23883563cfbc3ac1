package artifact

import (
	"encoding/json"
	"testing"
)

// TestImageJSON pins Skaffold's build.json entry: `skiff build
// --file-output` writes it and `skiff deploy -a` reads it.
func TestImageJSON(t *testing.T) {
	t.Parallel()
	im := Image{Name: "web", Ref: "reg.example/web:v1@sha256:1111"}
	data, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"imageName":"web","tag":"reg.example/web:v1@sha256:1111"}`
	if string(data) != want {
		t.Errorf("json = %s, want %s", data, want)
	}
	var back Image
	if err := json.Unmarshal([]byte(want), &back); err != nil {
		t.Fatal(err)
	}
	if back != im {
		t.Errorf("read back %+v, want %+v", back, im)
	}
}
