package status

import "testing"

func TestErrorRendering(t *testing.T) {
	t.Parallel()
	crash := &Error{
		Resource:  "deployment/web",
		Pod:       "web-5d9f7-x2kq",
		Container: "app",
		Reason:    ReasonCrashLoopBackOff,
		Message:   "container app keeps exiting: exit code 1 (Error), restarted twice",
		Hint:      "fix it",
		LogLines:  []string{"starting", `unknown command "explode"`},
	}
	for _, tc := range []struct {
		name string
		err  *Error
		want string
	}{
		{
			name: "crash loop",
			err:  crash,
			want: `deployment/web failed (CrashLoopBackOff): pod web-5d9f7-x2kq: container app keeps exiting: exit code 1 (Error), restarted twice
  last log lines of container app:
    > starting
    > unknown command "explode"
  hint: fix it`,
		},
		{
			name: "workload failure",
			err:  &Error{Resource: "deployment/web", Reason: ReasonFailedCreate, Message: "the controller cannot create pods: forbidden", Hint: "check quotas"},
			want: `deployment/web failed (FailedCreate): the controller cannot create pods: forbidden
  hint: check quotas`,
		},
		{
			name: "deadline",
			err: &Error{
				Reason:  ReasonDeadlineExceeded,
				Message: "2 of 3 resources were not ready within 10m0s",
				Hint:    "wait longer",
				Unready: []*Error{
					{Resource: "statefulset/db", Message: "waiting for 1 pods to be ready...\n    - pod/db-0: Readiness probe failed: 503"},
					crash,
				},
			},
			want: `2 of 3 resources were not ready within 10m0s:
 - statefulset/db: waiting for 1 pods to be ready...
       - pod/db-0: Readiness probe failed: 503
 - deployment/web failed (CrashLoopBackOff): pod web-5d9f7-x2kq: container app keeps exiting: exit code 1 (Error), restarted twice
     last log lines of container app:
       > starting
       > unknown command "explode"
     hint: fix it
hint: wait longer`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
