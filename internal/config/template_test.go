package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	env := Env{"FOO": "v1", "EMPTY": ""}
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "plain", want: "plain"},
		{in: "{{.FOO}}", want: "v1"},
		{in: "{{.MISSING}}", want: ""},
		{in: `{{default "dev" .EMPTY}}`, want: "dev"},
		{in: `{{default "dev" .FOO}}`, want: "v1"},
		{in: `{{.FOO | upper}}`, want: "V1"},
		{in: `{{cmd "echo" "hello"}}`, want: "hello"},
		{in: `{{cmd "false"}}`, wantErr: "running false"},
		{in: "{{.FOO", wantErr: "unclosed action"},
	}
	for _, tc := range tests {
		got, err := Expand(tc.in, env)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Expand(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestEnvFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := "# comment\nFROM_FILE=file\nBOTH=file\nexport QUOTED=\"a b\"\n\n"
	if err := os.WriteFile(filepath.Join(dir, EnvFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := NewEnv([]string{"BOTH=process", "ONLY=process"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"FROM_FILE": "file", "BOTH": "process", "ONLY": "process", "QUOTED": "a b"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env[%s] = %q, want %q (the process environment wins over skaffold.env)", k, env[k], v)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, EnvFile), []byte("OK=1\nnot a pair\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewEnv(nil, dir)
	if err == nil || !strings.Contains(err.Error(), "skaffold.env:2:1") {
		t.Errorf("bad skaffold.env: %v, want an error at line 2", err)
	}
}

func TestRegexEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expected, actual string
		want             bool
	}{
		{"prod", "prod", true},
		{"prod", "production", true}, // a search, as in Skaffold
		{"^prod$", "production", false},
		{"!prod", "dev", true},
		{"!prod", "prod", false},
		{"kind-.*", "kind-local", true},
		{"a+b", "a+b", true}, // exact match before the regexp
	}
	for _, tc := range tests {
		if got, err := regexEqual(tc.expected, tc.actual); err != nil || got != tc.want {
			t.Errorf("regexEqual(%q, %q) = %v, %v; want %v", tc.expected, tc.actual, got, err, tc.want)
		}
	}
	if _, err := regexEqual("(", "x"); err == nil {
		t.Error("an invalid regexp gave no error")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"artifacts", "insecureRegistries", "local", "platforms", "tagPolicy"}
	if got := suggest("tagpolicy", keys); got != `; did you mean "tagPolicy"?` {
		t.Errorf("suggest(tagpolicy) = %q", got)
	}
	if got := suggest("artefacts", keys); got != `; did you mean "artifacts"?` {
		t.Errorf("suggest(artefacts) = %q", got)
	}
	if got := suggest("zzz", keys); !strings.HasPrefix(got, "; valid fields: artifacts") {
		t.Errorf("suggest(zzz) = %q", got)
	}
}

func TestExpandBoundsOutput(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		`{{repeat 1000000000 "x"}}`,
		`{{range until 1000000000}}x{{end}}`,
		`{{range untilStep 0 2000000000 1}}{{end}}`,
		`{{seq 1000000000}}`,
		`{{indent 1000000000 "x"}}`,
		`{{nindent 100000 "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk"}}`,
		`{{randAlphaNum 1000000000}}`,
		`{{randBytes 1000000000}}`,
		`{{range until 2000}}{{repeat 1000 "x"}}{{end}}`,
	} {
		_, err := Expand(text, Env{})
		if err == nil || !strings.Contains(err.Error(), "1.0 MiB") {
			t.Errorf("Expand(%s) = %v; want an error naming the 1.0 MiB bound", text, err)
		}
	}
	if got, err := Expand(`{{repeat 3 "ab"}}{{until 3}}{{indent 2 "x"}}`, Env{}); err != nil || got != "ababab[0 1 2]  x" {
		t.Errorf("small templates: %q, %v", got, err)
	}
}

func TestCmdOutputIsBounded(t *testing.T) {
	t.Parallel()
	// yes prints forever: the field stops it at the bound instead of
	// keeping all of it.
	_, err := Expand(`{{cmd "yes"}}`, Env{})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Expand of a command that prints forever: %v, want an error saying the output is too large", err)
	}
}

func TestImageEnv(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string][3]string{
		"app":                                  {"", "app", "latest"},
		"app:1":                                {"", "app", "1"},
		"localhost:5000/app":                   {"localhost:5000", "app", "latest"},
		"localhost:5000/team/app:v1@sha256:ab": {"localhost:5000/team", "app", "v1"},
	} {
		got := ImageEnv(ref)
		if got["IMAGE_REPO"] != want[0] || got["IMAGE_NAME"] != want[1] || got["IMAGE_TAG"] != want[2] {
			t.Errorf("ImageEnv(%q) = %v, want %v", ref, got, want)
		}
	}
}
