package sync

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/config/schema"
)

const ctxDir = "/src/app"

func local(rel string) string { return filepath.Join(ctxDir, filepath.FromSlash(rel)) }

// withBase sets the Base of ops to the context, as Plan does.
func withBase(ops []Op) []Op {
	for i := range ops {
		ops[i].Base = ctxDir
	}
	return ops
}

func manualArtifact(rules ...*schema.SyncRule) *schema.Artifact {
	return &schema.Artifact{ImageName: "web", Workspace: ctxDir, Sync: &schema.Sync{Manual: rules}}
}

func TestPlanManual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		rules            []*schema.SyncRule
		workDir          string
		changed, removed []string
		want             []Op
		covered          bool
	}{
		{
			name:    "glob into dest with strip",
			rules:   []*schema.SyncRule{{Src: "static/**/*.css", Dest: "/app/public", Strip: "static/"}},
			changed: []string{local("static/css/site.css")},
			want:    []Op{{Kind: Write, Local: local("static/css/site.css"), Dest: "/app/public/css/site.css", Root: "/app/public"}},
			covered: true,
		},
		{
			name:    "without strip the path is kept",
			rules:   []*schema.SyncRule{{Src: "static/**", Dest: "/app"}},
			changed: []string{local("static/a/b.html")},
			want:    []Op{{Kind: Write, Local: local("static/a/b.html"), Dest: "/app/static/a/b.html", Root: "/app"}},
			covered: true,
		},
		{
			name:    "trailing slash and dot are directories; relative dest uses the working directory",
			rules:   []*schema.SyncRule{{Src: "*.js", Dest: "."}, {Src: "*.js", Dest: "lib/"}},
			workDir: "/srv",
			changed: []string{local("main.js")},
			want: []Op{
				{Kind: Write, Local: local("main.js"), Dest: "/srv/main.js", Root: "/srv"},
				{Kind: Write, Local: local("main.js"), Dest: "/srv/lib/main.js", Root: "/srv/lib"},
			},
			covered: true,
		},
		{
			// data/** matches data itself, which maps to the rule's
			// destination "/": no Delete of "/", only of the files.
			name:    "a removed directory that maps to its rule destination is not deleted itself",
			rules:   []*schema.SyncRule{{Src: "data/**", Dest: "/", Strip: "data"}},
			removed: []string{local("data"), local("data/keep.txt"), local("data/sub")},
			want: []Op{
				{Kind: Delete, Local: local("data/keep.txt"), Dest: "/keep.txt", Root: "/"},
				{Kind: Delete, Local: local("data/sub"), Dest: "/sub", Root: "/"},
			},
			covered: true,
		},
		{
			name:    "a created directory that maps to / gets no Write",
			rules:   []*schema.SyncRule{{Src: "data/**", Dest: "/", Strip: "data"}},
			changed: []string{local("data"), local("data/a.txt")},
			want:    []Op{{Kind: Write, Local: local("data/a.txt"), Dest: "/a.txt", Root: "/"}},
			covered: true,
		},
		{
			name:    "the same with a directory destination",
			rules:   []*schema.SyncRule{{Src: "static/**", Dest: "/app/public", Strip: "static/"}},
			removed: []string{local("static"), local("static/a.css")},
			want:    []Op{{Kind: Delete, Local: local("static/a.css"), Dest: "/app/public/a.css", Root: "/app/public"}},
			covered: true,
		},
		{
			name:    "relative dest without a working directory is under /",
			rules:   []*schema.SyncRule{{Src: "*.txt", Dest: "data"}},
			changed: []string{local("a.txt")},
			want:    []Op{{Kind: Write, Local: local("a.txt"), Dest: "/data/a.txt", Root: "/data"}},
			covered: true,
		},
		{
			name:    "deletions of covered files are synced, before writes",
			rules:   []*schema.SyncRule{{Src: "**/*.html", Dest: "/www"}},
			changed: []string{local("index.html")},
			removed: []string{local("old/gone.html")},
			want: []Op{
				{Kind: Delete, Local: local("old/gone.html"), Dest: "/www/old/gone.html", Root: "/www"},
				{Kind: Write, Local: local("index.html"), Dest: "/www/index.html", Root: "/www"},
			},
			covered: true,
		},
		{
			name:    "only a deletion",
			rules:   []*schema.SyncRule{{Src: "*.html", Dest: "/www"}},
			removed: []string{local("a.html")},
			want:    []Op{{Kind: Delete, Local: local("a.html"), Dest: "/www/a.html", Root: "/www"}},
			covered: true,
		},
		{
			name:    "one uncovered change rebuilds",
			rules:   []*schema.SyncRule{{Src: "*.html", Dest: "/www"}},
			changed: []string{local("a.html"), local("main.go")},
		},
		{
			name:    "an uncovered deletion rebuilds",
			rules:   []*schema.SyncRule{{Src: "*.html", Dest: "/www"}},
			changed: []string{local("a.html")},
			removed: []string{local("main.go")},
		},
		{
			name:    "a single star does not cross directories",
			rules:   []*schema.SyncRule{{Src: "*.html", Dest: "/www"}},
			changed: []string{local("sub/a.html")},
		},
		{
			name:    "paths outside the context are refused",
			rules:   []*schema.SyncRule{{Src: "**", Dest: "/www"}},
			changed: []string{"/src/other/a.html"},
		},
		{
			name:    "dot-dot tricks in local paths are refused",
			rules:   []*schema.SyncRule{{Src: "**", Dest: "/www"}},
			changed: []string{ctxDir + "/../../etc/passwd"},
		},
		{
			name:    "the context itself is not a file to sync",
			rules:   []*schema.SyncRule{{Src: "**", Dest: "/www"}},
			removed: []string{ctxDir},
		},
		{
			name:    "relative local paths are refused",
			rules:   []*schema.SyncRule{{Src: "**", Dest: "/www"}},
			changed: []string{"a.html"},
		},
		{
			name:  "no changes, nothing to sync",
			rules: []*schema.SyncRule{{Src: "**", Dest: "/www"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRules(manualArtifact(tt.rules...), WithWorkDir(tt.workDir))
			if err != nil {
				t.Fatal(err)
			}
			ops, covered := r.Plan(tt.changed, tt.removed)
			if want := withBase(tt.want); covered != tt.covered || !reflect.DeepEqual(ops, want) {
				t.Errorf("Plan() = %v, %v; want %v, %v", ops, covered, want, tt.covered)
			}
		})
	}
}

