package deps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	t.Parallel()
	all := []string{".hidden/x", "README.md", "node_modules/a/index.js", "package.json", "src/lib/util.js",
		"src/lib/util.test.js", "src/main.js", "src/vendor/dep.js", "static/css/site.css", "static/logo.png"}
	tests := []struct {
		name          string
		paths, ignore []string
		want          []string
		wantErr       string
	}{
		{name: "the whole workspace", paths: []string{"."}, want: all},
		{name: "nil ignore", paths: []string{"./"}, ignore: nil, want: all},
		{name: "a directory less an ignored one", paths: []string{"src"}, ignore: []string{"src/vendor"},
			want: []string{"src/lib/util.js", "src/lib/util.test.js", "src/main.js"}},
		{name: "** glob with ignores", paths: []string{"**/*.js"}, ignore: []string{"node_modules", "**/*.test.js"},
			want: []string{"src/lib/util.js", "src/main.js", "src/vendor/dep.js"}},
		{name: "brace alternatives and ** in the middle", paths: []string{"*.{json,md}", "static/**/*.css"},
			want: []string{"README.md", "package.json", "static/css/site.css"}},
		{name: "a glob matching a directory lists its files", paths: []string{"static/*"},
			want: []string{"static/css/site.css", "static/logo.png"}},
		{name: "overlapping patterns give each file once", paths: []string{"src", "src/lib", "src/lib/util.js"},
			want: []string{"src/lib/util.js", "src/lib/util.test.js", "src/main.js", "src/vendor/dep.js"}},
		{name: "an ignored file given by name", paths: []string{"README.md", "package.json"}, ignore: []string{"*.md"},
			want: []string{"package.json"}},
		{name: "a pattern that matches nothing", paths: []string{"src", "nope/*"},
			wantErr: `dependencies.paths pattern "nope/*" matches nothing`},
		{name: "an invalid pattern", paths: []string{"src/["}, wantErr: `invalid pattern "src/["`},
		{name: "an invalid ignore pattern", paths: []string{"."}, ignore: []string{"[z-a"}, wantErr: "dependencies.ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Paths(filepath.Join("testdata", "paths"), tt.paths, tt.ignore)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Paths() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestExpandBraces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"*.{js,ts}", []string{"*.js", "*.ts"}},
		{"{a,b}/{c,d}", []string{"a/c", "a/d", "b/c", "b/d"}},
		{"x{a,{b,c}}", []string{"xa", "xb", "xc"}},
		{"{lit}/{a,b}", []string{"{lit}/a", "{lit}/b"}},
		{`\{a,b}`, []string{`\{a,b}`}},
		{"{open", []string{"{open"}},
	}
	for _, tt := range tests {
		if got := expandBraces(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("expandBraces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	ws := filepath.Join("testdata", "command")
	tests := []struct {
		name    string
		command string
		env     []string
		want    []string
		wantErr []string
	}{
		{
			name:    "paths, a directory, a missing file, an absolute path inside and one outside",
			command: "sh deps.sh ok", env: []string{"EXTRA=/elsewhere/file.txt"},
			want: []string{"/elsewhere/file.txt", "a.txt", "dir/b.txt", "dir/c.txt", "gone.txt"},
		},
		{
			name:    "output that is not JSON",
			command: "sh deps.sh bad-json",
			wantErr: []string{"must print a JSON list of paths", `"a.txt dir"`},
		},
		{
			name:    "a failing command shows its stderr",
			command: "sh   deps.sh fail",
			wantErr: []string{`"sh   deps.sh fail"`, "exit status 3", "cannot reach the build server"},
		},
		{
			name:    "a command that does not exist",
			command: "no-such-command-for-skiff",
			wantErr: []string{"no-such-command-for-skiff", "executable file not found"},
		},
		{
			name:    "an empty command",
			command: "  ",
			wantErr: []string{"dependencies.command is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Command(context.Background(), ws, tt.command, append(os.Environ(), tt.env...))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Command() = %q, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Command() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}
