package deps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGoPackage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		main    string
		env     []string
		want    []string
		wantErr string
	}{
		{
			name: "default main: its imports in the module, the embed, kodata; not tests, other OSes or unused packages",
			want: []string{"go.mod", "internal/greet/greet.go", "internal/greet/suffix_linux.go",
				"kodata/css/site.css", "kodata/index.html", "main.go", "static/hello.txt"},
		},
		{
			name: "env selects the files build constraints pick",
			main: ".", env: []string{"GOOS=windows"},
			want: []string{"go.mod", "internal/greet/greet.go", "internal/greet/suffix_windows.go",
				"kodata/css/site.css", "kodata/index.html", "main.go", "static/hello.txt"},
		},
		{
			name: "a main package in a subdirectory, written without ./",
			main: "cmd/tool",
			want: []string{"cmd/tool/main.go", "go.mod"},
		},
		{
			name: "an import path",
			main: "example.com/gomod/cmd/tool",
			want: []string{"cmd/tool/main.go", "go.mod"},
		},
		{
			name:    "a main that does not exist",
			main:    "./cmd/nope",
			wantErr: "check the artifact's main",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := GoPackage(context.Background(), filepath.Join("testdata", "gomod"), tt.main, os.Environ(), tt.env, "")
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
				t.Errorf("GoPackage() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}
