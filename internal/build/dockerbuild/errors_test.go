package dockerbuild

import (
	"strings"
	"testing"
)

func TestHint(t *testing.T) {
	t.Parallel()
	bc := &buildContext{dir: "/src", dockerfile: "/src/Dockerfile", ignoreFile: "/src/.dockerignore"}
	for _, tt := range []struct {
		err  StepError
		want string
	}{
		{StepError{Step: "Step 2/3 : RUN make", Line: 2, Message: "The command '/bin/sh -c make' returned a non-zero code: 2"}, "Fix the command of the RUN at /src/Dockerfile:2"},
		{StepError{Step: "Step 1/3 : FROM nothere:1", Line: 1, Message: "pull access denied for nothere"}, "build or load it first, or fix the FROM at /src/Dockerfile:1"},
		{StepError{Step: "[2/2] COPY x /", Line: 2, Message: "failed to compute cache key: \"/x\" not found"}, "exists in the build context /src and is not excluded by /src/.dockerignore"},
		{StepError{Message: "failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: failed to do request"}, "# syntax= line"},
		{StepError{Step: "Step 2/2 : RUN --mount=type=cache,target=/c true", Line: 2, Message: "the --mount option requires BuildKit"}, "useBuildkit: true"},
		{StepError{Message: "something else"}, "full output is above"},
	} {
		if got := hint(&tt.err, bc); !strings.Contains(got, tt.want) {
			t.Errorf("hint for %q = %q, want it to contain %q", tt.err.Message, got, tt.want)
		}
	}
}

func TestLocateSteps(t *testing.T) {
	t.Parallel()
	df := []byte(`ARG BASE=alpine
FROM $BASE AS build
WORKDIR /src
ENV A=1
COPY . .
RUN make

FROM build AS test
RUN make test

FROM scratch
COPY --from=build /out /out
COPY --from=build /out /out2
`)
	classic := map[string]int{
		"Step 1/10 : ARG BASE=alpine":              1,
		"Step 6/10 : RUN make":                     6,
		"Step 8/10 : RUN make test":                9,
		"Step 10/11 : COPY --from=build /out /out": 12,
		"Step 6/10 : COPY nonsense":                0,
		"Step 42/10 : RUN x":                       0,
	}
	for step, want := range classic {
		if got := locateClassicStep(df, step); got != want {
			t.Errorf("locateClassicStep(%q) = %d, want %d", step, got, want)
		}
	}
	buildKit := map[string]int{
		"[build 1/4] FROM docker.io/library/alpine":  2,
		"[build 2/4] WORKDIR /src":                   3,
		"[build 4/4] RUN make":                       6,
		"[test 1/1] RUN make test":                   9,
		"[stage-2 1/2] COPY --from=build /out /out":  12,
		"[stage-2 2/2] COPY --from=build /out /out2": 13,
		"[nostage 1/1] RUN x":                        0,
		"not a step":                                 0,
	}
	for step, want := range buildKit {
		if got := locateBuildKitStep(df, step); got != want {
			t.Errorf("locateBuildKitStep(%q) = %d, want %d", step, got, want)
		}
	}
}
