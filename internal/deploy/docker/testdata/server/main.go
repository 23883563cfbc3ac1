// Command server is the program the docker deployer's end-to-end tests
// run in FROM scratch images: an HTTP server on :8080 that answers
// "hello from $GREETING", and a health check and a crash for the
// HEALTHCHECK and exit tests.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	crash := flag.Bool("crash", false, "print a little and exit with code 3")
	health := flag.Bool("health", false, "exit 0 when the server on :8080 answers")
	flag.Parse()

	switch {
	case *crash:
		fmt.Println("starting up")
		fmt.Fprintln(os.Stderr, "boom: no config file at /etc/app.conf")
		os.Exit(3)
	case *health:
		resp, err := http.Get("http://127.0.0.1:8080/healthz")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		resp.Body.Close()
		os.Exit(0)
	}

	greeting := os.Getenv("GREETING")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			fmt.Printf("GET %s\n", r.URL.Path)
		}
		fmt.Fprintf(w, "hello from %s\n", greeting)
	})
	fmt.Printf("listening on :8080 (%s)\n", greeting)
	fmt.Fprintln(os.Stderr, "this line goes to stderr")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
