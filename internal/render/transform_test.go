package render

import (
	"bytes"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/log"
)

const transformInput = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: zones.geo.example.com
spec:
  group: geo.example.com
  scope: Cluster
  names: {kind: Zone, plural: zones}
---
apiVersion: geo.example.com/v1
kind: Zone
metadata: {name: eu}
---
apiVersion: geo.example.com/v1
kind: Region
metadata: {name: west}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: same, namespace: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: other}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: null
spec:
  containers:
  - {name: c, image: "app:old"}
`

func TestTransform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		want    string // name=namespace of each object, in order
		warning string
	}{
		{
			name:    "-n sets namespaced objects that name none",
			opts:    Options{Namespace: "team"},
			want:    "zones.geo.example.com= eu= west=team team= fast= same=team elsewhere=other p=team",
			warning: `WARN: configmap/elsewhere (in.yaml:30) names namespace "other", not "team" as -n asks; it stays in other` + "\n",
		},
		{
			name: "offline -n leaves namespaces alone, as skaffold render --offline",
			opts: Options{Namespace: "team", Offline: true},
			want: "zones.geo.example.com= eu= west= team= fast= same=team elsewhere=other p=",
		},
		{
			name: "no -n",
			want: "zones.geo.example.com= eu= west= team= fast= same=team elsewhere=other p=",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms, err := Parse("in.yaml", []byte(transformInput))
			if err != nil {
				t.Fatal(err)
			}
			var warnings bytes.Buffer
			tc.opts.Log = log.New(&warnings, log.LevelWarn)
			tc.opts.Images = []artifact.Image{{Name: "app", Ref: "reg/app:v1"}}
			tc.opts.Labels = map[string]string{"run": "1"}
			tc.opts.PodLabels = map[string]string{"project": "p"}
			if err := Transform(ms, nil, tc.opts); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Object.GetName()+"="+m.Object.GetNamespace())
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("namespaces:\n got %s\nwant %s", strings.Join(got, " "), tc.want)
			}
			if warnings.String() != tc.warning {
				t.Errorf("warnings %q, want %q", warnings.String(), tc.warning)
			}
			pod := ms[len(ms)-1]
			if l := pod.Object.GetLabels(); l["run"] != "1" || l["project"] != "p" {
				t.Errorf("pod labels = %v, want run and project", l)
			}
			if img := pod.Object.Object["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]; img != "reg/app:v1" {
				t.Errorf("pod image = %v, want reg/app:v1", img)
			}
			if l := ms[1].Object.GetLabels(); len(l) != 1 || l["run"] != "1" {
				t.Errorf("zone labels = %v, want only run", l)
			}
		})
	}
}
