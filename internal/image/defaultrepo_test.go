package image

import (
	"strings"
	"testing"
)

func TestDefaultRepoApply(t *testing.T) {
	t.Parallel()
	const digest = "sha256:0f6e5b8c1c2a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6"
	long := "gcr.io/" + strings.Repeat("very-long-path-segment/", 10) + "application" // 248 characters
	tests := []struct {
		name    string
		repo    string
		image   string
		want    string
		wantErr bool
	}{
		{name: "no default repo", repo: "", image: "gcr.io/some/app", want: "gcr.io/some/app"},
		{name: "no default repo keeps ko prefix", repo: "", image: "ko://example.com/cmd/app", want: "ko://example.com/cmd/app"},
		{name: "GCR concatenation", repo: "gcr.io/my-project", image: "gcr.io/other/app", want: "gcr.io/my-project/gcr.io/other/app"},
		{name: "already under the repo", repo: "gcr.io/my-project", image: "gcr.io/my-project/app", want: "gcr.io/my-project/app"},
		{name: "already under a regional GCR repo", repo: "eu.gcr.io/my-project", image: "eu.gcr.io/my-project/app", want: "eu.gcr.io/my-project/app"},
		{name: "same GCP project, deeper repo", repo: "gcr.io/my-project/team", image: "gcr.io/my-project/svc/app", want: "gcr.io/my-project/team/svc/app"},
		{name: "prefix only on a path boundary", repo: "gcr.io/my-project", image: "gcr.io/my-project-two/app", want: "gcr.io/my-project/gcr.io/my-project-two/app"},
		{name: "Artifact Registry concatenation", repo: "us-central1-docker.pkg.dev/my-project/images", image: "github.com/org/app", want: "us-central1-docker.pkg.dev/my-project/images/github.com/org/app"},
		{name: "Artifact Registry in another region", repo: "europe-west1-docker.pkg.dev/my-project/images", image: "org/app", want: "europe-west1-docker.pkg.dev/my-project/images/org/app"},
		{name: "GCR without a valid project ID escapes", repo: "gcr.io/abc", image: "org/app", want: "gcr.io/abc/org_app"},
		{name: "ECR escapes", repo: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", image: "gcr.io/other/app", want: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gcr_io_other_app"},
		{name: "Docker Hub user", repo: "docker.io/someone", image: "app", want: "docker.io/someone/app"},
		{name: "Docker Hub user escapes paths", repo: "someone", image: "team/app", want: "someone/team_app"},
		{name: "Docker Hub name already under the user", repo: "someone", image: "someone/app", want: "someone/app"},
		{name: "local registry", repo: "localhost:5000", image: "app", want: "localhost:5000/app"},
		{name: "local registry escapes", repo: "localhost:5000", image: "gcr.io/k8s-skaffold/skaffold-example", want: "localhost:5000/gcr_io_k8s-skaffold_skaffold-example"},
		{name: "local registry escapes a port", repo: "127.0.0.1:5000", image: "localhost:5001/app", want: "127.0.0.1:5000/localhost_5001_app"},
		{name: "trailing slash on the repo", repo: "localhost:5000/", image: "app:v1", want: "localhost:5000/app:v1"},
		{name: "ko with GCR", repo: "gcr.io/my-project", image: "ko://example.com/cmd/app", want: "gcr.io/my-project/example.com/cmd/app"},
		{name: "ko elsewhere escapes", repo: "localhost:5000", image: "ko://example.com/cmd/app", want: "localhost:5000/example_com_cmd_app"},
		{name: "name lower-cased, tag kept", repo: "localhost:5000", image: "ko://github.com/Org/App:Dev-1", want: "localhost:5000/github_com_org_app:Dev-1"},
		{name: "keeps tag", repo: "gcr.io/my-project", image: "app:v1", want: "gcr.io/my-project/app:v1"},
		{name: "keeps digest", repo: "gcr.io/my-project", image: "app@" + digest, want: "gcr.io/my-project/app@" + digest},
		{name: "keeps tag and digest", repo: "gcr.io/my-project", image: "app:v1@" + digest, want: "gcr.io/my-project/app:v1@" + digest},
		{name: "cut to 255 characters", repo: "localhost:5000", image: long + ":v1", want: cut255("localhost:5000/"+strings.NewReplacer("/", "_", ".", "_").Replace(long)) + ":v1"},
		{name: "invalid image", repo: "gcr.io/my-project", image: "!!invalid!!", wantErr: true},
		{name: "invalid default repo", repo: "Not A Repo", image: "app", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DefaultRepo{Repo: tt.repo}.Apply(tt.image)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Apply(%q, %q) = %q, want an error", tt.repo, tt.image, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Apply(%q, %q)\n got %s\nwant %s", tt.repo, tt.image, got, tt.want)
			}
		})
	}
}

// cut255 cuts a name as Apply does, without a trailing separator.
func cut255(s string) string {
	return strings.TrimRight(s[:255], "._-/")
}
