// Command hello is the application the end-to-end tests deploy: an HTTP
// server that answers with the version it was built with. The images are
// FROM scratch and have no shell, so the same binary is also the tool the
// tests exec in the pod: `hello cat` copies its stdin to its stdout.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "cat":
			if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
				log.Fatalf("cat: %v", err)
			}
			return
		default:
			log.Fatalf("unknown command %q; the only command is cat", os.Args[1])
		}
	}
	addr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		addr = ":" + port
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", version)
	})
	log.Printf("hello %s serving on %s", version, addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
