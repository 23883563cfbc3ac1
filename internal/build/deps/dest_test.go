package deps

import (
	"reflect"
	"testing"
)

func TestDestinations(t *testing.T) {
	t.Parallel()
	globs, err := parseFile(t, "globs/Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	model, err := parseFile(t, "parse/model.Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	args, err := parseFile(t, "args/Dockerfile", map[string]*string{"VARIANT": ptr("prod")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		df   *ParsedDockerfile
		rel  string
		want []string
	}{
		{"glob of files into a directory", globs, "a.txt", []string{"/txt/a.txt"}},
		{"a file the glob does not match", globs, "c.md", nil},
		{"a directory source copies its contents", globs, "src/sub/util.go", []string{"/src/sub/util.go"}},
		{"a glob matching directories copies their contents", globs, "web/about/index.html", []string{"/web/index.html"}},
		{"a file in a glob-matched directory the glob does not name", globs, "web/about/other.html", nil},
		{"--exclude below the source", globs, "assets/cache.tmp", nil},
		{"--exclude does not match deeper files with *", globs, "assets/img/x.tmp", []string{"/assets/img/x.tmp"}},
		{"--parents keeps the path", globs, "pkgs/b/package.json", []string{"/app/pkgs/b/package.json"}},
		{"--parents pattern not matched", globs, "pkgs/a/index.js", nil},
		{"WORKDIR-relative destination, file renamed by a non-directory destination", model, "cmd/server/main.go", nil},
		{"only the target's base chain counts, COPY --from stages do not", model, "go.mod", nil},
		{"--parents with a pivot", model, "pkgs/x/y/conf.json", []string{"/cfg/x/y/conf.json"}},
		{"ADD of a local file into the WORKDIR", model, "local.tgz", []string{"/app/static/local.tgz"}},
		{"ENV and build args in the source", args, "conf/prod/a.yaml", []string{"/etc/app/a.yaml"}},
		{"directory with ARG into a relative destination", args, "apps/hello/main.sh", []string{"/srv/app/main.sh"}},
		{"JSON form with a space", args, "files/with space.txt", []string{"/srv/data/with space.txt"}},
		{"a path outside the context is cleaned into it", args, "../files/with space.txt", []string{"/srv/data/with space.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.df.Destinations(tt.rel); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Destinations(%q) = %q, want %q", tt.rel, got, tt.want)
			}
		})
	}
}

func TestDestForFollowsBaseStages(t *testing.T) {
	t.Parallel()
	df, err := parseFile(t, "parse/model.Dockerfile", nil, WithTarget("child"))
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string][]string{
		"go.mod":             {"/go/src/app/go.mod"},
		"cmd/server":         {"/go/src/app/cmd/server"},
		"cmd/server/main.go": {"/go/src/app/cmd/server/main.go"},
		"onbuild.txt":        {"/go/src/app/onbuild.txt"},
		"child.txt":          {"/go/src/app/child.txt"},
	} {
		if got := df.Destinations(rel); !reflect.DeepEqual(got, want) {
			t.Errorf("Destinations(%q) = %q, want %q", rel, got, want)
		}
	}
}
