package tag

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// fixedClock is 15:04:05.5 on 2 January 2024 in UTC.
func fixedClock() time.Time { return time.Date(2024, 1, 2, 15, 4, 5, 500_000_000, time.UTC) }

func TestDateTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		c       schema.DateTimeTagger
		want    string
		wantErr []string
	}{
		{name: "default format in UTC", c: schema.DateTimeTagger{TimeZone: "UTC"}, want: "2024-01-02_15-04-05.5_UTC"},
		{name: "own format", c: schema.DateTimeTagger{Format: "20060102-150405", TimeZone: "UTC"}, want: "20240102-150405"},
		{name: "time zone", c: schema.DateTimeTagger{Format: "2006-01-02_15h04_MST", TimeZone: "Asia/Tokyo"}, want: "2024-01-03_00h04_JST"},
		{name: "explicit Local", c: schema.DateTimeTagger{Format: "2006", TimeZone: "Local"}, want: "2024"},
		{
			name:    "format with a colon",
			c:       schema.DateTimeTagger{Format: "15:04", TimeZone: "UTC"},
			wantErr: []string{`dateTime (format "15:04", timezone UTC) produced the tag "15:04"`, `':' at byte 2 is not allowed`},
		},
		{
			name:    "zone without an abbreviation",
			c:       schema.DateTimeTagger{TimeZone: "Europe/Istanbul"},
			wantErr: []string{`produced the tag "2024-01-02_18-04-05.5_+03"`, `'+' at byte 22`, "set timezone to UTC"},
		},
		{
			name:    "unknown time zone",
			c:       schema.DateTimeTagger{TimeZone: "Mars/Olympus"},
			wantErr: []string{`build.tagPolicy.dateTime: timezone "Mars/Olympus" is not a time zone Go knows`, "IANA name"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := generate(schema.TagPolicy{DateTimeTagger: &tc.c}, nil, nil, WithClock(fixedClock))
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestEnvTemplate(t *testing.T) {
	t.Parallel()
	env := config.Env{"VERSION": "1.2.3", "BRANCH": "main", "EMPTY": "", "FEATURE": "feature/login"}
	tests := []struct {
		name     string
		template string
		want     string
		wantErr  []string
	}{
		{name: "a variable", template: "{{.VERSION}}", want: "1.2.3"},
		{name: "text and variables", template: "v{{.VERSION}}-{{.BRANCH}}", want: "v1.2.3-main"},
		{name: "IMAGE_NAME", template: "{{.IMAGE_NAME}}-{{.VERSION}}", want: "web-1.2.3"},
		{name: "sprig functions", template: `{{.BRANCH | upper}}`, want: "MAIN"},
		{name: "the advice for invalid tags works", template: `{{.FEATURE | replace "/" "-"}}`, want: "feature-login"},
		{name: "default of an unset variable", template: `{{default "dev" .UNSET}}`, want: "dev"},
		{name: "default of an empty variable", template: `{{default "dev" .EMPTY}}`, want: "dev"},
		{
			name: "unset variable", template: "{{.VERSION}}-{{.UNSET}}",
			wantErr: []string{`envTemplate "{{.VERSION}}-{{.UNSET}}": UNSET is not set`, "skaffold.env", `{{default "dev" .UNSET}}`},
		},
		{
			name: "unset variables", template: "{{.A}}{{.B}}",
			wantErr: []string{"A, B are not set"},
		},
		{
			name: "invalid tag", template: "{{.BRANCH}}/{{.VERSION}}",
			wantErr: []string{`envTemplate "{{.BRANCH}}/{{.VERSION}}" produced the tag "main/1.2.3"`, `'/' at byte 4 is not allowed`, "1 to 128 letters, digits, '_', '.' and '-'", `change the template; Sprig's functions`},
		},
		{
			name: "empty result", template: "{{.EMPTY}}",
			wantErr: []string{`produced the tag ""`, "the tag is empty"},
		},
		{
			name: "syntax error", template: "{{.VERSION",
			wantErr: []string{`build.tagPolicy.envTemplate: template "{{.VERSION"`, "unclosed action"},
		},
		{
			name: "empty template", template: "",
			wantErr: []string{"build.tagPolicy.envTemplate: template is empty"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := generate(schema.TagPolicy{EnvTemplateTagger: &schema.EnvTemplateTagger{Template: tc.template}}, env, nil)
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestCustomTemplate(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("main.go", "package main")
	r.commit("one")
	r.git("tag", "v1")
	short := r.git("rev-parse", "--short", "HEAD")
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"Dockerfile": "FROM scratch\n"})
	deps := fixedDeps("Dockerfile")
	wantDigest := digestOf(t, &schema.Artifact{ImageName: "web", Workspace: ws}, deps, nil)
	date := fixedClock().Local().Format(defaultTimeFormat)
	if CheckTag(date) != nil {
		t.Skipf("the local time zone's abbreviation makes the default dateTime tag %q invalid", date)
	}
	env := config.Env{"RELEASE": "rc1"}
	comp := func(name string, p schema.TagPolicy) schema.TaggerComponent {
		return schema.TaggerComponent{Name: name, Component: p}
	}
	tests := []struct {
		name       string
		c          schema.CustomTemplateTagger
		deps       DepsFunc
		workspace  string
		want       string
		wantErr    []string
		wantNewErr bool
	}{{
		name: "built-in GIT and DATE",
		c:    schema.CustomTemplateTagger{Template: "{{.DATE}}_{{.GIT}}"},
		want: date + "_v1",
	}, {
		name: "built-in SHA",
		c:    schema.CustomTemplateTagger{Template: "{{.SHA}}"},
		want: "latest",
	}, {
		name:      "built-in INPUT_DIGEST",
		c:         schema.CustomTemplateTagger{Template: "{{.INPUT_DIGEST}}"},
		deps:      deps,
		workspace: ws,
		want:      wantDigest,
	}, {
		name: "declared components, as in Skaffold's docs",
		c: schema.CustomTemplateTagger{
			Template: "{{.FOO}}_{{.BAR}}",
			Components: []schema.TaggerComponent{
				comp("FOO", schema.TagPolicy{DateTimeTagger: &schema.DateTimeTagger{Format: "2006-01-02", TimeZone: "UTC"}}),
				comp("BAR", schema.TagPolicy{GitTagger: &schema.GitTagger{Variant: "AbbrevCommitSha"}}),
			},
		},
		want: "2024-01-02_" + short,
	}, {
		name: "a declared component replaces a built-in",
		c: schema.CustomTemplateTagger{
			Template:   "{{.GIT}}",
			Components: []schema.TaggerComponent{comp("GIT", schema.TagPolicy{GitTagger: &schema.GitTagger{Variant: "CommitSha"}})},
		},
		want: r.git("rev-parse", "HEAD"),
	}, {
		name: "a component need not be a valid tag on its own",
		c: schema.CustomTemplateTagger{
			Template: "{{.GIT}}{{.SUFFIX}}",
			Components: []schema.TaggerComponent{
				comp("SUFFIX", schema.TagPolicy{EnvTemplateTagger: &schema.EnvTemplateTagger{Template: "-{{.RELEASE}}"}}),
			},
		},
		want: "v1-rc1",
	}, {
		name: "unused components are not run",
		c: schema.CustomTemplateTagger{
			Template:   "fixed",
			Components: []schema.TaggerComponent{comp("E", schema.TagPolicy{EnvTemplateTagger: &schema.EnvTemplateTagger{Template: "{{.UNSET}}"}})},
		},
		want: "fixed",
	}, {
		name: "template functions",
		c:    schema.CustomTemplateTagger{Template: `{{.GIT | upper}}`},
		want: "V1",
	}, {
		name:    "invalid result",
		c:       schema.CustomTemplateTagger{Template: "{{.GIT}}:{{.SHA}}"},
		wantErr: []string{`customTemplate "{{.GIT}}:{{.SHA}}" produced the tag "v1:latest"`, `':' at byte 2 is not allowed`},
	}, {
		name: "a failing component",
		c: schema.CustomTemplateTagger{
			Template:   "{{.E}}",
			Components: []schema.TaggerComponent{comp("E", schema.TagPolicy{EnvTemplateTagger: &schema.EnvTemplateTagger{Template: "{{.UNSET}}"}})},
		},
		wantErr: []string{"customTemplate component E:", "UNSET is not set"},
	}, {
		name:       "an unknown component",
		c:          schema.CustomTemplateTagger{Template: "{{.GIT}}-{{.NOPE}}", Components: []schema.TaggerComponent{comp("A", schema.TagPolicy{ShaTagger: &schema.ShaTagger{}})}},
		wantErr:    []string{`reads {{.NOPE}}, which is neither a component (declared: A) nor built in (DATE, GIT, INPUT_DIGEST, SHA)`},
		wantNewErr: true,
	}, {
		name: "a nested customTemplate",
		c: schema.CustomTemplateTagger{
			Template:   "{{.IN}}",
			Components: []schema.TaggerComponent{comp("IN", schema.TagPolicy{CustomTemplateTagger: &schema.CustomTemplateTagger{Template: "x"}})},
		},
		wantErr:    []string{"build.tagPolicy.customTemplate.components[0]: a customTemplate component cannot be another customTemplate"},
		wantNewErr: true,
	}, {
		name: "two components of one name",
		c: schema.CustomTemplateTagger{
			Template: "{{.A}}",
			Components: []schema.TaggerComponent{
				comp("A", schema.TagPolicy{ShaTagger: &schema.ShaTagger{}}),
				comp("A", schema.TagPolicy{ShaTagger: &schema.ShaTagger{}}),
			},
		},
		wantErr:    []string{`components[1]: two components are named "A"`},
		wantNewErr: true,
	}, {
		name:       "a component without a tagger",
		c:          schema.CustomTemplateTagger{Template: "{{.A}}", Components: []schema.TaggerComponent{comp("A", schema.TagPolicy{})}},
		wantErr:    []string{"components[0] sets no tagger"},
		wantNewErr: true,
	}, {
		name:       "a component without a name",
		c:          schema.CustomTemplateTagger{Template: "x", Components: []schema.TaggerComponent{comp("", schema.TagPolicy{ShaTagger: &schema.ShaTagger{}})}},
		wantErr:    []string{"components[0] has no name"},
		wantNewErr: true,
	}, {
		name:       "a component with a bad setting",
		c:          schema.CustomTemplateTagger{Template: "{{.D}}", Components: []schema.TaggerComponent{comp("D", schema.TagPolicy{DateTimeTagger: &schema.DateTimeTagger{TimeZone: "Nowhere"}})}},
		wantErr:    []string{`components[0].dateTime: timezone "Nowhere"`},
		wantNewErr: true,
	}, {
		name:       "INPUT_DIGEST without a dependency lister",
		c:          schema.CustomTemplateTagger{Template: "{{.INPUT_DIGEST}}"},
		wantErr:    []string{"built-in component INPUT_DIGEST.inputDigest: no dependency lister"},
		wantNewErr: true,
	}, {
		name:       "syntax error",
		c:          schema.CustomTemplateTagger{Template: "{{.GIT"},
		wantErr:    []string{`build.tagPolicy.customTemplate.template "{{.GIT"`},
		wantNewErr: true,
	}, {
		name:       "empty template",
		c:          schema.CustomTemplateTagger{},
		wantErr:    []string{"build.tagPolicy.customTemplate.template is empty"},
		wantNewErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg, err := New(schema.TagPolicy{CustomTemplateTagger: &tc.c}, env, tc.deps, WithClock(fixedClock), WithEnviron(append(os.Environ(), r.env...)))
			if tc.wantNewErr {
				checkResult(t, "", err, "", tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			workspace := r.dir
			if tc.workspace != "" {
				workspace = tc.workspace
			}
			got, err := tg.GenerateTag(context.Background(), &schema.Artifact{ImageName: "web", Workspace: workspace})
			checkResult(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestTemplateFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want []string
	}{
		{"plain", nil},
		{"{{.A}}-{{.B}}-{{.A}}", []string{"A", "B"}},
		{"{{.A.b}}", []string{"A"}},
		{"{{$.A}}", []string{"A"}},
		{`{{if .A}}{{.B}}{{else}}{{.C}}{{end}}`, []string{"A", "B", "C"}},
		{`{{with .A}}{{.}}{{end}}{{range .B}}{{end}}`, []string{"A", "B"}},
		{`{{default "x" .A | upper}}{{printf "%s" (.B)}}`, []string{"A", "B"}},
		{`{{define "t"}}{{.D}}{{end}}{{template "t" .E}}`, []string{"E", "D"}},
	}
	for _, tc := range tests {
		tmpl, err := config.ParseTemplate(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := templateFields(tmpl); !slices.Equal(got, tc.want) {
			t.Errorf("templateFields(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// generate builds the tagger for p and tags an artifact named "web" whose
// workspace holds nothing.
func generate(p schema.TagPolicy, env config.Env, deps DepsFunc, opts ...Option) (string, error) {
	tg, err := New(p, env, deps, opts...)
	if err != nil {
		return "", err
	}
	return tg.GenerateTag(context.Background(), &schema.Artifact{ImageName: "web", Workspace: "testdata-none"})
}

// checkResult compares a tag and an error with what a test case wants:
// want when wantErr is empty, else an error containing every wantErr.
func checkResult(t *testing.T, got string, err error, want string, wantErr []string) {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("tag = %q, want an error", got)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("tag = %q, want %q", got, want)
	}
}
