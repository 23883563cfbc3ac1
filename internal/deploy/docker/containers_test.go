package docker

import (
	"context"
	"slices"
	"testing"

	"skiff.dev/skiff/internal/kube"
)

func TestContainers(t *testing.T) {
	t.Parallel()
	f := newFake()
	web := map[string]string{kube.ProjectLabel: "shop", imageLabel: "web"}
	f.add("web-2", true, web)                                                                       // c1
	f.add("web-old", false, web)                                                                    // c2
	f.add("web", true, web)                                                                         // c3
	f.add("api", true, map[string]string{kube.ProjectLabel: "shop", imageLabel: "api"})             // c4
	f.add("their-web", true, map[string]string{kube.ProjectLabel: "another", imageLabel: "web"})    // c5
	f.add("unlabelled", true, map[string]string{kube.ProjectLabel: "shop"})                         // c6
	f.add("web-gone", true, web).removed = true                                                     // c7
	f.add("gcr", true, map[string]string{kube.ProjectLabel: "shop", imageLabel: "gcr.io/acme/web"}) // c8
	d, _ := testDeployer(f, nil)

	for _, tc := range []struct {
		image string
		want  []Running
	}{
		{image: "web", want: []Running{{ID: "c3", Name: "web"}, {ID: "c1", Name: "web-2"}}},
		{image: "api", want: []Running{{ID: "c4", Name: "api"}}},
		{image: "gcr.io/acme/web", want: []Running{{ID: "c8", Name: "gcr"}}},
		{image: "db", want: nil},
	} {
		got, err := d.Containers(context.Background(), tc.image)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Containers(%q) = %+v, want %+v", tc.image, got, tc.want)
		}
	}
}

func TestContainersNeedsAProject(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.add("web", true, map[string]string{kube.ProjectLabel: "", imageLabel: "web"})
	d := New(f, Options{})
	if got, err := d.Containers(context.Background(), "web"); err == nil {
		t.Errorf("Containers without a project = %+v, want an error", got)
	}
}
