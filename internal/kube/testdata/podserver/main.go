// Command podserver is the application the kube package's end-to-end tests
// deploy: an HTTP server that names the pod it runs in, writes log lines
// on request and exits on request, so that its container restarts.
//
//	GET /               "pod NAME"
//	GET /healthz        "ok"
//	GET /log?tag=T&n=N  writes N lines "T i" to stdout
//	GET /exit           writes "exiting", answers, then exits with status 1
//
// With the argument "init" it writes "init done" and exits, as an init
// container. Like many apps, it does not handle SIGTERM: it dies at once,
// in the middle of requests.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	pod := os.Getenv("POD_NAME")
	if len(os.Args) > 1 && os.Args[1] == "init" {
		fmt.Println("init done")
		return
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "pod %s\n", pod)
	})
	http.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		tag := r.URL.Query().Get("tag")
		for i := range n {
			fmt.Printf("%s %d\n", tag, i)
		}
		fmt.Fprintln(w, "logged")
	})
	http.HandleFunc("/exit", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Println("exiting")
		fmt.Fprintln(w, "bye")
		w.(http.Flusher).Flush()
		go func() {
			time.Sleep(100 * time.Millisecond)
			os.Exit(1)
		}()
	})
	fmt.Printf("start %s\n", pod)
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
