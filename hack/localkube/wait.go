package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// pollInterval is how often the waits look again.
const pollInterval = 200 * time.Millisecond

// runWaitHTTP waits until a health endpoint answers 200 OK. With -pid it
// gives up as soon as that process is gone, so a component that crashed
// at start is reported at once instead of at the deadline.
func runWaitHTTP(args []string) error {
	fs := flag.NewFlagSet("wait-http", flag.ContinueOnError)
	url := fs.String("url", "", "health endpoint, e.g. http://127.0.0.1:2379/health")
	caFile := fs.String("cacert", "", "CA bundle that signed an https endpoint's certificate")
	unixSocket := fs.String("unix", "", "unix socket to send the request to, e.g. /var/run/docker.sock")
	pid := fs.Int("pid", 0, "process serving the endpoint; give up when it exits")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("need -url")
	}
	transport := &http.Transport{}
	client := &http.Client{Timeout: 2 * time.Second, Transport: transport}
	if *unixSocket != "" {
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", *unixSocket)
		}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", *caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var last string
	for {
		if *pid > 0 && !processAlive(*pid) {
			return fmt.Errorf("process %d exited before %s answered (last answer: %s)", *pid, *url, orNone(last))
		}
		last = probe(ctx, client, *url)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200 OK within %s (last answer: %s)", *url, *timeout, last)
		case <-time.After(pollInterval):
		}
	}
}

// probe returns "" when url answers 200 OK, and otherwise what it answered.
func probe(ctx context.Context, client *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	return fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// runWaitReady waits until the node is Ready and the default ServiceAccount
// exists in the default namespace: from then on pods can be created there.
func runWaitReady(args []string) error {
	fs := flag.NewFlagSet("wait-ready", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	node := fs.String("node", "", "name of the node to wait for")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || *node == "" {
		return fmt.Errorf("need -kubeconfig and -node")
	}
	client, err := newClient(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var last string
	for {
		last = readiness(ctx, client, *node)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster was not ready within %s: %s", *timeout, last)
		case <-time.After(pollInterval):
		}
	}
}

// readiness returns "" when the cluster is ready, and otherwise what it
// still waits for.
func readiness(ctx context.Context, client kubernetes.Interface, nodeName string) string {
	node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("node %s: %v", nodeName, err)
	}
	ready := "no Ready condition yet"
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				ready = ""
			} else {
				ready = fmt.Sprintf("Ready=%s (%s: %s)", c.Status, c.Reason, c.Message)
			}
		}
	}
	if ready != "" {
		return fmt.Sprintf("node %s: %s", nodeName, ready)
	}
	if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return "the default ServiceAccount does not exist yet in namespace default"
		}
		return fmt.Sprintf("default ServiceAccount: %v", err)
	}
	return ""
}

func newClient(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}
