package tag

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		p       schema.TagPolicy
		want    string
		wantErr string
	}{
		{name: "sha256 tags latest", p: schema.TagPolicy{ShaTagger: &schema.ShaTagger{}}, want: "latest"},
		{
			name:    "two taggers",
			p:       schema.TagPolicy{ShaTagger: &schema.ShaTagger{}, DateTimeTagger: &schema.DateTimeTagger{}},
			wantErr: "build.tagPolicy sets dateTime and sha256: a tag policy has exactly one tagger; keep one",
		},
		{
			name:    "two taggers beside a customTemplate",
			p:       schema.TagPolicy{ShaTagger: &schema.ShaTagger{}, CustomTemplateTagger: &schema.CustomTemplateTagger{Template: "x"}},
			wantErr: "build.tagPolicy sets customTemplate and sha256",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := generate(tc.p, nil, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("tag = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNewDefaultsToGitCommit(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("main.go", "package main")
	r.commit("one")
	r.git("tag", "v9")
	tg, err := New(schema.TagPolicy{}, nil, nil, WithEnviron(append(os.Environ(), r.env...)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tg.GenerateTag(context.Background(), &schema.Artifact{ImageName: "app", Workspace: r.dir}); err != nil || got != "v9" {
		t.Errorf("tag = %q, %v; want v9", got, err)
	}
}

func TestCheckTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag     string
		wantErr string
	}{
		{tag: "v1.2.3"},
		{tag: "_x"},
		{tag: "A-b_c.9"},
		{tag: strings.Repeat("a", 128)},
		{tag: "", wantErr: "the tag is empty"},
		{tag: strings.Repeat("a", 129), wantErr: "the tag is 129 characters long"},
		{tag: ".x", wantErr: "the tag starts with '.'"},
		{tag: "-x", wantErr: "the tag starts with '-'"},
		{tag: "a:b", wantErr: "':' at byte 1 is not allowed"},
		{tag: "aé", wantErr: "'é' at byte 1 is not allowed"},
	}
	for _, tc := range tests {
		err := CheckTag(tc.tag)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("CheckTag(%q) = %v", tc.tag, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("CheckTag(%q) = %v, want %q", tc.tag, err, tc.wantErr)
		}
	}
}

// failing is a Tagger that always fails with err.
type failing struct{ err error }

func (f failing) GenerateTag(context.Context, *schema.Artifact) (string, error) { return "", f.err }

func TestFallback(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	var reported []string
	tg := Fallback(failing{boom}, func(a *schema.Artifact, err error) {
		reported = append(reported, a.ImageName+": "+err.Error())
	})
	got, err := tg.GenerateTag(context.Background(), &schema.Artifact{ImageName: "app"})
	if err != nil || got != "latest" {
		t.Errorf("tag = %q, %v; want latest", got, err)
	}
	if len(reported) != 1 || reported[0] != "app: boom" {
		t.Errorf("reported %q", reported)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fallback(failing{context.Canceled}, nil).GenerateTag(ctx, &schema.Artifact{ImageName: "app"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v, want context.Canceled", err)
	}

	ok, _ := New(schema.TagPolicy{ShaTagger: &schema.ShaTagger{}}, nil, nil)
	if got, err := Fallback(ok, nil).GenerateTag(context.Background(), &schema.Artifact{}); err != nil || got != "latest" {
		t.Errorf("tag = %q, %v", got, err)
	}
}

func TestPerImage(t *testing.T) {
	t.Parallel()
	sha, _ := New(schema.TagPolicy{ShaTagger: &schema.ShaTagger{}}, nil, nil)
	m := PerImage{"a": sha, "b": failing{errors.New("b fails")}}
	if got, err := m.GenerateTag(context.Background(), &schema.Artifact{ImageName: "a"}); err != nil || got != "latest" {
		t.Errorf("a: tag = %q, %v", got, err)
	}
	if _, err := m.GenerateTag(context.Background(), &schema.Artifact{ImageName: "b"}); err == nil || err.Error() != "b fails" {
		t.Errorf("b: error = %v", err)
	}
	if _, err := m.GenerateTag(context.Background(), &schema.Artifact{ImageName: "c"}); err == nil || !strings.Contains(err.Error(), `no tag policy is registered for image "c"`) {
		t.Errorf("c: error = %v", err)
	}
}
