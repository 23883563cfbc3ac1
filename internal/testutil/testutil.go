// Package testutil holds what the tests of several packages need alike: a
// buffer a goroutine writes while the test reads it, a free loopback port,
// polling until a condition holds, and a namespace of its own on the test
// cluster. Only tests import it.
package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Buffer is a bytes.Buffer safe for concurrent use: a command or a
// goroutine writes it while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Take returns what was written since the last Take and empties the
// buffer.
func (b *Buffer) Take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// FreePort returns a loopback port nothing listened on a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitFor polls check every 200 ms until it is done, failing the test
// when timeout passes first with what check last said.
func WaitFor(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) (done bool, status string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	status := "no answer yet"
	for {
		done, s := check(ctx)
		if done {
			return
		}
		if s != "" {
			status = s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: not done within %s: %s", what, timeout, status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Namespace creates a namespace named prefix and a random suffix, labelled
// skiff.dev/e2e, waits until its default ServiceAccount exists (pods need
// it), and deletes it when the test ends.
func Namespace(t testing.TB, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := prefix + hex.EncodeToString(suffix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"skiff.dev/e2e": "true"}}}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	WaitFor(t, time.Minute, "the default ServiceAccount in "+name, func(ctx context.Context) (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return name
}