const multiStage = `FROM golang:1.26 AS build
WORKDIR /go/src
COPY go.mod main.go ./
RUN go build -o /out/server .

FROM gcr.io/distroless/static AS base
WORKDIR /app
COPY static/ ./static/

FROM base
COPY --from=build /out/server /app/server
COPY templates /app/templates
COPY config.yaml /etc/app/config.yaml
`

func parse(t *testing.T, dockerfile string) *deps.ParsedDockerfile {
	t.Helper()
	df, err := deps.ParseDockerfile(strings.NewReader(dockerfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	return df
}

func TestPlanInfer(t *testing.T) {
	t.Parallel()
	df := parse(t, multiStage)
	tests := []struct {
		name             string
		infer            []string
		changed, removed []string
		want             []Op
		covered          bool
	}{
		{
			name:    "files copied into the final image's stages",
			infer:   []string{"static/**", "templates/**", "*.yaml"},
			changed: []string{local("static/css/a.css"), local("templates/index.tmpl"), local("config.yaml")},
			want: []Op{
				{Kind: Write, Local: local("static/css/a.css"), Dest: "/app/static/css/a.css", Root: "/app/static"},
				{Kind: Write, Local: local("templates/index.tmpl"), Dest: "/app/templates/index.tmpl", Root: "/app/templates"},
				{Kind: Write, Local: local("config.yaml"), Dest: "/etc/app/config.yaml", Root: "/etc/app/config.yaml"},
			},
			covered: true,
		},
		{
			name:    "a file copied only into a build stage rebuilds",
			infer:   []string{"**"},
			changed: []string{local("main.go")},
		},
		{
			name:    "a file the globs do not match rebuilds",
			infer:   []string{"static/**"},
			changed: []string{local("templates/index.tmpl")},
		},
		{
			name:    "a file no COPY reads rebuilds",
			infer:   []string{"**"},
			changed: []string{local("README.md")},
		},
		{
			name:    "deleting a covered file is synced",
			infer:   []string{"static/**"},
			removed: []string{local("static/old.png")},
			want:    []Op{{Kind: Delete, Local: local("static/old.png"), Dest: "/app/static/old.png", Root: "/app/static"}},
			covered: true,
		},
		{
			name:    "deleting an uncovered file rebuilds",
			infer:   []string{"**"},
			changed: []string{local("static/a.css")},
			removed: []string{local("main.go")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			art := &schema.Artifact{ImageName: "web", Workspace: ctxDir, Sync: &schema.Sync{Infer: tt.infer}}
			r, err := NewRules(art, WithDockerfile(df))
			if err != nil {
				t.Fatal(err)
			}
			ops, covered := r.Plan(tt.changed, tt.removed)
			if want := withBase(tt.want); covered != tt.covered || !reflect.DeepEqual(ops, want) {
				t.Errorf("Plan() = %v, %v; want %v, %v", ops, covered, want, tt.covered)
			}
		})
	}
}

func TestPlanManualUsesDockerfileWorkdir(t *testing.T) {
	t.Parallel()
	r, err := NewRules(manualArtifact(&schema.SyncRule{Src: "*.js", Dest: "."}), WithDockerfile(parse(t, multiStage)))
	if err != nil {
		t.Fatal(err)
	}
	ops, covered := r.Plan([]string{local("a.js")}, nil)
	if !covered || len(ops) != 1 || ops[0].Dest != "/app/a.js" {
		t.Errorf("Plan() = %v, %v; want a write to /app/a.js", ops, covered)
	}
}

func TestPlanNotCovered(t *testing.T) {
	t.Parallel()
	yes := true
	auto, err := NewRules(&schema.Artifact{Workspace: ctxDir, Sync: &schema.Sync{Auto: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	none, err := NewRules(&schema.Artifact{Workspace: ctxDir})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Rules{"auto": auto, "no sync section": none} {
		if ops, covered := r.Plan([]string{local("a.js")}, []string{local("b.js")}); covered || ops != nil {
			t.Errorf("%s: Plan() = %v, %v; want a rebuild", name, ops, covered)
		}
	}
}

func TestNewRulesErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		art  *schema.Artifact
		opts []Option
		want string
	}{
		"bad glob": {
			art:  manualArtifact(&schema.SyncRule{Src: "[a", Dest: "/x"}),
			want: `sync.manual[0].src "[a" is not a valid glob`,
		},
		"infer without Dockerfile": {
			art:  &schema.Artifact{ImageName: "web", Workspace: ctxDir, Sync: &schema.Sync{Infer: []string{"**"}}},
			want: "sync.infer needs a Dockerfile",
		},
		"relative working directory": {
			art:  manualArtifact(),
			opts: []Option{WithWorkDir("app")},
			want: "not absolute",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := NewRules(tt.art, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRules() error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestAutoRules: sync.auto with the rules the image declares plans as
// manual rules do, deletions included; a bad glob among them is an error
// that says they are the image's.
func TestAutoRules(t *testing.T) {
	t.Parallel()
	yes := true
	art := &schema.Artifact{ImageName: "app", Workspace: ctxDir, Sync: &schema.Sync{Auto: &yes}}
	r, err := NewRules(art, WithAutoRules([]schema.SyncRule{{Src: "**/*.go", Dest: "/workspace"}}))
	if err != nil {
		t.Fatal(err)
	}
	ops, covered := r.Plan([]string{local("main.go")}, []string{local("cmd/old.go")})
	if !covered || len(ops) != 2 || ops[0].Kind != Delete || ops[0].Dest != "/workspace/cmd/old.go" || ops[1].Kind != Write || ops[1].Dest != "/workspace/main.go" {
		t.Errorf("Plan() = %+v, %v; want the deletion of /workspace/cmd/old.go and a write to /workspace/main.go", ops, covered)
	}
	if _, covered := r.Plan([]string{local("go.mod")}, nil); covered {
		t.Errorf("go.mod is covered by **/*.go")
	}
	if _, err := NewRules(art, WithAutoRules([]schema.SyncRule{{Src: "[a", Dest: "/workspace"}})); err == nil || !strings.Contains(err.Error(), `the image's sync rule 0: src "[a" is not a valid glob`) {
		t.Errorf("err = %v", err)
	}
	if !Syncs(art) {
		t.Errorf("Syncs(auto) = false: the image's rules would find no agent")
	}
}

// TestRoots lists each manual destination once, relative ones resolved
// against the working directory; nil rules have none.
func TestRoots(t *testing.T) {
	t.Parallel()
	r, err := NewRules(manualArtifact(
		&schema.SyncRule{Src: "static/**", Dest: "/srv/www/", Strip: "static/"},
		&schema.SyncRule{Src: "*.html", Dest: "/srv/www"},
		&schema.SyncRule{Src: "conf/*", Dest: "conf"},
	), WithWorkDir("/app"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Roots(), []string{"/app/conf", "/srv/www"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Roots() = %v, want %v", got, want)
	}
	if got := (*Rules)(nil).Roots(); got != nil {
		t.Errorf("nil rules: Roots() = %v", got)
	}
}

// InferRoots are the roots Plan gives infer rules' operations, known
// before any file changes.
func TestInferRoots(t *testing.T) {
	t.Parallel()
	df := parse(t, multiStage)
	r, err := NewRules(&schema.Artifact{ImageName: "web", Workspace: ctxDir, Sync: &schema.Sync{Infer: []string{"**"}}}, WithDockerfile(df))
	if err != nil {
		t.Fatal(err)
	}
	// Not the build stage's /go/src, nor /app/server, copied from it.
	want := []string{"/app/static", "/app/templates", "/etc/app/config.yaml"}
	if got := r.InferRoots(); !reflect.DeepEqual(got, want) {
		t.Errorf("InferRoots() = %v, want %v", got, want)
	}
	ops, _ := r.Plan([]string{local("static/a.css"), local("templates/i.tmpl"), local("config.yaml")}, nil)
	for _, op := range ops {
		if !slices.Contains(want, op.Root) {
			t.Errorf("Plan put %s under root %s, not among InferRoots %v", op.Dest, op.Root, want)
		}
	}
	// Nothing of the context goes where a URL or a heredoc does.
	df = parse(t, "FROM scratch\nADD https://example.com/x.tgz /opt/x.tgz\nCOPY <<EOF /etc/motd\nhi\nEOF\nCOPY www /srv\n")
	r, err = NewRules(&schema.Artifact{ImageName: "web", Workspace: ctxDir, Sync: &schema.Sync{Infer: []string{"**"}}}, WithDockerfile(df))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.InferRoots(), []string{"/srv"}; !reflect.DeepEqual(got, want) {
		t.Errorf("InferRoots() = %v, want %v", got, want)
	}
	manual, err := NewRules(manualArtifact(&schema.SyncRule{Src: "*.html", Dest: "/srv"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := manual.InferRoots(); got != nil {
		t.Errorf("InferRoots() of manual rules = %v, want none", got)
	}
}
